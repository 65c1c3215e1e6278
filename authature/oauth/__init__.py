"""Protocol rules (OAuth 2.0, PKCE, OpenID Connect). Imports neither the web framework nor SQL."""

from authature.oauth.errors import OAuthError
from authature.oauth.server import OAuthServer, TokenAnswer

__all__ = ["OAuthError", "OAuthServer", "TokenAnswer"]
