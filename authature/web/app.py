"""`create_app(settings)`: the whole server, with no module-level engine or settings."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from authature.config import Settings
from authature.oauth import errors
from authature.oauth.authorize import authorization_redirect
from authature.oauth.clients import is_native_redirect
from authature.oauth.ports import Clock
from authature.signin.flow import SignInPageGone
from authature.store.db import is_database_unreachable
from authature.web import oauth_routes, payment_routes, signin_routes, standard_routes
from authature.web.fastpath import TokenCheckFastPath
from authature.web.metrics import MetricsMiddleware, metrics_endpoint
from authature.web.openapi import openapi_json
from authature.web.pages import render_page
from authature.web.ratelimit import RateLimitMiddleware
from authature.web.responses import NO_STORE, error_json, json_response
from authature.web.services import Services, build_services

_HERE = Path(__file__).parent
log = logging.getLogger("authature")


def _authorize_error_page(request: Request, exc: errors.OAuthError) -> Response:
    back = None
    message = exc.description
    if exc.status == 429:  # a rate limit: say so, and for how long (the Retry-After value)
        title = "Too many attempts for now"
        message = (
            f"Too many attempts in a short time; wait {exc.headers.get('Retry-After', '60')} "
            "seconds before trying again."
        )
        if request.method == "POST" and request.url.path.startswith("/signin/"):
            back = request.url.path.rsplit("/", 1)[0]
    elif exc.status >= 500:
        title = "Signing in is not available right now"
    elif request.method == "POST" and request.url.path.startswith("/signin/"):
        # A form of a live page was refused (too large, from another origin...): the page
        # itself still works, so say so and link back to it.
        title = "What you sent could not be used"
        back = request.url.path.rsplit("/", 1)[0]
    elif exc.error == "unauthorized_client":  # before the redirect URI: a disabled client
        title = "This application is disabled"
    else:
        title = "This sign-in link is not valid"
    response = render_page(
        request,
        "error.html",
        {"title": title, "message": message, "error": exc.error, "back": back},
        status=exc.status,
    )
    response.headers.update(exc.headers)
    return response


async def handle_oauth_error(request: Request, exc: Exception) -> Response:
    """The one place that decides how an error leaves (page, redirect or JSON)."""
    assert isinstance(exc, errors.OAuthError)
    if exc.redirect_uri is not None:
        services: Services = request.app.state.services
        params = {**exc.body(), **({"state": exc.state} if exc.state else {})}
        if services.issuer:
            params["iss"] = services.issuer
        if is_native_redirect(exc.redirect_uri):
            return json_response(params, exc.status)
        return RedirectResponse(
            authorization_redirect(exc.redirect_uri, params), status_code=302, headers=NO_STORE
        )
    if request.url.path == "/oauth/authorize" or request.url.path.startswith("/signin/"):
        return _authorize_error_page(request, exc)
    return error_json(exc)


_DATABASE_RETRY_AFTER_SECONDS = 30


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Anything unexpected leaves as server_error (or temporarily_unavailable when the database
    cannot be reached); the details go to the log only."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_database_unreachable(exc):
        error = errors.temporarily_unavailable("The service is temporarily unavailable.")
        error.headers["Retry-After"] = str(_DATABASE_RETRY_AFTER_SECONDS)
    else:
        error = errors.server_error()
    response = await handle_oauth_error(request, error)
    # Starlette re-raises after this answer and uvicorn then closes the connection: say so, or
    # a keep-alive client's next request meets a reset connection.
    response.headers["Connection"] = "close"
    return response


class _Maintenance:
    """AUTHATURE_MAINTENANCE=1: the OAuth, sign-in and payment endpoints answer 503
    temporarily_unavailable with Retry-After (RFC 6749 4.1.2.1, RFC 9110 10.2.3), as a page where
    a browser is (authorize, sign-in) and as JSON elsewhere. Metadata and health stay up."""

    _PREFIXES = ("/oauth/", "/signin/", "/api/")

    def __init__(self, app: ASGIApp, retry_after_seconds: int) -> None:
        self.app = app
        self.retry_after_seconds = retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self._PREFIXES):
            await self.app(scope, receive, send)
            return
        error = errors.temporarily_unavailable(
            "Authature is down for maintenance; try again later."
        )
        error.headers["Retry-After"] = str(self.retry_after_seconds)
        response = await handle_oauth_error(Request(scope, receive), error)
        await response(scope, receive, send)


async def handle_page_gone(request: Request, exc: Exception) -> Response:
    """A form posted to a sign-in page that expired or never existed: the 404 page."""
    return signin_routes.gone(request)


async def handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = errors.OAuthError(
            "invalid_request",
            "There is no such endpoint; the endpoints are listed at /openapi.json.",
            404,
        )
    elif exc.status_code == 405:
        body = errors.OAuthError(
            "invalid_request",
            "This method is not allowed here; see /openapi.json for each endpoint's methods.",
            405,
        )
    else:
        body = errors.OAuthError(
            "invalid_request", "The request could not be served.", exc.status_code
        )
    response = error_json(body)
    if exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]  # RFC 9110 15.5.6
    return response


def _authature_js(request: Request) -> Response:
    return FileResponse(_HERE / "static" / "authature.js", media_type="text/javascript")


def _favicon(request: Request) -> Response:
    """No icon: an empty answer browsers cache, instead of a 404 on every page."""
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


def _healthz(request: Request) -> Response:
    services: Services = request.app.state.services
    from sqlalchemy import text

    try:
        with services.database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return json_response({"status": "unavailable", "database": "unreachable"}, 503)
    return json_response({"status": "ok", "database": "ok"})


def create_app(
    settings: Settings, *, issuer: str = "", demo: bool = False, clock: Clock | None = None
) -> Starlette:
    services = build_services(settings, issuer=issuer, clock=clock)
    routes = [
        *oauth_routes.routes,
        *signin_routes.routes,
        *standard_routes.routes,
        *payment_routes.routes,
        Route("/authature.js", _authature_js),
        Route("/healthz", _healthz),
        Route("/favicon.ico", _favicon),
        Route("/openapi.json", openapi_json),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    if demo:
        from authature.web import demo as demo_module

        routes.append(Mount("/demo", routes=demo_module.routes))
    # Outermost (inside Starlette's ServerErrorMiddleware): `GET /oauth/token` is answered
    # there, with its own metrics; see `web.fastpath`. Not in maintenance mode.
    middleware = []
    if not settings.maintenance:
        middleware.append(
            Middleware(TokenCheckFastPath, services=services, on_error=handle_oauth_error)
        )
    if services.metrics is not None:
        routes.append(Route("/metrics", metrics_endpoint))
        middleware.append(Middleware(MetricsMiddleware, metrics=services.metrics))
    if settings.maintenance:
        retry_after = settings.maintenance_retry_after_seconds
        middleware.append(Middleware(_Maintenance, retry_after_seconds=retry_after))
    middleware.append(
        Middleware(
            RateLimitMiddleware,
            limiter=services.limiter,
            on_error=handle_oauth_error,
            call=services.call,
        )
    )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            errors.OAuthError: handle_oauth_error,
            SignInPageGone: handle_page_gone,
            HTTPException: handle_http,
            Exception: handle_unexpected,
        },
    )
    # An endpoint with a stray trailing slash is an error, not a redirect to guess from.
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.metrics = services.metrics
    app.state.templates = Jinja2Templates(directory=_HERE / "templates")
    # The templates ship with the code: no stat() of the file before every page.
    app.state.templates.env.auto_reload = False
    return app
