"""`GET /oauth/token` (SPEC 3.3) as a pure ASGI app in front of Starlette's routing.

Token verification is the resource servers' hot path: a request costs about 0.2 ms of server
CPU, and Starlette's middleware chain, routing, `Request`, `Headers` and `QueryParams` objects
were a fifth of it (docs/benchmarks.md). This middleware answers that one method and path
itself with exactly what the route would answer:

- the same parameters (`single_query`: repeated ones refused, parsed as Starlette parses them),
  the same bearer rules (`oauth_routes.bearer_token`) and the same checks as the route's
  `OAuthServer.verify_token`, with the lookups of concurrent requests in one statement
  (`web.tokenbatch`);
- the same answers: the route's 200 (one prebuilt response, as every 200 is the same bytes),
  and OAuth errors through `app.handle_oauth_error` (JSON for this path);
- the same metrics (`authature_http_requests_total` and the duration histogram under the route
  template `/oauth/token`, status 500 when an exception escapes);
- anything unexpected propagates to Starlette's outermost `ServerErrorMiddleware`, which this
  sits inside, so `app.handle_unexpected` answers (500, or 503 with Retry-After) as before.

This path is not rate limited (see `web.ratelimit`), and the access log is uvicorn's, as for
every request. Other methods (a POST is the code exchange) and every other path go on to
Starlette unchanged; so do all requests in maintenance mode (`AUTHATURE_MAINTENANCE`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from authature.oauth import errors
from authature.store.db import is_database_unreachable
from authature.web.forms import single_items
from authature.web.metrics import Metrics
from authature.web.oauth_routes import TOKEN_OK, bearer_token
from authature.web.responses import json_response
from authature.web.services import Services
from authature.web.tokenbatch import TokenBatcher

__all__ = ["TokenCheckFastPath"]

_PATH = "/oauth/token"
_METHODS = frozenset({"GET", "HEAD"})  # Starlette's GET routes answer HEAD too


class TokenCheckFastPath:
    def __init__(
        self,
        app: ASGIApp,
        services: Services,
        on_error: Callable[[Request, Exception], Awaitable[Response]],
    ) -> None:
        self.app = app
        self.services = services
        self.on_error = on_error  # app.handle_oauth_error
        self.metrics: Metrics | None = services.metrics
        self.ok = json_response(TOKEN_OK)  # sent as is every time: nothing in it changes
        # The checks of one event-loop turn share a statement (`web.tokenbatch`).
        self.batcher = TokenBatcher(
            services.oauth.check_tokens, services.threaded, inline=services.inline
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _METHODS
            or get_route_path(scope) != _PATH
        ):
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        if metrics is None:
            await self._answer(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        try:
            status = await self._answer(scope, receive, send)
        except Exception as exc:  # answered by the app's last-resort handler, as in metrics.py
            status = 503 if is_database_unreachable(exc) else 500
            raise
        finally:
            seconds = time.perf_counter() - started
            metrics.answered(str(scope["method"]), _PATH, str(status), seconds)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> int:
        response: Response = self.ok
        try:
            query = single_items(
                parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            )
            token = bearer_token(_header(scope, b"authorization"), query)
            oauth = self.services.oauth
            question = oauth.token_question(token, query)
            oauth.judge_token(question, await self.batcher.check(question))
        except errors.OAuthError as exc:
            response = await self.on_error(Request(scope, receive), exc)
        await response(scope, receive, send)
        return response.status_code


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header, as `Request.headers.get` gives it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
