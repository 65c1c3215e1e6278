"""`web.fastpath`: `GET /oauth/token` answered before routing, exactly as the route answers.

The same requests go to the server as built (with the fast path) and to the same app without
it, on one database: status, headers, body and the request metrics must agree."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from support.server import settings_for

from authature.admin import ClientAdmin
from authature.oauth.ports import AccessTokenRecord
from authature.web.app import create_app
from authature.web.fastpath import TokenCheckFastPath
from authature.web.services import Services


def _is_fast_path(middleware: Middleware) -> bool:
    # Starlette annotates `Middleware.cls` with a protocol generic in the ParamSpec of the
    # constructor call, which mypy cannot relate to a class; the attribute holds the class
    # that was passed, so compare it as a plain object.
    cls: object = middleware.cls
    return cls is TokenCheckFastPath


def _without_fast_path(app: Starlette) -> Starlette:
    app.user_middleware = [m for m in app.user_middleware if not _is_fast_path(m)]
    app.middleware_stack = None  # rebuilt on the next request
    return app


def _counted(app: Starlette) -> list[str]:
    text = app.state.metrics.render().decode()
    return sorted(
        line
        for line in text.splitlines()
        if line.startswith(
            ("authature_http_requests_total{", "authature_http_request_duration_seconds_count{")
        )
    )


def _client_and_token(services: Services) -> tuple[str, str]:
    new = ClientAdmin(services.uow, services.keys).create(
        "Shop", ["http://127.0.0.1:9/cb"], ["capture,authenticate"], "test"
    )
    token = secrets.token_hex(32)
    now = datetime.now(UTC)
    with services.uow() as repos:
        user = repos.users.create("ada@example.com", "Ada", "Lovelace", None, now)
        repos.tokens.add_access(
            AccessTokenRecord(
                token_digest=services.keys.digest(token, "access_token"),
                client_pk=new.client.pk,
                user_pk=user.pk,
                scopes=("authenticate",),
                device_uid="d0",
                signature_pk=None,
                code_digest=None,
                family=secrets.token_hex(16),
                created_at=now,
                expires_at=now + timedelta(hours=1),
                revoked_at=None,
            )
        )
    return new.client.client_id, token


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_fast_path_answers_as_the_route_does(
    tmp_path: Path, database_url: str, method: str
) -> None:
    settings = settings_for(tmp_path, database_url)
    fast = create_app(settings)
    assert any(_is_fast_path(m) for m in fast.user_middleware)
    slow = _without_fast_path(create_app(settings))
    services = fast.state.services
    client_id, token = _client_and_token(services)
    requests: list[tuple[str, dict[str, str]]] = [
        (f"/oauth/token?client_id={client_id}&scope=authenticate", {}),
        (f"/oauth/token?client_id={client_id}", {"Authorization": "Bearer " + "0" * 64}),
        (f"/oauth/token?client_id={client_id}", {"Authorization": "Basic abc"}),
        (f"/oauth/token?client_id={client_id}&access_token=x", {}),
        (f"/oauth/token?client_id={client_id}&client_id=b", {"Authorization": "Bearer x"}),
        ("/oauth/token", {"Authorization": "Bearer x"}),
        ("/oauth/token?scope=%ZZ&client_id=", {"Authorization": "Bearer x"}),
        ("/oauth/token/", {"Authorization": "Bearer x"}),
    ]
    live = {"Authorization": f"Bearer {token}"}
    requests += [
        (f"/oauth/token?client_id={client_id}&scope=authenticate", live),
        (f"/oauth/token?client_id={client_id}&scope=capture", live),
        (f"/oauth/token?client_id={client_id}&scope=openid", live),
        ("/oauth/token?client_id=other&scope=authenticate", live),
        (f"/oauth/token?client_id={client_id}&device_uid=d1", live),
    ]
    try:
        # A thread of its own: an earlier test (the browser ones) may leave a loop running here.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _compare(fast, slow, method, requests)).result()
    finally:
        fast.state.services.database.engine.dispose()
        slow.state.services.database.engine.dispose()
    assert _counted(fast) == _counted(slow)
    assert any('route="/oauth/token",status="200"' in line for line in _counted(fast))


async def _compare(
    fast: Starlette, slow: Starlette, method: str, requests: list[tuple[str, dict[str, str]]]
) -> None:
    base = "http://testserver"
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url=base) as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=slow), base_url=base) as b,
    ):
        for url, headers in requests:
            ra = await a.request(method, url, headers=headers)
            rb = await b.request(method, url, headers=headers)
            assert (ra.status_code, ra.content) == (rb.status_code, rb.content), url
            assert ra.headers.multi_items() == rb.headers.multi_items(), url


def _add_token(
    services: Services, client_pk: int, user_pk: int, scopes: tuple[str, ...], expires_in: int
) -> str:
    token = secrets.token_hex(32)
    now = datetime.now(UTC)
    with services.uow() as repos:
        repos.tokens.add_access(
            AccessTokenRecord(
                token_digest=services.keys.digest(token, "access_token"),
                client_pk=client_pk,
                user_pk=user_pk,
                scopes=scopes,
                device_uid=None,
                signature_pk=None,
                code_digest=None,
                family=secrets.token_hex(16),
                created_at=now,
                expires_at=now + timedelta(seconds=expires_in),
                revoked_at=None,
            )
        )
    return token


@pytest.mark.parametrize("inline", [False, True], ids=["threads", "inline"])
def test_concurrent_checks_share_statements_and_see_every_change_at_once(
    tmp_path: Path, database_url: str, inline: bool
) -> None:
    """Concurrent checks are looked up together (`web.tokenbatch`), with database calls in
    threads or inline; each still gets its own answer, the route's, and a revocation, a
    disabled client or a removed scope written by another process is refused by the next
    batch. (A refused token is a 400 here, SPEC 3.3.)"""
    settings = replace(settings_for(tmp_path, database_url), inline_database_calls=inline)
    fast = create_app(settings)
    slow = _without_fast_path(create_app(settings))
    other = create_app(settings).state.services  # another process: its own pool
    services = fast.state.services
    admin = ClientAdmin(services.uow, services.keys)
    shop = admin.create("Shop", ["http://127.0.0.1:9/cb"], ["capture,authenticate"], "t").client
    gone = admin.create("Gone", ["http://127.0.0.1:9/cb"], ["authenticate"], "t").client
    with services.uow() as repos:
        user = repos.users.create("ada@example.com", "Ada", "Lovelace", None, datetime.now(UTC))
    both = ("capture", "authenticate")
    live = _add_token(services, shop.pk, user.pk, both, 3600)
    revoked = _add_token(services, shop.pk, user.pk, both, 3600)
    expired = _add_token(services, shop.pk, user.pk, both, -1)
    of_gone = _add_token(services, gone.pk, user.pk, ("authenticate",), 3600)
    checks = [
        (f"/oauth/token?client_id={cid}&scope={scope}", {"Authorization": f"Bearer {token}"})
        for token in (live, revoked, expired, of_gone, "f" * 64)
        for cid in (shop.client_id, gone.client_id)
        for scope in ("authenticate", "capture")
    ]
    checks += [(f"/oauth/token?client_id={shop.client_id}", {"Authorization": "Basic x"})]

    async def run() -> None:
        base = "http://testserver"
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url=base) as a,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=slow), base_url=base) as b,
        ):

            async def compare(expected: dict[str, int]) -> None:
                answers = await asyncio.gather(*(a.get(u, headers=h) for u, h in checks * 3))
                for (url, headers), answer in zip(checks * 3, answers, strict=True):
                    one = await b.get(url, headers=headers)
                    assert (answer.status_code, answer.content) == (one.status_code, one.content)
                    assert answer.headers.multi_items() == one.headers.multi_items()
                statuses = {
                    f"{u}|{h['Authorization']}": r.status_code
                    for (u, h), r in zip(checks, answers, strict=False)
                }
                for key, status in expected.items():
                    assert statuses[key] == status, key

            def key(token: str, client_id: str, scope: str) -> str:
                return f"/oauth/token?client_id={client_id}&scope={scope}|Bearer {token}"

            await compare(
                {
                    key(live, shop.client_id, "capture"): 200,
                    key(revoked, shop.client_id, "authenticate"): 200,
                    key(of_gone, gone.client_id, "authenticate"): 200,
                    key(expired, shop.client_id, "authenticate"): 400,
                }
            )
            # Written through another process's services, then checked at once here.
            with other.uow() as repos:
                now = datetime.now(UTC)
                repos.tokens.revoke_access(other.keys.digest(revoked, "access_token"), now)
            ClientAdmin(other.uow, other.keys).disable(gone.client_id)
            ClientAdmin(other.uow, other.keys).update(shop.client_id, scopes=["authenticate"])
            await compare(
                {
                    key(live, shop.client_id, "authenticate"): 200,
                    key(live, shop.client_id, "capture"): 400,
                    key(revoked, shop.client_id, "authenticate"): 400,
                    key(of_gone, gone.client_id, "authenticate"): 400,
                }
            )

    try:
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, run()).result()
        fast_path = _fast_path(fast)
        # 2 x 3 x 21 checks of 5 tokens (one without a bearer token): far fewer statements.
        assert 0 < fast_path.batcher.batches < 60, fast_path.batcher.batches
    finally:
        for app_services in (services, slow.state.services, other):
            app_services.database.engine.dispose()
    assert _counted(fast) == _counted(slow)


def _fast_path(app: Starlette) -> TokenCheckFastPath:
    """The app's `TokenCheckFastPath` instance (Starlette builds the middleware on use)."""
    layer = app.middleware_stack
    while layer is not None and not isinstance(layer, TokenCheckFastPath):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, TokenCheckFastPath)
    return layer
