"""Random identifiers in the wire formats of SPEC 3 (lowercase hex of fixed length)."""

from __future__ import annotations

import secrets


def new_token() -> str:
    """64 lowercase hex characters (SPEC 3.2): 256 bits from the OS CSPRNG."""
    return secrets.token_hex(32)


def new_code() -> str:
    """32 lowercase hex characters, the shape of the documented authorization code."""
    return secrets.token_hex(16)


def new_id() -> str:
    """24 lowercase hex characters, the shape of the documented payment ids."""
    return secrets.token_hex(12)


def new_urlsafe(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
