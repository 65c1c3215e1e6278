"""The standard endpoints of SPEC 5.1 beyond the documented surface (see docs/oauth.md).

Revocation (RFC 7009), introspection (RFC 7662), server metadata (RFC 8414), OpenID Connect
discovery, JWKS and userinfo. Each route reads the request, calls one engine method and renders.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authature.oauth import errors
from authature.oauth.metadata import authorization_server_metadata, openid_configuration
from authature.oauth.server import OAuthServer
from authature.web.forms import read_form
from authature.web.responses import JSON_TYPE, json_response
from authature.web.services import Services

__all__ = ["routes"]

# Public documents: cacheable for a few minutes and readable from browser-based clients.
_PUBLIC = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _oauth(request: Request) -> OAuthServer:
    return _services(request).oauth


def _issuer(request: Request) -> str:
    """The configured issuer; without one, the URL this server was reached at."""
    return _services(request).issuer or str(request.base_url).rstrip("/")


def _public_json(body: dict[str, Any]) -> Response:
    content = json.dumps(body, separators=(",", ":")).encode("utf-8")
    return Response(content, headers=_PUBLIC, media_type=JSON_TYPE)


def _bearer(request: Request) -> str:
    """RFC 6750 2.1: the Authorization header only; query-string tokens are refused (RFC 9700
    2.4.1) because they end up in logs and Referer headers."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if "access_token" in request.query_params:
        raise errors.invalid_request("Send the access token in the Authorization header.")
    if scheme.lower() != "bearer" or not value.strip():
        error = errors.invalid_token("A bearer token is required in the Authorization header.")
        error.headers["WWW-Authenticate"] = 'Bearer realm="authature"'  # RFC 6750 3
        raise error
    return value.strip()


async def revoke(request: Request) -> Response:
    """RFC 7009 2.2: 200 whether or not there was anything to revoke."""
    form = await read_form(request)
    await _services(request).call(
        _oauth(request).revoke, request.headers.get("authorization"), form
    )
    return json_response({})


async def introspect(request: Request) -> Response:
    form = await read_form(request)
    body = await _services(request).call(
        _oauth(request).introspect, request.headers.get("authorization"), form
    )
    return json_response(body)


async def userinfo(request: Request) -> Response:
    """OpenID Connect Core 5.3.1: GET and POST, bearer token in the header."""
    token = _bearer(request)
    with errors.bearer_challenge():  # RFC 6750 3.1
        claims = await _services(request).call(_oauth(request).userinfo, token)
    return json_response(claims)


def server_metadata(request: Request) -> Response:
    oidc = _oauth(request).oidc
    alg = oidc.alg if oidc is not None else "ES256"
    body = authorization_server_metadata(
        _issuer(request), signing_alg=alg, iss_parameter=bool(_services(request).issuer)
    )
    return _public_json(body)


def openid_discovery(request: Request) -> Response:
    oidc = _oauth(request).oidc
    if oidc is None:
        raise errors.invalid_request("OpenID Connect is not configured on this server.")
    body = openid_configuration(
        _issuer(request), signing_alg=oidc.alg, iss_parameter=bool(_services(request).issuer)
    )
    return _public_json(body)


def jwks(request: Request) -> Response:
    oidc = _oauth(request).oidc
    return _public_json(oidc.jwks() if oidc is not None else {"keys": []})


routes = [
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/introspect", introspect, methods=["POST"]),
    Route("/oauth/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
    Route("/.well-known/openid-configuration", openid_discovery, methods=["GET"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]
