"""Server metadata: RFC 8414 (OAuth 2.0) and OpenID Connect Discovery 1.0.

RFC 8414 3.3: `issuer` MUST be identical to the issuer the metadata was fetched for, and (RFC
9207 2) to the `iss` parameter of our authorization responses, so both come from one setting.
"""

from __future__ import annotations

from typing import Any

from authature.oauth.scopes import SUPPORTED_SCOPES

__all__ = ["ENDPOINTS", "authorization_server_metadata", "openid_configuration"]

ENDPOINTS = {
    "authorization_endpoint": "/oauth/authorize",
    "token_endpoint": "/oauth/token",
    "revocation_endpoint": "/oauth/revoke",
    "introspection_endpoint": "/oauth/introspect",
    "userinfo_endpoint": "/oauth/userinfo",
    "jwks_uri": "/.well-known/jwks.json",
}

_CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


def authorization_server_metadata(
    issuer: str, *, signing_alg: str, iss_parameter: bool = True
) -> dict[str, Any]:
    """RFC 8414 2: every endpoint we serve and what each accepts.

    `iss_parameter` is false only when no issuer is configured: authorization responses then carry
    no `iss` (RFC 9207 3 says to advertise it only when it is always sent).
    """
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        **{name: base + path for name, path in ENDPOINTS.items()},
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        # "none": public clients (no secret) identify themselves by client_id and must use PKCE.
        "token_endpoint_auth_methods_supported": [*_CLIENT_AUTH, "none"],
        "revocation_endpoint_auth_methods_supported": [*_CLIENT_AUTH, "none"],
        "introspection_endpoint_auth_methods_supported": list(_CLIENT_AUTH),
        "code_challenge_methods_supported": ["S256"],  # RFC 7636 4.2; plain is refused
        "authorization_response_iss_parameter_supported": iss_parameter,  # RFC 9207 3
        "id_token_signing_alg_values_supported": [signing_alg],
    }


def openid_configuration(
    issuer: str, *, signing_alg: str, iss_parameter: bool = True
) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 section 3: the RFC 8414 fields plus the OpenID ones."""
    return {
        **authorization_server_metadata(
            issuer, signing_alg=signing_alg, iss_parameter=iss_parameter
        ),
        "subject_types_supported": ["public"],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "at_hash",
            "given_name",
            "family_name",
            "name",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
        ],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
