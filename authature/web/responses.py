"""Response helpers: JSON with the spec's exact content type, errors, security headers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from authature.oauth.errors import OAuthError

JSON_TYPE = "application/json; charset=utf-8"

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: A JSON answer is never to be sniffed into HTML by a browser that is shown it.
_JSON_HEADERS = {**NO_STORE, "X-Content-Type-Options": "nosniff"}


class json_body(bytes):  # noqa: N801 - used like a function
    """A JSON body encoded once, for answers that never change (`json_response` sends it)."""

    def __new__(cls, body: Any) -> json_body:
        return super().__new__(cls, _encode(body))


def _encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body if isinstance(body, json_body) else _encode(body),
        status_code=status,
        headers={**_JSON_HEADERS, **(headers or {})},
        media_type=JSON_TYPE,
    )


def error_json(error: OAuthError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def page_security_headers(frame_origins: list[str], form_targets: list[str]) -> dict[str, str]:
    """A strict CSP with nothing from other sites; framing only by the client's own origins."""
    ancestors = " ".join(frame_origins) if frame_origins else "'none'"
    form_action = " ".join(["'self'", *form_targets])
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action {form_action}; frame-ancestors {ancestors}; "
        "base-uri 'none'"
    )
    headers = {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        **NO_STORE,
    }
    if not frame_origins:
        headers["X-Frame-Options"] = "DENY"
    return headers


def origin_of(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None
