"""End to end in headless Chromium: real SVC2004 signatures replayed as pen events, with their own
timing and pressure, through the real signing page, against a client created with the CLI.

The client application itself is the only thing not run for real: its redirect URI is answered by
Playwright (page.route) so the test can read the code, and its back end is this test, which uses
plain HTTP for the documented exchange and Authlib's OAuth2Session for the standard one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session
from replay import load_svc2004_strokes, replay_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from support.data import svc2004_path
from support.server import LiveServer, run_server, serve_app, settings_for
from support.svg_shape import check_svg_shape

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.data]


def _cli(server: LiveServer, *args: str) -> str:
    env = {
        **os.environ,
        "AUTHATURE_DATA_DIR": str(server.settings.data_dir),
        "AUTHATURE_DATABASE_URL": server.settings.database_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "authature.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


class Shop:
    """The client application's redirect endpoint: a real server that records what arrives."""

    def __init__(self) -> None:
        self.results: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.app = Starlette(routes=[Route("/callback", self._callback)])

    def _callback(self, request: Request) -> Response:
        self.urls.append(str(request.url))
        self.results.append(dict(request.query_params))
        return HTMLResponse("<p>Back at the shop</p>")


@pytest.fixture
def shop() -> Iterator[tuple[Shop, str]]:
    app = Shop()
    with serve_app(app.app) as port:
        yield app, f"http://127.0.0.1:{port}/callback"


def _sign(page: Page, user: int, sample: int) -> None:
    canvas = page.get_by_test_id("signature-pad")
    box = canvas.bounding_box()
    assert box is not None, "the pad is not rendered"
    strokes = load_svc2004_strokes(svc2004_path(user, sample), box=(box["width"], box["height"]))
    replay_signature(page, canvas, strokes, pointer="pen")
    with page.expect_navigation():
        page.get_by_test_id("submit-signature").click()


def _identify(page: Page, url: str, identifier: str) -> None:
    page.goto(url)
    page.locator("input[name=identifier]").fill(identifier)
    with page.expect_navigation():
        page.get_by_test_id("continue").click()


def _scores(server: LiveServer) -> list[tuple[bool, float | None]]:
    """The audit trail of decisions (score, outcome), to say why a test failed."""
    from sqlalchemy import select

    from authature.store import models

    with server.services.database.transaction() as session:
        rows = session.execute(
            select(models.VerificationAttempt.accepted, models.VerificationAttempt.score)
        ).all()
    return [(bool(a), s) for a, s in rows]


def _status(page: Page) -> str:
    return str(page.get_by_test_id("status").inner_text())


# A stricter operating point than the default (docs/biometrics.md: threshold +2 buys about 2.6 %
# skilled FAR and 28 % FRR on Task 2). At the default 0 this test failed in 2 of about 10 runs:
# a replayed skilled forgery of this writer scored +0.09, just over the line (the audit trail
# is printed when the count of refusals is wrong). Genuine S11 scores about +4.6 to +5.8.
STRICT_THRESHOLD = 2.0


@pytest.fixture
def strict_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with run_server(
        replace(settings_for(tmp_path, database_url), verify_threshold=STRICT_THRESHOLD)
    ) as server:
        yield server


def test_enroll_verify_and_refuse_a_forger_in_a_real_browser(
    strict_server: LiveServer, page: Page, shop: tuple[Shop, str]
) -> None:
    live_server = strict_server
    shop_app, callback = shop
    created = json.loads(
        _cli(
            live_server,
            "clients",
            "create",
            "--name",
            "Browser Shop",
            "--description",
            "Sells things",
            "--redirect-uri",
            callback,
            "--scopes",
            "capture,authenticate",
            "--json",
        )
    )
    assert set(created) == {"client_id", "client_secret"}
    client_id, secret = created["client_id"], created["client_secret"]
    requests_seen: list[str] = []
    page.on("request", lambda r: requests_seen.append(r.url))

    # 1. A new user enrolls with three genuine signatures of SVC2004 Task 2 user 1.
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": callback,
            "response_type": "code",
            "state": "s-1",
            "scope": "authenticate capture",
            "device_uid": "phone-1",
            "user_params[identifier]": "writer1@example.com",
            "user_params[first_name]": "Wri",
        }
    )
    page.goto(f"{live_server.base_url}/oauth/authorize?{query}")
    assert page.get_by_role("heading", name="Browser Shop", exact=True).is_visible()
    assert "Sells things" in page.content()
    assert page.locator("input[name=identifier]").input_value() == "writer1@example.com"
    with page.expect_navigation():
        page.get_by_test_id("continue").click()
    assert page.locator("input[name=first_name]").input_value() == "Wri"
    page.locator("input[name=first_name]").fill("Writer")
    page.locator("input[name=last_name]").fill("One")
    assert _status(page) == "Signature 1 of 3"
    _sign(page, 1, 1)
    assert _status(page) == "Signature 2 of 3"
    _sign(page, 1, 2)
    assert _status(page) == "Signature 3 of 3"
    _sign(page, 1, 3)
    assert len(shop_app.results) == 1, _status(page)
    first = shop_app.results[0]
    assert first["state"] == "s-1" and re.fullmatch(r"[0-9a-f]{32}", first["code"])
    assert first["iss"] == live_server.base_url

    # The client exchanges the code in the documented shape, checks the token, fetches the image.
    with httpx.Client(base_url=live_server.base_url, auth=(client_id, secret)) as http:
        exchange = http.post(
            "/oauth/token",
            data={
                "client_id": client_id,
                "redirect_uri": callback,
                "code": first["code"],
                "state": "s-1",
            },
        )
        assert exchange.status_code == 201, exchange.text
        token = exchange.json()["access_token"]
        assert token["user"] == {
            "first_name": "Writer",
            "last_name": "One",
            "identifier": "writer1@example.com",
        }
        bearer = {"Authorization": f"Bearer {token['token']}"}
        check = httpx.get(
            f"{live_server.base_url}/oauth/token",
            params={"client_id": client_id, "scope": "capture", "device_uid": "phone-1"},
            headers=bearer,
        )
        assert check.json() == {"status": "ok"}
        image = http.get(f"/oauth/signatures/{token['token']}")
        assert image.status_code == 200
        check_svg_shape(base64.b64decode(image.json()["image_data"]).decode())

    # 2. A second visit: one genuine signature from the later session, standard OAuth via Authlib.
    session = OAuth2Session(
        client_id,
        secret,
        redirect_uri=callback,
        scope="authenticate capture",
        code_challenge_method="S256",
    )
    verifier = "v" * 64
    url, state = session.create_authorization_url(
        f"{live_server.base_url}/oauth/authorize", code_verifier=verifier
    )
    _identify(page, url, "writer1@example.com")
    assert _status(page) == "Sign to confirm it is you"
    _sign(page, 1, 11)
    assert len(shop_app.results) == 2, _status(page)
    standard = session.fetch_token(
        f"{live_server.base_url}/oauth/token",
        authorization_response=shop_app.urls[-1],
        code_verifier=verifier,
    )
    assert standard["token_type"] == "Bearer"
    assert re.fullmatch(r"[0-9a-f]{64}", standard["access_token"])
    assert standard["refresh_token"]
    assert standard["user"]["identifier"] == "writer1@example.com"
    assert shop_app.results[-1]["state"] == state

    # 3. A skilled forger who watched user 1 sign: refused on the page, then locked out.
    third = f"{live_server.base_url}/oauth/authorize?" + urlencode(
        {
            "client_id": client_id,
            "redirect_uri": callback,
            "response_type": "code",
            "state": "s-3",
            "scope": "authenticate",
        }
    )
    _identify(page, third, "writer1@example.com")
    refusals = 0
    for forgery in range(21, 31):
        _sign(page, 1, forgery)
        if len(shop_app.results) == 3:
            break
        refusals += 1
        assert "did not match" in _status(page)
    assert refusals == 4, (refusals, shop_app.results[-1], _scores(live_server))
    assert shop_app.results[-1]["error"] == "access_denied"
    assert shop_app.results[-1]["state"] == "s-3"

    # Nothing was loaded from another site.
    shop_origin = callback.rsplit("/", 1)[0]
    foreign = [u for u in requests_seen if not u.startswith((live_server.base_url, shop_origin))]
    assert foreign == []
