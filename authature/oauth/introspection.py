"""Token introspection, RFC 7662.

Only confidential clients may introspect (2.1: the endpoint MUST require authorization; a public
client has no credentials to present), and only their own tokens: anything else - unknown,
expired, revoked, used, or issued to another client - is `{"active": false}` and nothing more
(2.2), so the answer never tells a caller about tokens it does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from authature.oauth import errors
from authature.oauth.oidc import subject_of
from authature.oauth.ports import AccessTokenRecord, ClientRecord, RefreshTokenRecord, Repos
from authature.oauth.revocation import read_token, search_order
from authature.oauth.scopes import held_scopes
from authature.oauth.token import Hasher

__all__ = ["INACTIVE", "introspect_token"]

INACTIVE: dict[str, Any] = {"active": False}
# RFC 7662 2.2 token_type: the RFC 6749 7.1 type of an access token; a refresh token has none.
_TOKEN_TYPES = {"access_token": "Bearer", "refresh_token": "refresh_token"}


def introspect_token(
    repos: Repos,
    hasher: Hasher,
    caller: ClientRecord,
    form: Mapping[str, str],
    now: datetime,
    issuer: str,
) -> dict[str, Any]:
    """RFC 7662 2.2: `active` plus scope, client_id, username, token_type, exp, iat, sub, iss."""
    if caller.is_public:
        raise errors.unauthorized_client("Public clients may not use token introspection.")
    read = read_token(form)
    if read is None:
        return dict(INACTIVE)
    token, hint = read
    for kind in search_order(hint):
        found, record = _lookup(repos, hasher, token, kind, now)
        if not found:
            continue
        if record is None or record.client_pk != caller.pk:
            return dict(INACTIVE)
        user = repos.users.by_pk(record.user_pk)
        held = held_scopes(record.scopes, caller.scopes)
        if user is None or not held:
            return dict(INACTIVE)
        body: dict[str, Any] = {
            "active": True,
            # Only what the client is still registered for: an operator's scope removal
            # applies to tokens issued before it (as GET /oauth/token does).
            "scope": " ".join(held),
            "client_id": caller.client_id,
            "username": user.identifier,
            "token_type": _TOKEN_TYPES[kind],
            "exp": int(record.expires_at.timestamp()),
            "iat": int(record.created_at.timestamp()),
            "sub": subject_of(hasher, user.pk),
            "aud": caller.client_id,
        }
        if issuer:
            body["iss"] = issuer
        return body
    return dict(INACTIVE)


def _lookup(
    repos: Repos, hasher: Hasher, token: str, kind: str, now: datetime
) -> tuple[bool, AccessTokenRecord | RefreshTokenRecord | None]:
    """Whether a token of this kind exists, and its record if it is live."""
    if kind == "refresh_token":
        refresh = repos.tokens.refresh(hasher.digest(token, "refresh_token"))
        if refresh is None:
            return False, None
        live = refresh.revoked_at is None and refresh.used_at is None and refresh.expires_at > now
        return True, refresh if live else None
    access = repos.tokens.access(hasher.digest(token, "access_token"))
    if access is None:
        return False, None
    return True, access if access.revoked_at is None and access.expires_at > now else None
