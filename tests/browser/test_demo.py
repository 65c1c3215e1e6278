"""The README's first command, as a newcomer uses it: `authature demo`, then sign in a browser."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from replay import load_svc2004_strokes, replay_signature
from support.data import svc2004_path
from support.server import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.data]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "AUTHATURE_DATA_DIR": str(tmp_path / "data")}
    env.pop("AUTHATURE_DATABASE_URL", None)
    env.pop("AUTHATURE_ISSUER", None)
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "authature.cli", "demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"authature demo did not start: {log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _sign(page: Page, user: int, sample: int) -> None:
    canvas = page.get_by_test_id("signature-pad")
    box = canvas.bounding_box()
    assert box is not None, "the pad is not rendered"
    replay_signature(
        page,
        canvas,
        load_svc2004_strokes(svc2004_path(user, sample), box=(box["width"], box["height"])),
    )
    with page.expect_navigation():
        page.get_by_test_id("submit-signature").click()


def test_demo_shop_signs_in_and_shows_token_details_and_signature(
    demo_server: str, page: Page
) -> None:
    # Opened as localhost, the shop moves to the origin its callback uses, so the state cookie
    # is there when the sign-in comes back.
    page.goto(demo_server.replace("127.0.0.1", "localhost") + "/demo/")
    assert page.url == f"{demo_server}/demo/"
    with page.expect_navigation():
        page.get_by_test_id("sign-in").click()
    page.locator("input[name=identifier]").fill("newcomer@example.com")
    with page.expect_navigation():
        page.get_by_test_id("continue").click()
    page.locator("input[name=first_name]").fill("New")
    page.locator("input[name=last_name]").fill("Comer")
    # The server's default enrollment: five signatures, as the verifier was evaluated.
    assert "Signature 1 of 5" in page.content()
    for sample in (1, 2, 3, 4, 5):
        _sign(page, 4, sample)
    assert page.url.startswith(f"{demo_server}/demo/callback?")
    assert (
        page.get_by_test_id("welcome").inner_text() == "Welcome, New Comer (newcomer@example.com)."
    )
    assert '"type": "bearer"' in page.get_by_test_id("token-json").inner_text()
    image = page.get_by_test_id("signature-image")
    assert image.evaluate("img => img.complete && img.naturalWidth > 50")
