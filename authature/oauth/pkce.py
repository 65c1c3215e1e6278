"""PKCE, RFC 7636: S256 only (4.2); `plain` is refused as RFC 9700 2.1.1 advises."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from authature.oauth import errors

__all__ = ["check_challenge", "verify_code_verifier"]

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 4.1
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")  # base64url of 32 bytes, no padding


def check_challenge(challenge: str | None, method: str | None) -> tuple[str | None, str | None]:
    if challenge is None:
        if method is not None:
            raise errors.invalid_request("code_challenge_method given without code_challenge.")
        return None, None
    if method is None:
        # RFC 7636 would default to plain, which RFC 9700 2.1.1 advises against.
        raise errors.invalid_request("Send code_challenge_method=S256 with the code_challenge.")
    if method != "S256":
        raise errors.invalid_request("Only code_challenge_method=S256 is supported.")
    if not _CHALLENGE.match(challenge):
        raise errors.invalid_request("code_challenge must be 43 base64url characters.")
    return challenge, method


def verify_code_verifier(verifier: str | None, challenge: str | None) -> None:
    """RFC 7636 4.6; a verifier sent for a code issued without a challenge is refused too."""
    if challenge is None:
        if verifier is not None:
            raise errors.invalid_grant("code_verifier sent for a code issued without PKCE.")
        return
    if verifier is None:
        raise errors.invalid_grant("code_verifier is required for this code.")
    if not _VERIFIER.match(verifier):
        raise errors.invalid_grant("code_verifier is malformed.")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(computed, challenge):
        raise errors.invalid_grant("code_verifier does not match the code_challenge.")
