"""Expiry is right whatever the server's time zone: codes, tokens, pages and `expires`.

The server runs with the clock injected, as STYLE allows for time, and the local zone is switched
to one far from UTC for the whole test (server included: it runs in a thread of this process).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.oauth_flow import (
    REDIRECT,
    Registered,
    bearer,
    code_for,
    new_identifier,
    pkce_pair,
    register,
    shared_server,
)
from support.server import LiveServer
from support.signin import authorize_url, get_page, open_page

pytestmark = pytest.mark.data


class MovableClock:
    """UTC now, plus however far the test has moved it."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


@dataclass
class App:
    http: httpx.Client
    clock: MovableClock
    client: Registered


@pytest.fixture(scope="module", params=["America/New_York", "Asia/Kathmandu"])
def zone_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, MovableClock]]:
    """A server started and run in a local time zone far from UTC (Kathmandu is +05:45).

    The clock only moves forward, so tests sharing the server measure from their own start.
    """
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    assert time.timezone != 0
    clock = MovableClock()
    try:
        with shared_server(request, tmp_path_factory, clock) as server:
            yield server, clock
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.fixture
def app(zone_server: tuple[LiveServer, MovableClock]) -> Iterator[App]:
    server, clock = zone_server
    client = register(server, scopes="authenticate,openid")
    with server.http() as http:
        yield App(http, clock, client)


def _exchange(app: App, code: str, **form: str) -> dict[str, object]:
    r = app.http.post(
        "/oauth/token",
        auth=app.client.basic,
        data={"code": code, "redirect_uri": REDIRECT, **form},
    )
    body: dict[str, object] = {"status": r.status_code, **r.json()}
    return body


def _is_live(app: App, token: str) -> bool:
    r = app.http.get(
        "/oauth/token",
        params={"client_id": app.client.client_id, "scope": "authenticate"},
        headers=bearer(token),
    )
    return r.status_code == 200


def test_expires_is_utc_with_milliseconds_in_any_local_zone(app: App) -> None:
    code = code_for(app.http, app.client.client_id, scope="authenticate")
    before = app.clock.now()
    answer = _exchange(app, code)
    assert answer["status"] == 201
    token = answer["access_token"]
    assert isinstance(token, dict)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", token["expires"])
    expires = datetime.fromisoformat(token["expires"])
    assert timedelta(seconds=3595) < expires - before < timedelta(seconds=3605)


def test_standard_times_are_epoch_seconds_in_any_local_zone(app: App) -> None:
    verifier, challenge = pkce_pair()
    code = code_for(
        app.http,
        app.client.client_id,
        scope="openid authenticate",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    answer = _exchange(app, code, grant_type="authorization_code", code_verifier=verifier)
    assert answer["status"] == 200 and answer["expires_in"] == 3600
    intro = app.http.post(
        "/oauth/introspect", auth=app.client.basic, data={"token": str(answer["access_token"])}
    ).json()
    assert abs(intro["iat"] - app.clock.now().timestamp()) < 5
    assert intro["exp"] - intro["iat"] == 3600


def test_codes_expire_after_their_lifetime(app: App) -> None:
    """RFC 6749 4.1.2: a code lives at most 10 minutes (the default lifetime, 600 s)."""
    fresh = code_for(app.http, app.client.client_id, scope="authenticate")
    app.clock.advance(599)
    assert _exchange(app, fresh)["status"] == 201

    old = code_for(app.http, app.client.client_id, scope="authenticate")
    app.clock.advance(601)
    refused = _exchange(app, old)
    assert (refused["status"], refused["error"]) == (400, "invalid_grant")
    assert "expired" in str(refused["error_description"])


def test_access_tokens_expire_after_their_lifetime(app: App) -> None:
    code = code_for(app.http, app.client.client_id, scope="authenticate")
    answer = _exchange(app, code)
    token = answer["access_token"]
    assert isinstance(token, dict)
    app.clock.advance(3590)
    assert _is_live(app, token["token"])
    app.clock.advance(20)
    assert not _is_live(app, token["token"])
    intro = app.http.post(
        "/oauth/introspect", auth=app.client.basic, data={"token": token["token"]}
    )
    assert intro.json() == {"active": False}


def test_sign_in_pages_expire(app: App) -> None:
    page = open_page(app.http, authorize_url(app.client.client_id, REDIRECT, scope="authenticate"))
    assert page.status_code == 200
    app.clock.advance(1801)  # the default authorization request lifetime is 1800 s
    assert get_page(app.http, page.url).status_code == 404
    assert new_identifier()  # the helpers still work after the clock moved
