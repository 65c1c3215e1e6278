"""Rate limits shared by every server process: fixed-window counters in the database.

Three places count (limits in `config.RateLimits`, 0 = off):

Hits are counted in the process and written to the shared counters in short batches
(`web.ratebuffer`, which states the bound on over-admission); limits under 200 write every hit.

- per IP address (`RateLimitMiddleware`): `POST /oauth/token`, the signature fetch
  (`/oauth/signatures/<token>`, `/oauth/signature`) and the payment capture are counted in the
  same transaction as the client's hit (below), or after the answer if the request failed before
  client authentication;
  the sign-in pages' signature POSTs and the (bearer) payment pre-authorization are counted
  before the route runs;
- per client, once the client has authenticated (`LimitedOAuthServer.authenticate`): so that
  nobody can spend another client's allowance by naming it;
- per identifier, in the sign-in step's own transaction just before the verifier runs
  (`LimitObserver.before_verify`).

Over a limit the answer is RFC 6585 `429` with `Retry-After` and the usual error body
(`errors.rate_limited`): JSON, or the error page on the sign-in pages. Token verification
(`GET /oauth/token`) is not counted: it is the resource servers' hot path, a read, and guessing a
256-bit token is hopeless. Subjects are stored as keyed digests, never as addresses or e-mails.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from authature.config import RateLimits
from authature.oauth import errors
from authature.oauth.ports import ClientRecord, Repos
from authature.oauth.server import OAuthServer
from authature.security.keys import Keys
from authature.signin.flow import FlowObserver
from authature.store.db import Database
from authature.store.ratelimits import Count, SqlRateLimitStore
from authature.web.ratebuffer import HitBuffer

__all__ = ["LimitObserver", "LimitedOAuthServer", "RateLimitMiddleware", "RateLimiter"]

_CLEANUP_CHANCE = 0.01  # about one write in a hundred deletes the counters of ended windows


@dataclass(frozen=True)
class _Rule:
    name: str
    limit: int


class RateLimiter:
    """Counts hits on (rule, subject) keys and refuses those over the limit.

    Counts are shared by every process through the database, written in short batches
    (`web.ratebuffer`: the bound on over-admission is there).
    """

    def __init__(
        self,
        database: Database,
        keys: Keys,
        limits: RateLimits,
        now_seconds: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.keys = keys
        self.limits = limits
        self.now_seconds = now_seconds
        self.buffer = HitBuffer(limits.flush_ms / 1000)

    def _key(self, rule: str, subject: str) -> str:
        return f"{rule}:{self.keys.digest(subject, 'rate_limit:' + rule)[:40]}"

    def check(self, connection: Connection, hits: Mapping[str, tuple[int, str]]) -> None:
        """Count `{rule: (limit, subject)}`; raise `rate_limited` if one is over.

        A write that is due runs in the caller's transaction (on SQLite a second transaction
        would wait for the write lock this one may already hold), for these keys only: if the
        caller rolls back, other requests' hits are not lost with it.
        """
        self._decide(hits, connection)

    def check_alone(self, hits: Mapping[str, tuple[int, str]]) -> None:
        """`check`, with a write that is due in a transaction of its own."""
        self._decide(hits, None)

    def _decide(self, hits: Mapping[str, tuple[int, str]], connection: Connection | None) -> None:
        active = {rule: v for rule, v in hits.items() if v[0] > 0}
        if not active:
            return
        now = self.now_seconds()
        window = self.limits.window_seconds
        window_end = (int(now) // window + 1) * window
        limits = {self._key(rule, subject): limit for rule, (limit, subject) in active.items()}
        totals, due = self.buffer.count(limits, window_end, now)
        if due:
            self._write(connection, now, limits if connection is not None else None)
            totals = self.buffer.totals(limits)
        if any(totals[key] > limit for key, limit in limits.items()):
            raise errors.rate_limited(max(1, int(window_end - now + 0.999)))

    def _write(self, connection: Connection | None, now: float, only: Any) -> None:
        taken = self.buffer.take(now, only)
        if not taken:
            return
        try:
            if connection is not None:
                counts = self._add(connection, taken, now)
            else:
                with self.database.begin() as own:
                    if own.dialect.name == "postgresql":
                        # Losing the last few counts in a database crash is harmless; waiting
                        # for an fsync on every write is not.
                        own.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    counts = self._add(own, taken, now)
        except BaseException:
            self.buffer.restore(taken)
            raise
        self.buffer.settle(taken, counts)

    def _add(
        self, connection: Connection, taken: Mapping[str, tuple[int, int]], now: float
    ) -> list[Count]:
        store = SqlRateLimitStore(connection)
        counts = store.add(taken)
        if random.random() < _CLEANUP_CHANCE:  # noqa: S311 - not a secret
            store.forget_ended(int(now))
        return counts


@dataclass
class _PendingHit:
    """A per-IP hit the middleware left for `authenticate` to count with the client's, so that
    an authenticated call costs one counting transaction instead of two."""

    rule: _Rule
    ip: str
    counted: bool = False

    def take(self) -> dict[str, tuple[int, str]]:
        if self.counted:
            return {}
        self.counted = True
        return {self.rule.name: (self.rule.limit, self.ip)}


_pending_hit: ContextVar[_PendingHit | None] = ContextVar("authature_pending_hit", default=None)


class LimitedOAuthServer(OAuthServer):
    """The OAuth engine with a per-client limit on every client-authenticated call."""

    limiter: RateLimiter | None = None

    def authenticate(
        self, authorization: str | None, form: Mapping[str, str], *, allow_public: bool = True
    ) -> ClientRecord:
        pending = _pending_hit.get()
        try:
            client = super().authenticate(authorization, form, allow_public=allow_public)
        except errors.OAuthError:
            if self.limiter is not None and pending is not None:
                self.limiter.check_alone(pending.take())  # over the limit: 429, not 401
            raise
        if self.limiter is not None:
            hits = {"client": (self.limiter.limits.per_client, client.client_id)}
            self.limiter.check_alone(hits | (pending.take() if pending else {}))
        return client


class LimitObserver:
    """The sign-in flow's hook: a per-identifier limit on verifications, then the metrics."""

    def __init__(self, limiter: RateLimiter, then: FlowObserver | None = None) -> None:
        self.limiter = limiter
        self.then = then  # another observer (metrics), or None

    def before_verify(self, repos: Repos, identifier: str) -> None:
        connection = getattr(repos, "connection", None)  # SqlRepos: this step's transaction
        if isinstance(connection, Connection):
            limit = self.limiter.limits.verify_per_identifier
            self.limiter.check(connection, {"verify-identifier": (limit, identifier)})
        if self.then is not None:
            self.then.before_verify(repos, identifier)

    def verified(self, outcome: str, seconds: float, locked: bool) -> None:
        if self.then is not None:
            self.then.verified(outcome, seconds, locked)


# Rules whose requests never reach client authentication: counted before the route runs.
_COUNTED_BEFORE = frozenset({"verify-ip", "payment-authorize-ip"})


def _ip_rule(method: str, path: str, limits: RateLimits) -> _Rule | None:
    if path == "/oauth/token":
        return _Rule("token-ip", limits.token_per_ip) if method == "POST" else None
    if path == "/oauth/signature" or path.startswith("/oauth/signatures/"):
        return _Rule("signature-ip", limits.signature_per_ip)
    if method == "POST" and path == "/api/v2/payment/authorize":
        return _Rule("payment-authorize-ip", limits.payment_per_ip)  # bearer: counted before
    if method == "POST" and path.startswith("/api/v2/payment/capture/"):
        return _Rule("payment-capture-ip", limits.payment_per_ip)  # with the client's hit
    if method == "POST" and path.startswith("/signin/") and path.endswith("/signature"):
        return _Rule("verify-ip", limits.verify_per_ip)
    return None


class RateLimitMiddleware:
    """Per-IP limits, counted before the route runs (pure ASGI, so bodies are not touched)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, on_error: Any, call: Any) -> None:
        self.app = app
        self.limiter = limiter
        self.on_error = on_error  # app.handle_oauth_error: page or JSON, like every error
        self.call = call  # Services.call

    async def _count(self, hits: dict[str, tuple[int, str]]) -> None:
        await self.call(self.limiter.check_alone, hits)  # Services.call: inline or threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = None
        if scope["type"] == "http":
            rule = _ip_rule(scope["method"], scope["path"], self.limiter.limits)
        if rule is None or rule.limit <= 0:
            await self.app(scope, receive, send)
            return
        ip = str((scope.get("client") or ("unknown", 0))[0])
        if rule.name not in _COUNTED_BEFORE:
            # Token and signature endpoints: `authenticate` counts this hit together with the
            # client's; a request that never gets that far is counted once it is answered.
            pending = _PendingHit(rule, ip)
            token = _pending_hit.set(pending)
            try:
                await self.app(scope, receive, send)
            finally:
                _pending_hit.reset(token)
                if not pending.counted:
                    with contextlib.suppress(errors.OAuthError):
                        await self._count(pending.take())
            return
        try:
            await self._count({rule.name: (rule.limit, ip)})
        except errors.OAuthError as exc:
            response = await self.on_error(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
