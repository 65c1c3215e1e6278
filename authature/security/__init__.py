"""Secrets, keyed hashes and encryption at rest."""

from authature.security.keys import Keys, load_keys
from authature.security.secrets import new_code, new_id, new_token, new_urlsafe

__all__ = ["Keys", "load_keys", "new_code", "new_id", "new_token", "new_urlsafe"]
