"""`web.fastpath`: `GET /oauth/token` answered before routing, exactly as the route answers.

The same requests go to the server as built (with the fast path) and to the same app without
it, on one database: status, headers, body and the request metrics must agree."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from support.server import settings_for

from authature.admin import ClientAdmin
from authature.oauth.ports import AccessTokenRecord
from authature.web.app import create_app
from authature.web.fastpath import TokenCheckFastPath
from authature.web.services import Services


def _without_fast_path(app: Starlette) -> Starlette:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not TokenCheckFastPath]
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
    assert any(m.cls is TokenCheckFastPath for m in fast.user_middleware)
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
