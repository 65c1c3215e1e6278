"""Prometheus metrics at `/metrics`: requests, signature verifications and lockouts.

With several worker processes (`authature serve --workers N`) the CLI points
`PROMETHEUS_MULTIPROC_DIR` at a fresh folder before the workers start; prometheus-client then keeps
each process's values in files there and `/metrics` adds them up, whichever worker answers. With
one process the values live in that process (and restart at zero with it).

- `authature_http_requests_total{method, route, status}` and
  `authature_http_request_duration_seconds{method, route}`: `route` is the route template
  (`/oauth/signatures/{token}`), never the raw path, so tokens never become label values;
- `authature_signature_verifications_total{outcome}` (accepted, rejected, replay) and
  `authature_signature_verification_seconds{outcome}`: the verifier's own time;
- `authature_lockouts_total`: users locked after too many refused signatures.

Who may read them: with `AUTHATURE_METRICS_TOKEN` set, a request carrying
`Authorization: Bearer <that token>` (compared in constant time; RFC 6750 2.1 and 3 for the
header and the 401 challenge); without it, only clients on a loopback address (403 otherwise).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authature.oauth import errors
from authature.oauth.ports import Repos
from authature.store.db import is_database_unreachable

__all__ = ["Metrics", "MetricsMiddleware", "MetricsObserver", "metrics_endpoint"]

_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CACHED_LABELS = 1000  # label sets whose children are kept (methods come from clients)
_VERIFY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The metric objects of one app. Each app gets its own registry, so tests that build many
    apps in one process do not collide; in multiprocess mode values go to the shared folder."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = CollectorRegistry(auto_describe=True)
        registry = None if self.multiprocess_dir else self.registry
        self.requests = Counter(
            "authature_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "authature_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.verifications = Counter(
            "authature_signature_verifications",
            "Signature verification decisions: accepted, rejected or replay.",
            ["outcome"],
            registry=registry,
        )
        self.verification_seconds = Histogram(
            "authature_signature_verification_seconds",
            "Time the verifier took for one signature.",
            ["outcome"],
            buckets=_VERIFY_BUCKETS,
            registry=registry,
        )
        self.lockouts = Counter(
            "authature_lockouts",
            "Users locked after too many refused signatures.",
            registry=registry,
        )

        # labels() takes a lock and validates the values on every call; its children are
        # the same objects each time, so each (method, route, status) is looked up once.
        self._answered: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def answered(self, method: str, route: str, status: str, seconds: float) -> None:
        """One HTTP answer: the request counter and the duration histogram."""
        key = (method, route, status)
        children = self._answered.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, status),
                self.request_seconds.labels(method, route),
            )
            if len(self._answered) < _CACHED_LABELS:
                self._answered[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                registry, path=self.multiprocess_dir
            )
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsObserver:
    """The sign-in flow's observer (see `signin.flow.FlowObserver`): counts decisions."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def before_verify(self, repos: Repos, identifier: str) -> None:
        return None

    def verified(self, outcome: str, seconds: float, locked: bool) -> None:
        self.metrics.verifications.labels(outcome).inc()
        self.metrics.verification_seconds.labels(outcome).observe(seconds)
        if locked:
            self.metrics.lockouts.inc()


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    mount = scope.get("root_path", "") if getattr(route, "routes", None) is None else ""
    return f"{mount}{path}" or "/"


class MetricsMiddleware:
    """Counts every HTTP answer by route template and status (pure ASGI: bodies untouched)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:
            # Answered outside this middleware by the app's last-resort handler: as it does,
            # count an unreachable database as 503, anything else as 500.
            status = 503 if is_database_unreachable(exc) else 500
            raise
        finally:
            seconds = time.perf_counter() - started
            self.metrics.answered(
                str(scope["method"]), _route_template(scope), str(status), seconds
            )


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_reader(request: Request) -> None:
    """Raise unless the request may read the metrics (see the module docstring)."""
    token: str | None = request.app.state.services.settings.metrics_token
    if token is None:
        if not _is_loopback(request.client.host if request.client else None):
            raise errors.access_denied(
                "The metrics answer only clients on this machine; set AUTHATURE_METRICS_TOKEN "
                "to read them from elsewhere with Authorization: Bearer."
            )
        return
    header = request.headers.get("authorization")
    scheme, _, sent = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
        # RFC 6750 3.1: 401 with the challenge; the error code only when a token was sent.
        error = errors.OAuthError(
            "invalid_token", "Send Authorization: Bearer with the metrics token.", 401
        )
        challenge = 'Bearer realm="metrics"'
        if header is not None:
            challenge += ', error="invalid_token"'
        error.headers["WWW-Authenticate"] = challenge
        raise error


def metrics_endpoint(request: Request) -> Response:
    _check_reader(request)
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
