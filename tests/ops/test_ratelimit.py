"""Rate limits: 429 with Retry-After over the limit, counted in the database for every process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from support.data import svc2004_path
from support.oauth_flow import Registered, new_identifier, register, sign_in
from support.server import LiveServer, run_server, settings_for
from support.signin import authorize_url, verify

from authature.config import RateLimits
from ops.servers import cluster_env, running

REDIRECT = "http://127.0.0.1:9/callback"
# Windows are fixed and aligned to the clock: with a one-day window a test is very unlikely to
# straddle two windows (which would restart the counts in the middle of it).
WINDOW = 86_400


@contextmanager
def _limited(tmp_path: Path, database_url: str, **limits: int) -> Iterator[LiveServer]:
    settings = settings_for(tmp_path, database_url)
    limits = {"window_seconds": WINDOW, **limits}
    settings = replace(settings, rate_limits=replace(RateLimits(), **limits))
    with run_server(settings) as server:
        yield server


def assert_rate_limited(r: httpx.Response, *, page: bool = False) -> None:
    assert r.status_code == 429, r.text
    assert re.fullmatch(r"[1-9]\d*", r.headers["retry-after"]), r.headers
    assert int(r.headers["retry-after"]) <= WINDOW
    if page:
        assert r.headers["content-type"].startswith("text/html")
        assert "temporarily_unavailable" in r.text or "Too many requests" in r.text
        return
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many requests; wait before trying again.",
    }


def test_token_endpoint_per_ip_limit_answers_429_with_retry_after(
    tmp_path: Path, database_url: str
) -> None:
    with _limited(tmp_path, database_url, token_per_ip=5) as server:
        with server.http() as http:
            answers = [http.post("/oauth/token", data={"code": "x"}) for _ in range(8)]
        assert [r.status_code for r in answers[:5]] == [401] * 5  # counted, then refused
        for r in answers[5:]:
            assert_rate_limited(r)


def test_requests_refused_before_client_authentication_count_too(
    tmp_path: Path, database_url: str
) -> None:
    with _limited(tmp_path, database_url, token_per_ip=3) as server, server.http() as http:
        malformed = [http.post("/oauth/token", json={"code": "x"}) for _ in range(3)]
        assert [r.status_code for r in malformed] == [400] * 3
        assert_rate_limited(http.post("/oauth/token", data={"code": "x"}))


def test_per_client_limit_counts_only_that_authenticated_client(
    tmp_path: Path, database_url: str
) -> None:
    with _limited(tmp_path, database_url, per_client=3) as server:
        busy, quiet = register(server), register(server)
        with server.http() as http:

            def exchange(client: Registered) -> httpx.Response:
                return http.post(
                    "/oauth/token",
                    auth=client.basic,
                    data={"grant_type": "authorization_code", "code": "nope"},
                )

            answers = [exchange(busy) for _ in range(5)]
            assert [r.status_code for r in answers[:3]] == [400] * 3
            for r in answers[3:]:
                assert_rate_limited(r)
            assert exchange(quiet).status_code == 400  # another client is not affected
            # A wrong secret is not counted against the client it names.
            wrong = http.post(
                "/oauth/token",
                auth=(quiet.client_id, "wrong"),
                data={"grant_type": "authorization_code", "code": "nope"},
            )
            assert wrong.status_code == 401
            assert exchange(quiet).status_code == 400


def test_signature_fetch_per_ip_limit(tmp_path: Path, database_url: str) -> None:
    with _limited(tmp_path, database_url, signature_per_ip=2) as server:
        client = register(server)
        with server.http() as http:
            answers = [
                http.get(f"/oauth/signatures/{'0' * 64}", auth=client.basic) for _ in range(4)
            ]
        assert [r.status_code for r in answers[:2]] == [400, 400]
        for r in answers[2:]:
            assert_rate_limited(r)


@pytest.mark.data
def test_verifications_per_identifier_are_limited_with_a_429_page(
    tmp_path: Path, database_url: str
) -> None:
    with _limited(tmp_path, database_url, verify_per_identifier=2) as server:
        client = register(server)
        identifier = new_identifier()
        with server.http() as http:
            done = sign_in(http, client.client_id, identifier=identifier, writer=2)
            assert done.status_code == 302
            url = authorize_url(client.client_id, REDIRECT)
            for sample in (4, 5):
                answer = verify(http, url, identifier, svc2004_path(2, sample))
                assert isinstance(answer, httpx.Response) and answer.status_code == 302
            refused = verify(http, url, identifier, svc2004_path(2, 6))
        assert isinstance(refused, httpx.Response)
        assert_rate_limited(refused, page=True)


@pytest.mark.data
def test_signature_posts_per_ip_are_limited(tmp_path: Path, database_url: str) -> None:
    with _limited(tmp_path, database_url, verify_per_ip=2) as server:
        client = register(server)
        with server.http() as http:
            url = authorize_url(client.client_id, REDIRECT)
            for _ in range(2):
                answer = verify(http, url, "nobody@example.com", svc2004_path(1, 1))
                assert not (isinstance(answer, httpx.Response) and answer.status_code == 429)
            refused = verify(http, url, "nobody@example.com", svc2004_path(1, 1))
        assert isinstance(refused, httpx.Response)
        assert_rate_limited(refused, page=True)


def test_the_counter_is_shared_by_two_server_processes(tmp_path: Path, database_url: str) -> None:
    env = cluster_env(
        tmp_path,
        database_url,
        AUTHATURE_RATE_LIMIT_TOKEN_PER_IP="6",
        AUTHATURE_RATE_LIMIT_WINDOW_SECONDS=str(WINDOW),
    )
    with running(env, tmp_path, count=2) as (a, b), a.http() as on_a, b.http() as on_b:
        answers = []
        for i in range(6):  # three on each process: all within the limit of six
            answers.append((on_a if i % 2 else on_b).post("/oauth/token", data={"code": "x"}))
        assert [r.status_code for r in answers] == [401] * 6
        assert_rate_limited(on_a.post("/oauth/token", data={"code": "x"}))
        assert_rate_limited(on_b.post("/oauth/token", data={"code": "x"}))


def test_two_processes_over_admit_at_most_one_batch_each(tmp_path: Path, database_url: str) -> None:
    """Limits of 200 and more are counted in each process and written in batches of 1 %
    (docs/operations.md): two processes together admit at most two batches over the limit."""
    env = cluster_env(
        tmp_path,
        database_url,
        AUTHATURE_RATE_LIMIT_TOKEN_PER_IP="300",  # batches of 3
        AUTHATURE_RATE_LIMIT_FLUSH_MS="10000",  # so that only full batches are written
        AUTHATURE_RATE_LIMIT_WINDOW_SECONDS=str(WINDOW),
    )
    with running(env, tmp_path, count=2) as (a, b), a.http() as on_a, b.http() as on_b:
        statuses = [
            (on_a if i % 3 else on_b).post("/oauth/token", data={"code": "x"}).status_code
            for i in range(340)
        ]
        assert set(statuses) == {401, 429}
        admitted = statuses.count(401)
        assert 300 <= admitted <= 300 + 2 * 3, admitted
        assert_rate_limited(on_a.post("/oauth/token", data={"code": "x"}))
        assert_rate_limited(on_b.post("/oauth/token", data={"code": "x"}))
