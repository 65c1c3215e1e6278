"""SPEC 4's rules as a pure function: order, limits at their edges, every name has a sentence."""

from __future__ import annotations

from dataclasses import replace

from authature.config import PaymentSettings
from authature.oauth.errors import _DESCRIPTION
from authature.payments.rules import RULES, PaymentFacts, first_failed_rule

SPEC_ORDER = [
    "HAS_A_VERIFIED_ACCOUNT",
    "HAS_NO_ACCOUNTS_FLAGGED_FOR_REVIEW",
    "BELOW_GLOBAL_TRANSACTION_LIMIT",
    "BELOW_CONSUMER_TRANSACTION_LIMIT",
    "DEVICE_NOT_FLAGGED",
    "CONSUMER_EMAIL_VALID",
    "CONSUMER_HAS_NO_FLAGGED_DEVICES",
    "BELOW_FRAUD_RISK_SCORE_THRESHOLD",
    "BELOW_GLOBAL_VELOCITY_LIMIT",
    "BELOW_CONSUMER_VELOCITY_LIMIT",
    "MERCHANT_RISK_SCORE_THRESHOLD",
    "MERCHANT_ENABLED",
    "MERCHANT_PAYMENTS_ENABLED",
    "CONSUMER_NOT_BANNED",
    "GLOBAL_PAYMENTS_ENABLED",
    "BELOW_CONSUMER_DAILY_LIMIT",
    "GENERIC_FAIL_MESSAGE",
]

GOOD = PaymentFacts(
    amount_cents=1000,
    account_verified=True,
    accounts_flagged_for_review=0,
    device_flagged=False,
    consumer_email="ada@example.com",
    consumer_flagged_devices=0,
    fraud_risk_score=0,
    global_purchases_in_window=0,
    consumer_purchases_in_window=0,
    merchant_risk_score=0,
    merchant_enabled=True,
    merchant_payments_enabled=True,
    consumer_banned=False,
    consumer_spent_today_cents=0,
)
LIMITS = PaymentSettings()


def test_every_spec_rule_has_a_sentence_in_spec_order() -> None:
    assert list(RULES) == SPEC_ORDER
    for sentence in RULES.values():
        assert sentence.endswith(".") and _DESCRIPTION.fullmatch(sentence)


def test_good_facts_pass_and_a_pre_authorization_skips_the_amount_rules() -> None:
    assert first_failed_rule(GOOD, LIMITS) is None
    huge = replace(
        GOOD, amount_cents=None, consumer_spent_today_cents=LIMITS.consumer_daily_limit_cents
    )
    assert first_failed_rule(huge, LIMITS) is None


def test_each_rule_fails_on_its_own_fact() -> None:
    cases: list[tuple[PaymentFacts, str]] = [
        (replace(GOOD, account_verified=False), "HAS_A_VERIFIED_ACCOUNT"),
        (replace(GOOD, accounts_flagged_for_review=1), "HAS_NO_ACCOUNTS_FLAGGED_FOR_REVIEW"),
        (
            replace(GOOD, amount_cents=LIMITS.global_transaction_limit_cents + 1),
            "BELOW_GLOBAL_TRANSACTION_LIMIT",
        ),
        (
            replace(GOOD, amount_cents=LIMITS.consumer_transaction_limit_cents + 1),
            "BELOW_CONSUMER_TRANSACTION_LIMIT",
        ),
        (replace(GOOD, device_flagged=True), "DEVICE_NOT_FLAGGED"),
        (replace(GOOD, consumer_email="not-an-address"), "CONSUMER_EMAIL_VALID"),
        (replace(GOOD, consumer_flagged_devices=1), "CONSUMER_HAS_NO_FLAGGED_DEVICES"),
        (
            replace(GOOD, fraud_risk_score=LIMITS.fraud_risk_threshold),
            "BELOW_FRAUD_RISK_SCORE_THRESHOLD",
        ),
        (
            replace(GOOD, global_purchases_in_window=LIMITS.global_velocity_limit),
            "BELOW_GLOBAL_VELOCITY_LIMIT",
        ),
        (
            replace(GOOD, consumer_purchases_in_window=LIMITS.consumer_velocity_limit),
            "BELOW_CONSUMER_VELOCITY_LIMIT",
        ),
        (
            replace(GOOD, merchant_risk_score=LIMITS.merchant_risk_threshold),
            "MERCHANT_RISK_SCORE_THRESHOLD",
        ),
        (replace(GOOD, merchant_enabled=False), "MERCHANT_ENABLED"),
        (replace(GOOD, merchant_payments_enabled=False), "MERCHANT_PAYMENTS_ENABLED"),
        (replace(GOOD, consumer_banned=True), "CONSUMER_NOT_BANNED"),
        (
            replace(GOOD, consumer_spent_today_cents=LIMITS.consumer_daily_limit_cents),
            "BELOW_CONSUMER_DAILY_LIMIT",
        ),
    ]
    for facts, rule in cases:
        assert first_failed_rule(facts, LIMITS) == rule, facts
    assert first_failed_rule(GOOD, replace(LIMITS, enabled=False)) == "GLOBAL_PAYMENTS_ENABLED"


def test_the_first_failed_rule_in_spec_order_is_named() -> None:
    facts = replace(GOOD, merchant_enabled=False, account_verified=False)
    assert first_failed_rule(facts, LIMITS) == "HAS_A_VERIFIED_ACCOUNT"
    at_limit = replace(GOOD, amount_cents=LIMITS.consumer_transaction_limit_cents)
    assert first_failed_rule(at_limit, LIMITS) is None
