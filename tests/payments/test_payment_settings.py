"""Refusals that come from configuration and from the bank (AUTHATURE_PAYMENT_*), and the
authorization's lifetime, each against a real server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from support.payments import authorize, capture, enroll_payer
from support.server import run_server, settings_for

from authature.config import ConfigError, PaymentSettings, RateLimits, Settings
from authature.oauth.ports import Clock
from authature.store import models

pytestmark = pytest.mark.data


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _settings(
    tmp_path: Path, database_url: str, payments: PaymentSettings | None = None
) -> Settings:
    base = settings_for(tmp_path, database_url)
    return replace(base, payments=payments or PaymentSettings())


def test_merchant_and_global_switches_refuse_with_their_rule(
    tmp_path: Path, database_url: str
) -> None:
    with run_server(_settings(tmp_path, database_url)) as server:
        payer = enroll_payer(server)
    disabled = _settings(
        tmp_path, database_url, PaymentSettings(disabled_clients=frozenset({payer.client_id}))
    )
    with run_server(disabled) as server, server.http() as http:
        r = authorize(http, payer)
        assert (r.status_code, r.json()["error"]) == (403, "MERCHANT_PAYMENTS_ENABLED")
        assert r.json()["error_description"] == "This shop may not take payments."
    off = _settings(tmp_path, database_url, PaymentSettings(enabled=False))
    with run_server(off) as server, server.http() as http:
        r = authorize(http, payer)
        assert (r.status_code, r.json()["error"]) == (403, "GLOBAL_PAYMENTS_ENABLED")


def test_an_unverified_account_cannot_pay(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url, PaymentSettings(bank="fake-pending"))
    with run_server(settings) as server:
        payer = enroll_payer(server)
        with server.http() as http:
            r = authorize(http, payer)
        assert (r.status_code, r.json()["error"]) == (403, "HAS_A_VERIFIED_ACCOUNT")


def test_an_account_flagged_for_review_stops_captures(tmp_path: Path, database_url: str) -> None:
    with run_server(_settings(tmp_path, database_url)) as server:
        payer = enroll_payer(server)
        with server.http() as http:
            authorization_id = authorize(http, payer).json()["authorization_id"]
            with server.services.database.engine.begin() as conn:  # an operator's review flag
                conn.execute(update(models.BankAccount).values(flagged_for_review=True))
            r = capture(http, payer, authorization_id)
            assert (r.status_code, r.json()["error"]) == (403, "HAS_NO_ACCOUNTS_FLAGGED_FOR_REVIEW")


def test_daily_limit_and_velocity_count_earlier_purchases(
    tmp_path: Path, database_url: str
) -> None:
    settings = _settings(
        tmp_path,
        database_url,
        PaymentSettings(consumer_daily_limit_cents=2000, consumer_velocity_limit=2),
    )
    with run_server(settings) as server:
        payer = enroll_payer(server)
        with server.http() as http:
            first = authorize(http, payer).json()["authorization_id"]
            assert capture(http, payer, first, "1500").status_code == 201
            second = authorize(http, payer).json()["authorization_id"]
            r = capture(http, payer, second, "600", ref_id="order-2")
            assert (r.status_code, r.json()["error"]) == (403, "BELOW_CONSUMER_DAILY_LIMIT")
            assert capture(http, payer, second, "500", ref_id="order-2").status_code == 201
            r = authorize(http, payer)
            assert (r.status_code, r.json()["error"]) == (403, "BELOW_CONSUMER_VELOCITY_LIMIT")


def test_an_expired_authorization_cannot_be_captured(tmp_path: Path, database_url: str) -> None:
    clock = _Clock()
    clocked: Clock = clock
    with run_server(_settings(tmp_path, database_url), clock=clocked) as server:
        payer = enroll_payer(server)
        with server.http() as http:
            authorization_id = authorize(http, payer).json()["authorization_id"]
            clock.offset = timedelta(seconds=901)
            r = capture(http, payer, authorization_id)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
        assert "expired" in r.json()["error_description"]


def test_payment_settings_are_validated() -> None:
    env = {"AUTHATURE_PAYMENT_CONSUMER_TRANSACTION_LIMIT_CENTS": "2500"}
    assert PaymentSettings.from_env(env).consumer_transaction_limit_cents == 2500
    listed = PaymentSettings.from_env({"AUTHATURE_PAYMENT_DISABLED_CLIENTS": " a, b ,"})
    assert listed.disabled_clients == frozenset({"a", "b"})
    for name, value in [
        ("AUTHATURE_PAYMENT_GLOBAL_TRANSACTION_LIMIT_CENTS", "-1"),
        ("AUTHATURE_PAYMENT_CONSUMER_DAILY_LIMIT_CENTS", "lots"),
        ("AUTHATURE_PAYMENTS_ENABLED", "maybe"),
        ("AUTHATURE_PAYMENT_BANK", "real-bank"),
        ("AUTHATURE_PAYMENT_AUTHORIZATION_LIFETIME_SECONDS", "5"),
    ]:
        with pytest.raises(ConfigError, match=name):
            PaymentSettings.from_env({name: value})


def test_payment_endpoints_are_rate_limited_per_address(tmp_path: Path, database_url: str) -> None:
    limits = replace(RateLimits(), window_seconds=86_400, payment_per_ip=3, flush_ms=0)
    settings = replace(settings_for(tmp_path, database_url), rate_limits=limits)
    with run_server(settings) as server, server.http() as http:
        bearer = {"Authorization": "Bearer " + "0" * 64}
        form = {"client_id": "x", "device_uid": "d"}
        for _ in range(3):
            r = http.post("/api/v2/payment/authorize", headers=bearer, data=form)
            assert (r.status_code, r.json()["error"]) == (400, "invalid_token")
            r = http.post(f"/api/v2/payment/capture/{'0' * 24}", data=form)
            assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
        for over in (
            http.post("/api/v2/payment/authorize", headers=bearer, data=form),
            http.post(f"/api/v2/payment/capture/{'0' * 24}", data=form),
        ):
            assert over.status_code == 429 and over.headers["retry-after"]
            assert over.json()["error"] == "temporarily_unavailable"
