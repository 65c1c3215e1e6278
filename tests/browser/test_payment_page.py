"""The bank step and the mandate in headless Chromium: a new user links an account, reads the
mandate above the pad and signs it with replayed SVC2004 pen strokes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from replay import load_svc2004_strokes, replay_signature
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from support.data import svc2004_path
from support.server import LiveServer, serve_app

from authature.store import models

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.data]


@pytest.fixture
def callback() -> Iterator[tuple[list[dict[str, str]], str]]:
    results: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        results.append(dict(request.query_params))
        return HTMLResponse("<p>Back at the shop</p>")

    with serve_app(Starlette(routes=[Route("/callback", answer)])) as port:
        yield results, f"http://127.0.0.1:{port}/callback"


def _sign(page: Page, sample: int) -> None:
    canvas = page.get_by_test_id("signature-pad")
    box = canvas.bounding_box()
    assert box is not None, "the pad is not rendered"
    strokes = load_svc2004_strokes(svc2004_path(2, sample), box=(box["width"], box["height"]))
    replay_signature(page, canvas, strokes, pointer="pen")
    with page.expect_navigation():
        page.get_by_test_id("submit-signature").click()


def test_a_new_user_links_an_account_and_signs_the_mandate_in_a_browser(
    live_server: LiveServer, page: Page, callback: tuple[list[dict[str, str]], str]
) -> None:
    results, redirect = callback
    new = live_server.create_client([redirect], scopes="payment,authenticate", name="Pay Shop")
    query = urlencode(
        {
            "client_id": new.client.client_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "state": "s-1",
            "scope": "payment",
            "ref_id": "order-7",
            "amount": "4999",
            "device_uid": "phone-1",
        }
    )
    page.goto(f"{live_server.base_url}/oauth/authorize?{query}")
    assert page.get_by_test_id("payment-amount").inner_text() == "€49.99"
    page.locator("input[name=identifier]").fill("browser-payer@example.com")
    with page.expect_navigation():
        page.get_by_test_id("continue").click()
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 01")  # a typo
    page.get_by_label("Account holder").fill("Bea Payer")
    with page.expect_navigation():
        page.get_by_test_id("continue-bank").click()
    assert "check digits do not match" in page.get_by_test_id("status").inner_text()
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    with page.expect_navigation():
        page.get_by_test_id("continue-bank").click()
    mandate = page.get_by_test_id("mandate-text")
    assert mandate.is_visible()
    text = mandate.inner_text()
    assert "Creditor: Pay Shop" in text and "Debtor: Bea Payer" in text
    assert "**** **** **** 3000" in text and "One-off payment" in text
    pad = page.get_by_test_id("signature-pad").bounding_box()
    box = mandate.bounding_box()
    assert pad is not None and box is not None, "the mandate or the pad is not rendered"
    assert box["y"] < pad["y"]  # shown above the pad
    page.locator("input[name=first_name]").fill("Bea")
    page.locator("input[name=last_name]").fill("Payer")
    for sample in (1, 2, 3):
        _sign(page, sample)
    assert len(results) == 1 and "code" in results[0], page.content()[:500]
    with live_server.services.database.engine.connect() as conn:
        purchase = conn.execute(select(models.Purchase)).one()
    assert (purchase.ref_id, purchase.amount_cents) == ("order-7", 4999)
