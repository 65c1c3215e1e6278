"""Token revocation, RFC 7009.

The caller is an authenticated client (2.1); public clients identify themselves by `client_id`
(RFC 6749 2.1 allows it, and they need a way to log out). The answer is 200 whatever the token
was (2.2): an unknown, expired, already revoked or another client's token is simply not revoked,
so the endpoint reveals nothing about tokens the caller does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from authature.oauth import errors
from authature.oauth.ports import ClientRecord, Repos
from authature.oauth.token import Hasher

__all__ = ["TOKEN_TYPE_HINTS", "read_token", "revoke_token", "search_order"]

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")
_MAX_TOKEN = 256


def search_order(hint: str | None) -> tuple[str, ...]:
    """RFC 7009 2.1 / RFC 7662 2.1: look where the hint says first, then everywhere else.

    An unknown hint is ignored rather than refused: the server "MUST extend its search across all
    of its supported token types" when the hint does not find the token.
    """
    if hint == "refresh_token":
        return ("refresh_token", "access_token")
    return ("access_token", "refresh_token")


def read_token(form: Mapping[str, str]) -> tuple[str, str | None] | None:
    """The `token` parameter (REQUIRED, RFC 7009 2.1 and RFC 7662 2.1) and the hint.

    None for a token too long to be one of ours: it cannot exist, so it needs no lookup.
    """
    token = form.get("token")
    if not token:
        raise errors.invalid_request("The token parameter is required.")
    if len(token) > _MAX_TOKEN:
        return None
    return token, form.get("token_type_hint") or None


def revoke_token(
    repos: Repos, hasher: Hasher, caller: ClientRecord, form: Mapping[str, str], now: datetime
) -> None:
    """RFC 7009 2.1: revoke the token if it was issued to the caller.

    A refresh token takes its whole family with it, access tokens included ("SHOULD also
    invalidate all access tokens based on the same authorization grant"); an access token is
    revoked alone (revoking the refresh token too is a MAY we do not take, so a client can drop a
    leaked access token and keep its session).
    """
    read = read_token(form)
    if read is None:
        return
    token, hint = read
    for kind in search_order(hint):
        if kind == "refresh_token":
            refresh = repos.tokens.refresh(hasher.digest(token, "refresh_token"))
            if refresh is not None:
                if refresh.client_pk == caller.pk:
                    repos.tokens.revoke_family(refresh.family, now)
                return
        else:
            digest = hasher.digest(token, "access_token")
            access = repos.tokens.access(digest)
            if access is not None:
                if access.client_pk == caller.pk and access.revoked_at is None:
                    repos.tokens.revoke_access(digest, now)
                return
