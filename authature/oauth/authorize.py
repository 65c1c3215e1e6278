"""The authorization request (RFC 6749 4.1.1, SPEC 3.1) and the authorization response (4.1.2).

Validation order matters: until the client and redirect URI are known, errors must not redirect
(RFC 6749 4.1.2.1, RFC 9700 4.11: no open redirects); afterwards they go back to the client.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from authature.oauth import errors
from authature.oauth.clients import is_native_redirect, validate_redirect_uri
from authature.oauth.pkce import check_challenge
from authature.oauth.ports import ClientRecord, ClientStore
from authature.oauth.scopes import parse_scope
from authature.plaintext import text_problem

__all__ = ["AuthorizationRequest", "authorization_redirect", "parse_authorization_request"]

_USER_PARAMS = ("identifier", "first_name", "last_name", "mobile")
_MAX_PARAM = 2000
_DEVICE_UID = re.compile(r"^[\x21-\x7e]{1,200}$")
_MOBILE = re.compile(r"^\+?[0-9][0-9 ()./-]{3,30}$")


MAX_AMOUNT_CENTS = 10**9


def parse_ref_id(value: str | None, when: str) -> str:
    """The client's order reference (SPEC 3.1, 3.6): 1-200 printable ASCII characters."""
    if not value:
        raise errors.invalid_request(f"ref_id is required {when}: your order reference.")
    if not _REF_ID.match(value):
        raise errors.invalid_request(
            "ref_id must be 1 to 200 printable ASCII characters (letters, digits, - _ . etc.)."
        )
    return value


def parse_amount_cents(value: str | None, when: str) -> int:
    """An amount in whole cents (SPEC 3.1, 3.6), 1 to MAX_AMOUNT_CENTS."""
    if not value:
        raise errors.invalid_request(f"amount is required {when}, in whole cents (1250 = 12.50).")
    # Length first: int() of thousands of digits is slow, and refused past 4300 (a 500).
    if (
        len(value) > 12
        or not (value.isascii() and value.isdigit())
        or not 0 < int(value) <= MAX_AMOUNT_CENTS
    ):
        raise errors.invalid_request(
            f"amount must be whole cents written with digits only, 1 to {MAX_AMOUNT_CENTS} "
            f"(1250 for 12.50); {errors.quote(value, 24)} is not."
        )
    return int(value)


def is_mobile_number(value: str) -> bool:
    """A phone number as people type it: optional +, digits, spaces and ( ) . / -."""
    return bool(_MOBILE.match(value))


_REF_ID = re.compile(r"^[\x20-\x7e]{1,200}$")


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientRecord
    redirect_uri: str
    state: str
    scopes: tuple[str, ...]
    device_uid: str | None
    user_params: dict[str, str]
    ux_style: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    ref_id: str | None
    amount_cents: int | None


def _single(items: Sequence[tuple[str, str]], names: Sequence[str] | None = None) -> dict[str, str]:
    """Parameters as single values (RFC 6749 3.1: none may be repeated), only `names` if given."""
    seen: dict[str, str] = {}
    for key, value in items:
        if names is not None and key not in names:
            continue
        if key in seen:
            raise errors.invalid_request(f"The parameter {errors.quote(key)} is repeated.")
        if len(value) > _MAX_PARAM:
            raise errors.invalid_request(f"The parameter {errors.quote(key)} is too long.")
        if "\x00" in value:
            raise errors.invalid_request(
                f"The parameter {errors.quote(key)} contains a NUL character (%00), "
                "which no parameter may contain."
            )
        if "\ufffd" in value:  # what decoding put in place of bytes that are not UTF-8
            raise errors.invalid_request(
                f"The parameter {errors.quote(key)} is not valid UTF-8 text."
            )
        seen[key] = value
    return seen


def parse_authorization_request(
    items: Sequence[tuple[str, str]], clients: ClientStore
) -> AuthorizationRequest:
    """Validate a request; errors raised after the redirect URI is trusted carry it.

    The client and redirect URI are checked first, on their own: until both are trusted an error
    is shown to the user and never redirected (RFC 6749 4.1.2.1, RFC 9700 4.11).
    """
    trusted = _single(items, ("client_id", "redirect_uri"))
    client_id = trusted.get("client_id")
    if not client_id:
        raise errors.invalid_request("client_id is required.")
    client = clients.by_client_id(client_id)
    if client is None:
        raise errors.invalid_request("Unknown client_id.")
    if client.disabled:
        raise errors.unauthorized_client(
            "This application is disabled on this Authature server, so you cannot sign in to "
            "it here for now. Contact the application's support."
        )
    redirect_uri = validate_redirect_uri(client, trusted.get("redirect_uri"))
    state = next((v for k, v in items if k == "state"), None)
    if state is not None and (len(state) > _MAX_PARAM or "\ufffd" in state or "\x00" in state):
        state = None  # not echoed back: the client could not have sent it
    try:
        return _parse_trusted(_single(items), client, redirect_uri, state)
    except errors.OAuthError as exc:
        raise exc.redirecting(redirect_uri, state) from exc


def _parse_trusted(
    params: dict[str, str], client: ClientRecord, redirect_uri: str, state: str | None
) -> AuthorizationRequest:
    response_type = params.get("response_type")
    if not response_type:
        raise errors.invalid_request("response_type is required.")
    if response_type != "code":
        raise errors.unsupported_response_type()
    if not state:
        raise errors.missing_state()
    scopes = parse_scope(params.get("scope"), client.scopes)
    challenge, method = check_challenge(
        params.get("code_challenge"), params.get("code_challenge_method")
    )
    if challenge is None and (client.is_public or is_native_redirect(redirect_uri)):
        raise errors.invalid_request("PKCE (code_challenge with S256) is required for this client.")
    ux_style = params.get("ux_style") or "inline"
    if ux_style not in {"inline", "popup"}:
        raise errors.invalid_request("ux_style must be inline or popup.")
    device_uid = params.get("device_uid") or None
    if device_uid is not None and not _DEVICE_UID.match(device_uid):
        raise errors.invalid_request("device_uid must be 1 to 200 visible ASCII characters.")
    user_params: dict[str, str] = {}
    for name in _USER_PARAMS:
        value = params.get(f"user_params[{name}]", "").strip()
        problem = text_problem(value, f"user_params[{name}]", 320 if name == "identifier" else 200)
        if problem is not None:
            raise errors.invalid_request(problem)
        if name == "mobile" and value and not is_mobile_number(value):
            raise errors.invalid_request(
                "user_params[mobile] must be a phone number like +3212345678."
            )
        if value:
            user_params[name] = value
    # OpenID Connect Core 3.1.2.1: login_hint only suggests the e-mail address (the field stays
    # editable); user_params[identifier] wins, and a hint that could not be an address is
    # dropped rather than refused, as a hint may be.
    hint = params.get("login_hint", "").strip()
    if "identifier" not in user_params and hint and text_problem(hint, "login_hint", 320) is None:
        user_params["identifier"] = hint
    ref_id, amount = params.get("ref_id"), params.get("amount")
    amount_cents: int | None = None
    if "payment" in scopes:
        ref_id = parse_ref_id(ref_id, "with the payment scope")
        amount_cents = parse_amount_cents(amount, "with the payment scope")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=state,
        scopes=scopes,
        device_uid=device_uid,
        user_params=user_params,
        ux_style=ux_style,
        code_challenge=challenge,
        code_challenge_method=method,
        nonce=params.get("nonce") or None,
        ref_id=ref_id if "payment" in scopes else None,
        amount_cents=amount_cents,
    )


def authorization_redirect(redirect_uri: str, params: dict[str, str]) -> str:
    """Add response parameters to the redirect URI, keeping its own query (RFC 6749 3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
