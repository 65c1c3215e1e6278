"""OAuthError and one named constructor for every code of SPEC section 4 (RFC 6749 4.1.2.1, 5.2).

Call sites pick the named error and add a specific description; they never choose status codes.
Descriptions are limited to the characters RFC 6749 allows (%x20-21 / %x23-5B / %x5D-7E).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "OAuthError",
    "access_denied",
    "bearer_challenge",
    "insufficient_scope",
    "invalid_client",
    "invalid_grant",
    "invalid_request",
    "invalid_scope",
    "invalid_token",
    "missing_state",
    "payment_refused",
    "quote",
    "rate_limited",
    "server_error",
    "temporarily_unavailable",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
]

_DESCRIPTION = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]*$")


def quote(value: str, limit: int = 40) -> str:
    """A client-supplied fragment made safe to put into an error_description.

    RFC 6749 5.2 allows printable ASCII but `"` and `\\` there, so any other character is
    written as its code point (`١٢٣` becomes `<U+0661><U+0662><U+0663>`): the developer sees
    what the server received instead of question marks. Past `limit` characters, `...`.
    """
    shown = "".join(c if _DESCRIPTION.fullmatch(c) else f"<U+{ord(c):04X}>" for c in value[:limit])
    return shown + ("..." if len(value) > limit else "")


class OAuthError(Exception):
    """An error that leaves the server as `{"error", "error_description"}`.

    `redirect_uri` is set only once the client and redirect URI are trusted (RFC 6749 4.1.2.1); the
    web layer then redirects instead of answering directly.
    """

    def __init__(
        self,
        error: str,
        description: str,
        status: int,
        *,
        state: str | None = None,
        redirect_uri: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not _DESCRIPTION.fullmatch(description):
            raise ValueError(f"error_description has characters RFC 6749 forbids: {description!r}")
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.state = state
        self.redirect_uri = redirect_uri
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def redirecting(self, redirect_uri: str, state: str | None) -> OAuthError:
        """A copy that goes back to the client's redirect URI."""
        return OAuthError(
            self.error,
            self.description,
            self.status,
            state=state,
            redirect_uri=redirect_uri,
            headers=self.headers,
        )


def invalid_request(
    description: str = "The request is missing a parameter or is malformed.",
) -> OAuthError:
    return OAuthError("invalid_request", description, 400)


def unauthorized_client(
    description: str = "This client may not use this method or scope.",
) -> OAuthError:
    return OAuthError("unauthorized_client", description, 401)


def access_denied(description: str = "The user or the server refused the request.") -> OAuthError:
    return OAuthError("access_denied", description, 403)


def unsupported_response_type(
    description: str = "Only response_type=code is supported.",
) -> OAuthError:
    return OAuthError("unsupported_response_type", description, 400)


def invalid_scope(
    description: str = "The scope is unknown, malformed or not allowed.",
) -> OAuthError:
    return OAuthError("invalid_scope", description, 400)


def server_error(description: str = "The server met an unexpected condition.") -> OAuthError:
    return OAuthError("server_error", description, 500)


def temporarily_unavailable(
    description: str = "The server is overloaded or in maintenance; try again later.",
) -> OAuthError:
    return OAuthError("temporarily_unavailable", description, 503)


def missing_state(description: str = "The state parameter is required.") -> OAuthError:
    return OAuthError("missing_state", description, 400)


def invalid_client(
    description: str = "Client authentication failed: check the client_id and client_secret (Basic header or form, not both).",
    *,
    basic: bool = True,
) -> OAuthError:
    headers = {"WWW-Authenticate": 'Basic realm="authature"'} if basic else {}
    return OAuthError("invalid_client", description, 401, headers=headers)


def invalid_grant(
    description: str = "The authorization code is invalid, expired or already used.",
) -> OAuthError:
    return OAuthError("invalid_grant", description, 400)


def unsupported_grant_type(
    description: str = "This grant type is not supported.",
) -> OAuthError:
    return OAuthError("unsupported_grant_type", description, 400)


#: RFC 6750 3.1: the challenge of a bearer-protected resource that refused the token.
BEARER_INVALID_TOKEN = 'Bearer realm="authature", error="invalid_token"'  # noqa: S105 - a header


@contextmanager
def bearer_challenge() -> Iterator[None]:
    """Around the work of a bearer-authenticated endpoint (RFC 6750 3.1): a refused token
    leaves with the challenge; its status and body stay SPEC 4's."""
    try:
        yield
    except OAuthError as exc:
        if exc.error == "invalid_token":
            exc.headers["WWW-Authenticate"] = BEARER_INVALID_TOKEN
        raise


def invalid_token(
    description: str = "The token is revoked, expired or invalid; have the user sign in again.",
) -> OAuthError:
    return OAuthError("invalid_token", description, 400)


def insufficient_scope(scope: str) -> OAuthError:
    """Not in SPEC 4's table: RFC 6750 3.1 for a bearer resource outside SPEC 3 (userinfo),
    403 with the challenge naming the scope the token lacks."""
    return OAuthError(
        "insufficient_scope",
        f"The access token was not granted the {scope} scope; ask for it at /oauth/authorize.",
        403,
        headers={
            "WWW-Authenticate": f'Bearer realm="authature", error="insufficient_scope", scope="{scope}"'
        },
    )


def rate_limited(retry_after_seconds: int) -> OAuthError:
    """Not in SPEC 4's table: RFC 6585 429 with Retry-After, body shaped like every other error."""
    return OAuthError(
        "temporarily_unavailable",
        "Too many requests; wait before trying again.",
        429,
        headers={"Retry-After": str(max(1, retry_after_seconds))},
    )


def payment_refused(rule: str, sentence: str) -> OAuthError:
    """SPEC 4: payment refusals carry the failed rule's name as the code, with HTTP 403."""
    return OAuthError(rule, sentence, 403)
