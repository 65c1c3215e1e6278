"""The documented endpoints of SPEC 3.1-3.4 and the standard ones of 5.1. Each is a few lines."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authature.oauth import errors
from authature.web.forms import read_form, single_query
from authature.web.responses import json_body, json_response
from authature.web.services import Services

T = TypeVar("T")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def bearer_token(authorization: str | None, query: Mapping[str, str]) -> str:
    """RFC 6750 2.1 header only: tokens in query strings are refused (RFC 9700 2.4.1)."""
    scheme, _, value = (authorization or "").partition(" ")
    if "access_token" in query:  # even beside a header: one method only (RFC 6750 2)
        raise errors.invalid_request(
            "Send the access token in the Authorization header only, not in the query string."
        )
    if scheme.lower() != "bearer" or not value.strip():
        error = errors.invalid_token("A bearer token is required in the Authorization header.")
        error.headers["WWW-Authenticate"] = 'Bearer realm="authature"'  # RFC 6750 3
        raise error
    return value.strip()


async def authorize(request: Request) -> Response:
    """GET with the query string, or POST with a form body (OpenID Connect Core 3.1.2.1)."""
    services = _services(request)
    if request.method == "POST":
        items = list((await read_form(request)).items())
    else:
        items = list(request.query_params.multi_items())
    parsed = await _threaded(request, services.oauth.parse_authorization, items)
    if request.method == "HEAD":  # a link checker or prefetch must not open a sign-in
        return Response(status_code=200, headers={"Cache-Control": "no-store"})
    handle = await _threaded(request, services.flow.begin, parsed)
    return RedirectResponse(f"/signin/{handle}", status_code=303)


async def token(request: Request) -> Response:
    form = await read_form(request)
    services = _services(request)
    answer = await _threaded(
        request, services.oauth.token, request.headers.get("authorization"), form
    )
    return json_response(answer.body, answer.status)


TOKEN_OK = json_body({"status": "ok"})  # the same bytes on every answer: encoded once


async def verify_token(request: Request) -> Response:
    """SPEC 3.3. The server answers this in `web.fastpath` before routing; the route is the
    same answer for apps without that middleware, and what the OpenAPI document lists."""
    query = single_query(request)
    token = bearer_token(request.headers.get("authorization"), query)
    await _threaded(request, _services(request).oauth.verify_token, token, query)
    return json_response(TOKEN_OK)


async def signature(request: Request) -> Response:
    """SPEC 3.4; `/oauth/signature` takes the token as a parameter instead of in the path."""
    form = dict(single_query(request))
    if request.method == "POST":
        form.update(await read_form(request))
    token_value = request.path_params.get("token") or form.get("access_token") or form.get("token")
    if not token_value:
        raise errors.invalid_request("access_token is required.")
    services = _services(request)

    def run() -> Response:
        client = services.oauth.authenticate(
            request.headers.get("authorization"), form, allow_public=False
        )
        record = services.oauth.token_for_client(token_value, client, "capture")
        capture = (
            services.flow.signature_capture(record.signature_pk) if record.signature_pk else None
        )
        if capture is None:
            raise errors.invalid_token("No signature is stored for this token.")
        from authature.biometrics.svg import render_svg

        svg = render_svg(capture).encode("utf-8")
        return json_response({"image_data": base64.b64encode(svg).decode("ascii")})

    return await _threaded(request, run)


async def _threaded(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """A blocking call: in the thread pool, or inline with SQLite (see `Services.call`)."""
    return await _services(request).call(fn, *args)


routes = [
    Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/token", verify_token, methods=["GET"]),
    Route("/oauth/signatures/{token}", signature, methods=["GET"]),
    Route("/oauth/signature", signature, methods=["GET", "POST"]),
]
