"""Everything a request handler needs, built once by `create_app` from the settings."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from authature.biometrics.verifier import Verifier
from authature.config import Settings
from authature.oauth.oidc import OpenIDProvider
from authature.oauth.ports import Clock
from authature.oauth.server import OAuthServer
from authature.oauth.token import TokenPolicy
from authature.payments.service import PaymentService, bank_gateway_for
from authature.security.keys import Keys, load_keys
from authature.security.signing import load_signing_key
from authature.signin.flow import FlowPolicy, SignInFlow
from authature.store.db import Database, create_database, upgrade
from authature.store.repositories import SqlUnitOfWork
from authature.web.metrics import Metrics, MetricsObserver
from authature.web.ratelimit import LimitedOAuthServer, LimitObserver, RateLimiter

T = TypeVar("T")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    database: Database
    uow: SqlUnitOfWork
    keys: Keys
    oauth: OAuthServer
    flow: SignInFlow
    verifier: Verifier
    issuer: str
    limiter: RateLimiter
    metrics: Metrics | None
    payments: PaymentService
    threads: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        # No more database calls in threads than pooled connections: beyond them the pool
        # opens an overflow connection per call and closes it after (with PostgreSQL, a new
        # server process each time), which cost more than the calls under load.
        self.threads = ThreadPoolExecutor(self.database.pool_size, "authature-db")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking service call inline on the event loop, or in a worker thread.

        AUTHATURE_DATABASE_CALLS=inline|threads; by default inline with SQLite and in threads
        with PostgreSQL. An SQLite call takes a fraction of a millisecond and its transactions
        run one at a time anyway (see `store.db`): handing it to a thread and back cost more CPU
        than the call (1.9 vs 1.1 ms per token verification in one worker here). PostgreSQL
        calls wait on the network, which threads overlap; with the database on the same
        machine, inline is faster there too (docs/benchmarks.md).
        """
        if self.inline:
            return fn(*args)
        return await self.threaded(fn, *args)

    @property
    def inline(self) -> bool:
        """Whether `call` runs database calls on the event loop (see `call`)."""
        inline = self.settings.inline_database_calls
        return bool(inline or (inline is None and self.database.is_sqlite))

    async def threaded(self, fn: Callable[..., T], *args: Any) -> T:
        """A blocking call in a worker thread, whatever the database (CPU-heavy work too).

        The event loop's own executor hand-off with the caller's context variables (as
        `asyncio.to_thread` does; the rate limiter reads one): anyio's `to_thread`, with its
        capacity limiter and cancel scope, cost about as much Python as a token check. The
        executor's size caps the calls in threads at the pool size. A cancelled request does
        not stop its call: the call finishes (commits or rolls back) in its thread.
        """
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, functools.partial(context.run, fn, *args))


def build_services(
    settings: Settings, *, migrate: bool = True, issuer: str = "", clock: Clock | None = None
) -> Services:
    """`clock` is for tests that move time; the server itself always runs on `SystemClock`."""
    database = create_database(settings.database_url)
    if migrate:
        upgrade(database)
    keys = load_keys(settings)
    uow = SqlUnitOfWork(database)
    clock = clock or SystemClock()
    issuer = settings.issuer or issuer
    oidc = OpenIDProvider(
        issuer=issuer,
        key=load_signing_key(settings),
        hasher=keys,
        id_token_lifetime=timedelta(seconds=settings.access_token_lifetime_seconds),
    )
    oauth = LimitedOAuthServer(
        uow,
        keys,
        clock,
        code_lifetime=timedelta(seconds=settings.code_lifetime_seconds),
        policy=TokenPolicy(
            access_lifetime=timedelta(seconds=settings.access_token_lifetime_seconds),
            refresh_lifetime=timedelta(seconds=settings.refresh_token_lifetime_seconds),
        ),
        oidc=oidc,
        issuer=issuer,
    )
    limiter = RateLimiter(database, keys, settings.rate_limits)
    oauth.limiter = limiter
    metrics = Metrics() if settings.metrics else None
    observer = LimitObserver(limiter, then=MetricsObserver(metrics) if metrics else None)
    verifier = Verifier(threshold=settings.verify_threshold, enroll_samples=settings.enroll_samples)
    payments = PaymentService(
        oauth, keys, clock, bank_gateway_for(settings.payments), settings.payments
    )
    flow = SignInFlow(
        uow,
        oauth,
        keys,
        clock,
        verifier,
        FlowPolicy(
            enroll_samples=settings.enroll_samples,
            request_lifetime=timedelta(seconds=settings.authorize_request_lifetime_seconds),
            lockout_failures=settings.lockout_failures,
            lockout_window=timedelta(seconds=settings.lockout_window_seconds),
            lockout_duration=timedelta(seconds=settings.lockout_seconds),
            max_references=settings.max_references,
            issuer=issuer,
        ),
        observer=observer,
        payments=payments,
    )
    return Services(
        settings, database, uow, keys, oauth, flow, verifier, issuer, limiter, metrics, payments
    )
