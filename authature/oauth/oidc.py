"""OpenID Connect for the `authenticate` flow.

- OpenID Connect Core 1.0 section 2 and 3.1.3.6: the id_token issued with the `openid` scope on
  a standard code exchange, signed with our key (ES256, or RS256 for an RSA key) and named by `kid`.
- Core 5.1 and 5.3: the userinfo claims.
- Core 8.1: `sub` is a stable, opaque, never reassigned identifier (a keyed digest of the user's
  row id, so it reveals neither the e-mail address nor how many users there are).
- RFC 7517: the public key set that lets clients check the signature.

`amr` (RFC 8176) is `["sig"]`: the user proved who they are with a biometrically verified
handwritten signature. RFC 8176 registers no value for that, so we use one of our own and say so
in docs/oauth.md. On a first visit the signature enrolled the user instead of being verified
against earlier ones; the `auth_time` is then the moment the account was created.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from authature.oauth.ports import UserRecord
from authature.oauth.token import Hasher, IssuedTokens

__all__ = ["AMR", "OpenIDProvider", "subject_of"]

AMR = ("sig",)


def subject_of(hasher: Hasher, user_pk: int) -> str:
    """Core 8.1: the same `sub` for a user everywhere (id_token, userinfo, introspection)."""
    return hasher.digest(f"user:{user_pk}", "subject")


def _epoch(when: datetime) -> int:
    """NumericDate (RFC 7519 2): seconds since the epoch, from an aware datetime."""
    return int(when.timestamp())


def _half_hash(value: str) -> str:
    """Core 3.1.3.6 at_hash: the left half of SHA-256 (both ES256 and RS256), base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, repr=False)
class OpenIDProvider:
    """Signs id_tokens and describes its key; holds the private key, so its repr hides it."""

    issuer: str
    key: ECKey | RSAKey
    hasher: Hasher
    id_token_lifetime: timedelta

    def __repr__(self) -> str:
        return f"OpenIDProvider(issuer={self.issuer!r}, alg={self.alg!r}, kid={self.kid!r})"

    @property
    def alg(self) -> str:
        return "ES256" if isinstance(self.key, ECKey) else "RS256"

    @property
    def kid(self) -> str:
        return self.key.thumbprint()  # RFC 7638: changes exactly when the key changes

    def issues_id_token(self, scopes: tuple[str, ...]) -> bool:
        """Core 3.1.2.1: only a request with the `openid` scope is an OpenID Connect request.

        Without a known issuer no valid id_token can be made (Core 2: `iss` is REQUIRED).
        """
        return bool(self.issuer) and "openid" in scopes

    def id_token(self, issued: IssuedTokens, now: datetime) -> str:
        """Core 2 (required claims) and 3.1.3.6 (code flow; at_hash optional, included)."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject_of(self.hasher, issued.user.pk),
            "aud": issued.client.client_id,
            "exp": _epoch(now + self.id_token_lifetime),
            "iat": _epoch(now),
            "amr": list(AMR),
            "at_hash": _half_hash(issued.access_token),
        }
        if issued.auth_time is not None:
            claims["auth_time"] = _epoch(issued.auth_time)
        if issued.nonce is not None:
            claims["nonce"] = issued.nonce  # Core 3.1.3.6: MUST be the authorize request's value
        header = {"alg": self.alg, "kid": self.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=[self.alg])

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 5: the public half only, with `use`, `alg` and `kid`."""
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": self.alg, "kid": self.kid}]}

    def userinfo(self, user: UserRecord) -> dict[str, Any]:
        """Core 5.3.2 with the standard claims of 5.1.

        `email_verified` is false: Authature verifies the signature, not the mailbox.
        """
        claims: dict[str, Any] = {
            "sub": subject_of(self.hasher, user.pk),
            "given_name": user.first_name,
            "family_name": user.last_name,
            "name": f"{user.first_name} {user.last_name}".strip(),
            "email": user.identifier,
            "email_verified": False,
        }
        if user.mobile:
            claims["phone_number"] = user.mobile
            claims["phone_number_verified"] = False
        return claims
