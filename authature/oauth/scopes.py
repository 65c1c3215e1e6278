"""The scopes of SPEC 1 and how a `scope` parameter is read (comma or space separated)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from authature.oauth import errors

__all__ = [
    "KNOWN_SCOPES",
    "SCOPE_SENTENCES",
    "SUPPORTED_SCOPES",
    "held_scopes",
    "parse_scope",
]

KNOWN_SCOPES = ("capture", "authenticate", "preapproval", "payment", "openid")

SUPPORTED_SCOPES = KNOWN_SCOPES  # every scope of SPEC 1 (and openid) is granted

SCOPE_SENTENCES = {
    # SPEC 1: basic contact details come back with every token, so each sentence says so.
    "capture": "Receive an image of the signature you draw now, to place it on a document, "
    "and your name and e-mail address.",
    "authenticate": "Sign you in and see your name and e-mail address.",
    "preapproval": "Charge your bank account later by SEPA direct debit, under a mandate you sign now.",
    "payment": "Take one payment from your bank account now.",
    "openid": "Confirm your identity to the application (OpenID Connect) and see your name, "
    "e-mail address and mobile number.",
}

_SCOPE_TOKEN = re.compile(r"^[a-z_]{1,32}$")


def parse_scope(raw: str | None, allowed: frozenset[str] | None = None) -> tuple[str, ...]:
    """Split a scope string; refuse unknown, malformed, empty or not-allowed scopes."""
    if raw is None or not raw.strip():
        raise errors.invalid_scope("The scope parameter is required.")
    items = [item.strip() for item in raw.split(",")]
    if not any(items):  # "," or ",,": separators only
        raise errors.invalid_scope("The scope parameter is required.")
    if not all(items):  # "capture,,authenticate" or "capture,": an empty item is malformed
        raise errors.invalid_scope(
            "The scope list has an empty item; separate scopes with one comma or spaces."
        )
    parts = [p for item in items for p in item.split()]
    seen: list[str] = []
    for part in parts:
        if not _SCOPE_TOKEN.match(part) or part not in KNOWN_SCOPES:
            raise errors.invalid_scope(
                f"Unknown scope '{errors.quote(part, 32)}'; use {', '.join(SUPPORTED_SCOPES)}."
            )
        if allowed is not None and part not in allowed:
            raise errors.invalid_scope(
                f"This client may not request the {part} scope; it is registered for "
                f"{', '.join(sorted(allowed))}."
            )
        if part not in seen:
            seen.append(part)
    return tuple(seen)


def held_scopes(granted: Iterable[str], client_scopes: Collection[str]) -> tuple[str, ...]:
    """The scopes of a grant that still work: those its client is registered for now. An
    operator who takes a scope from a client (`clients update --scopes`) ends it on every token
    issued before, for checks, refresh, introspection and payments alike."""
    return tuple(s for s in granted if s in client_scopes)
