"""The `payment` scope's one-off checkout (SPEC 1: authorised and captured in one go when the
user signs): the page shows what is paid, the token response shows the purchase."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.payments import (
    REDIRECT,
    enroll_payer,
    genuine,
    sign_enrollment,
    submit_bank,
    to_bank_step,
)
from support.server import LiveServer, run_server, settings_for
from support.signin import Page, authorize_url, redirect_params

from authature.config import PaymentSettings
from authature.store import models

pytestmark = pytest.mark.data


def test_checkout_shows_the_amount_and_takes_the_payment_when_the_user_signs(
    live_server: LiveServer,
) -> None:
    new = live_server.create_client([REDIRECT], scopes="payment,authenticate")
    url = authorize_url(
        new.client.client_id,
        REDIRECT,
        scope="payment",
        device_uid="phone-1",
        ref_id="order-42",
        amount="1234",
    )
    with live_server.http() as http:
        bank = to_bank_step(http, url, "buyer@example.com")
        assert 'data-testid="payment-amount">€12.34<' in bank.html
        assert 'data-testid="payment-ref">order-42<' in bank.html
        page = submit_bank(http, bank)
        assert isinstance(page, Page)
        assert "Type of payment: One-off payment" in page.html
        # The signed text names what is charged, so its stored digest binds the amount.
        assert "Amount: €12.34" in page.html and "Order reference: order-42" in page.html
    payer = enroll_payer(
        live_server,
        scope="payment",
        identifier="buyer2@example.com",
        client_id=new.client.client_id,
        client_secret=new.client_secret,
        device_uid="phone-2",
        ref_id="order-43",
        amount="1234",
    )
    payment = payer.body["payment"]
    assert isinstance(payment, dict)
    assert re.fullmatch(r"[0-9a-f]{24}", payment["purchase_id"])
    assert re.fullmatch(r"[0-9a-f]{24}", payment["authorization_id"])
    assert (payment["ref_id"], payment["amount"]) == ("order-43", 1234)
    with live_server.services.database.engine.connect() as conn:
        purchase = conn.execute(select(models.Purchase)).one()
        authorization = conn.execute(select(models.PaymentAuthorization)).one()
        mandate = conn.execute(select(models.Mandate)).one()
    assert (purchase.purchase_id, purchase.amount_cents) == (payment["purchase_id"], 1234)
    assert authorization.used_at is not None and authorization.device_uid == "phone-2"
    assert mandate.kind == "one-off"
    assert "Amount: €12.34\nOrder reference: order-43\n" in mandate.text


def test_a_checkout_no_signature_could_pass_is_refused_before_the_page(
    live_server: LiveServer,
) -> None:
    """Amount limits and payment switches do not depend on who signs: the request is sent
    back at once, instead of after an IBAN and five signatures."""
    new = live_server.create_client([REDIRECT], scopes="payment,authenticate")
    url = authorize_url(
        new.client.client_id, REDIRECT, scope="payment", ref_id="big", amount="150000"
    )
    with live_server.http() as http:
        r = http.get(url)
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT + "?")
    params = redirect_params(r)
    assert params["error"] == "BELOW_CONSUMER_TRANSACTION_LIMIT"
    assert "limit" in params["error_description"]
    assert params["state"] == "state-123" and "code" not in params


def test_a_refused_checkout_redirects_with_the_rule_and_stores_no_account(
    tmp_path: Path, database_url: str
) -> None:
    # The daily limit depends on the user's payments, so it is decided when they sign.
    base = settings_for(tmp_path, database_url)
    settings = replace(base, payments=replace(PaymentSettings(), consumer_daily_limit_cents=1000))
    with run_server(settings) as server:
        new = server.create_client([REDIRECT], scopes="payment,authenticate")
        url = authorize_url(
            new.client.client_id, REDIRECT, scope="payment", ref_id="big", amount="1500"
        )
        with server.http() as http:
            page = submit_bank(http, to_bank_step(http, url, "big@example.com"))
            assert isinstance(page, Page)
            done = sign_enrollment(http, page, genuine(4, 1, 2, 3))
        assert done.status_code == 302
        params = redirect_params(done)
        assert params["error"] == "BELOW_CONSUMER_DAILY_LIMIT"
        assert params["state"] == "state-123" and "code" not in params
        with server.services.database.engine.connect() as conn:
            for model in (models.BankAccount, models.Mandate, models.Purchase):
                count = conn.execute(select(func.count()).select_from(model)).scalar_one()
                assert count == 0, model


def test_a_checkout_of_an_order_reference_already_paid_is_refused_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    """The one-off checkout and the capture endpoint share the rule: one purchase per ref_id."""
    new = live_server.create_client([REDIRECT], scopes="payment,authenticate")
    first = enroll_payer(
        live_server,
        scope="payment",
        identifier="first@example.com",
        client_id=new.client.client_id,
        client_secret=new.client_secret,
        ref_id="order-77",
        amount="1000",
    )
    paid = first.body["payment"]
    assert isinstance(paid, dict)
    url = authorize_url(
        new.client.client_id, REDIRECT, scope="payment", ref_id="order-77", amount="1000"
    )
    said = f"ref_id 'order-77' was already captured as purchase {paid['purchase_id']}"
    with live_server.http() as http:
        # Refused before the page, as a checkout no signature could pass is.
        at_once = http.get(url)
        assert at_once.status_code == 302 and redirect_params(at_once)["error"] == "invalid_request"
        assert said in redirect_params(at_once)["error_description"]
        # A sign-in begun before the first checkout finished is refused when it finishes.
        other_ref = authorize_url(
            new.client.client_id, REDIRECT, scope="payment", ref_id="order-78", amount="1000"
        )
        page = submit_bank(http, to_bank_step(http, other_ref, "second@example.com"))
        assert isinstance(page, Page)
        enroll_payer(
            live_server,
            scope="payment",
            user=4,
            identifier="third@example.com",
            client_id=new.client.client_id,
            client_secret=new.client_secret,
            ref_id="order-78",
            amount="1000",
        )
        done = sign_enrollment(http, page, genuine(3, 1, 2, 3))
    assert done.status_code == 302, done.text
    params = redirect_params(done)
    assert params["error"] == "invalid_request"
    assert "ref_id 'order-78' was already captured as purchase" in params["error_description"]
    with live_server.services.database.engine.connect() as conn:
        counts = [
            conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (models.Purchase, models.PaymentAuthorization, models.Mandate)
        ]
    assert counts == [2, 2, 2]  # the two checkouts that went through; the refused stored nothing
