"""The token endpoint (RFC 6749 4.1.3, 5.1, 6; SPEC 3.2) and token checks (SPEC 3.3).

A request without `grant_type` is the documented Authature exchange and gets the documented 201
shape; with `grant_type` it is standard OAuth and gets the RFC 6749 5.1 shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from authature.oauth import errors
from authature.oauth.pkce import verify_code_verifier
from authature.oauth.ports import (
    AccessTokenRecord,
    ClientRecord,
    CodeRecord,
    RefreshTokenRecord,
    Repos,
    UserRecord,
)
from authature.oauth.scopes import parse_scope

__all__ = ["Hasher", "IssuedTokens", "TokenPolicy", "format_expires", "user_object"]


class Hasher(Protocol):
    def digest(self, secret: str, purpose: str) -> str: ...
    def matches(self, secret: str, purpose: str, stored_digest: str) -> bool: ...


@dataclass(frozen=True)
class TokenPolicy:
    access_lifetime: timedelta
    refresh_lifetime: timedelta


@dataclass(frozen=True, repr=False)
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    scopes: tuple[str, ...]
    expires_at: datetime
    user: UserRecord
    client: ClientRecord
    nonce: str | None
    auth_time: datetime | None
    # SPEC 1 `payment`: the one-off checkout taken when the user signed (docs/payments.md).
    payment: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"IssuedTokens(scopes={self.scopes!r}, expires_at={self.expires_at!r})"


def format_expires(when: datetime) -> str:
    """ISO 8601 with milliseconds and offset, as in SPEC 3.2: 2025-06-16T10:48:24.025+00:00."""
    return when.isoformat(timespec="milliseconds")


def user_object(user: UserRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "identifier": user.identifier,
    }
    if user.mobile:
        body["mobile"] = user.mobile
    return body


def check_code(
    code: CodeRecord,
    first_use: bool,
    client: ClientRecord,
    form: Mapping[str, str],
    now: datetime,
    *,
    standard: bool,
) -> None:
    """RFC 6749 4.1.3 checks on a consumed code (the caller revokes on reuse)."""
    if not first_use:
        raise errors.invalid_grant(
            "The authorization code was already used (its tokens are now revoked); start the sign-in again."
        )
    if code.expires_at <= now:
        raise errors.invalid_grant(
            "The authorization code has expired; exchange codes at once, or start the sign-in again."
        )
    if code.client_pk != client.pk:
        raise errors.invalid_grant("The authorization code was issued to another client.")
    redirect_uri = form.get("redirect_uri")
    if redirect_uri is None or redirect_uri != code.redirect_uri:
        raise errors.invalid_grant("redirect_uri does not match the authorization request.")
    if not standard:
        state = form.get("state")
        if state is not None and state != code.state:
            raise errors.invalid_grant("state does not match the authorization request.")
    verify_code_verifier(form.get("code_verifier"), code.code_challenge)
    if client.is_public and code.code_challenge is None:
        raise errors.invalid_grant("PKCE is required for this client.")


def narrowed_scopes(requested: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """A token request may ask for a subset of what was granted, never more (RFC 6749 6)."""
    if requested is None or not requested.strip():
        return granted
    scopes = parse_scope(requested)
    extra = [s for s in scopes if s not in granted]
    if extra:
        raise errors.invalid_scope(f"The scope {extra[0]} was not granted.")
    return scopes


def store_tokens(
    repos: Repos,
    hasher: Hasher,
    policy: TokenPolicy,
    *,
    access_token: str,
    refresh_token: str | None,
    family: str,
    client: ClientRecord,
    user_pk: int,
    scopes: tuple[str, ...],
    device_uid: str | None,
    signature_pk: int | None,
    code_digest: str | None,
    now: datetime,
    refresh_scopes: tuple[str, ...] | None = None,
) -> datetime:
    """Store an access token and, if given, its refresh token. The refresh token keeps the
    whole grant (`refresh_scopes`, default `scopes`): RFC 6749 6 lets an access token be
    narrowed, and a later refresh without `scope` means the scope originally granted."""
    expires_at = now + policy.access_lifetime
    repos.tokens.add_access(
        AccessTokenRecord(
            token_digest=hasher.digest(access_token, "access_token"),
            client_pk=client.pk,
            user_pk=user_pk,
            scopes=scopes,
            device_uid=device_uid,
            signature_pk=signature_pk,
            code_digest=code_digest,
            family=family,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    if refresh_token is not None:
        repos.tokens.add_refresh(
            RefreshTokenRecord(
                token_digest=hasher.digest(refresh_token, "refresh_token"),
                client_pk=client.pk,
                user_pk=user_pk,
                scopes=refresh_scopes or scopes,
                device_uid=device_uid,
                signature_pk=signature_pk,
                family=family,
                created_at=now,
                expires_at=now + policy.refresh_lifetime,
                used_at=None,
                revoked_at=None,
            )
        )
    return expires_at


def live_access_token(
    repos: Repos, hasher: Hasher, token: str | None, now: datetime
) -> AccessTokenRecord:
    """The stored record of a live token, or invalid_token."""
    if not token or len(token) > 256:
        raise errors.invalid_token()
    record = repos.tokens.access(hasher.digest(token, "access_token"))
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        if record is not None:  # refused anyway; say why when "sign in again" cannot help
            client = repos.clients.by_pk(record.client_pk)
            if client is not None and client.disabled:
                raise client_disabled_token()
        raise errors.invalid_token()
    return record


def client_disabled_token() -> errors.OAuthError:
    """invalid_token for a token of a disabled client (`clients disable` revoked it too): the
    usual "have the user sign in again" cannot help while the client stays disabled."""
    return errors.invalid_token(
        "The client this token was issued to is disabled; its tokens no longer work."
    )
