"""The payment rules of SPEC 4, evaluated in the spec's order; the first that fails names the
refusal (HTTP 403, `error` = the rule's name, `error_description` = its sentence).

Pure: the facts are gathered by `payments.service` from storage and the bank, the limits come
from configuration (`config.PaymentSettings`). Each rule's name is the condition that must hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from authature.config import PaymentSettings
from authature.plaintext import is_email_address

__all__ = ["RULES", "PaymentFacts", "first_failed_rule", "request_refusal", "rule_sentence"]


# The rule names in SPEC 4's order, each with the sentence the user (through the client) reads.
RULES: dict[str, str] = {
    "HAS_A_VERIFIED_ACCOUNT": "Your bank account has not been verified yet, so no payment can "
    "be taken from it.",
    "HAS_NO_ACCOUNTS_FLAGGED_FOR_REVIEW": "One of your bank accounts is being reviewed; payments "
    "are paused until the review is done.",
    "BELOW_GLOBAL_TRANSACTION_LIMIT": "This amount is above the largest payment the service "
    "accepts.",
    "BELOW_CONSUMER_TRANSACTION_LIMIT": "This amount is above your limit for a single payment.",
    "DEVICE_NOT_FLAGGED": "Payments from this device are not accepted.",
    "CONSUMER_EMAIL_VALID": "Your account needs a valid e-mail address before you can pay.",
    "CONSUMER_HAS_NO_FLAGGED_DEVICES": "One of the devices you paid from is not accepted, so "
    "payments are paused.",
    "BELOW_FRAUD_RISK_SCORE_THRESHOLD": "This payment was refused for your protection after "
    "recent refused signatures on your account; try again in 24 hours.",
    "BELOW_GLOBAL_VELOCITY_LIMIT": "The service is taking too many payments right now; please "
    "try again later.",
    "BELOW_CONSUMER_VELOCITY_LIMIT": "You made too many payments in a short time; please try "
    "again later.",
    "MERCHANT_RISK_SCORE_THRESHOLD": "This shop cannot take payments right now.",
    "MERCHANT_ENABLED": "This shop is not enabled on the service.",
    "MERCHANT_PAYMENTS_ENABLED": "This shop may not take payments.",
    "CONSUMER_NOT_BANNED": "Your account may not make payments; contact the service's support.",
    "GLOBAL_PAYMENTS_ENABLED": "Payments are switched off on the service right now; please try "
    "again later.",
    "BELOW_CONSUMER_DAILY_LIMIT": "This payment would take you over your daily limit.",
    "GENERIC_FAIL_MESSAGE": "The payment could not be made; please try again later.",
}


def rule_sentence(rule: str) -> str:
    return RULES[rule]


@dataclass(frozen=True)
class PaymentFacts:
    """What the rules look at, for one payment (or one pre-authorization: no amount yet)."""

    amount_cents: int | None  # None: a pre-authorization, before the amount is known
    account_verified: bool  # the account the mandate names
    accounts_flagged_for_review: int  # the user's accounts flagged by the bank or an operator
    device_flagged: bool  # the device of this request
    consumer_email: str
    consumer_flagged_devices: int  # devices the user paid from that are flagged
    fraud_risk_score: int  # 0-100
    global_purchases_in_window: int
    consumer_purchases_in_window: int
    merchant_risk_score: int  # 0-100
    merchant_enabled: bool
    merchant_payments_enabled: bool
    consumer_banned: bool
    consumer_spent_today_cents: int  # captured in the last 24 hours


def first_failed_rule(facts: PaymentFacts, limits: PaymentSettings) -> str | None:
    """The first rule of SPEC 4's list that does not hold, or None when all hold."""
    amount = facts.amount_cents
    checks: list[tuple[str, bool]] = [
        ("HAS_A_VERIFIED_ACCOUNT", facts.account_verified),
        ("HAS_NO_ACCOUNTS_FLAGGED_FOR_REVIEW", facts.accounts_flagged_for_review == 0),
        (
            "BELOW_GLOBAL_TRANSACTION_LIMIT",
            amount is None or amount <= limits.global_transaction_limit_cents,
        ),
        (
            "BELOW_CONSUMER_TRANSACTION_LIMIT",
            amount is None or amount <= limits.consumer_transaction_limit_cents,
        ),
        ("DEVICE_NOT_FLAGGED", not facts.device_flagged),
        ("CONSUMER_EMAIL_VALID", is_email_address(facts.consumer_email)),
        ("CONSUMER_HAS_NO_FLAGGED_DEVICES", facts.consumer_flagged_devices == 0),
        (
            "BELOW_FRAUD_RISK_SCORE_THRESHOLD",
            facts.fraud_risk_score < limits.fraud_risk_threshold,
        ),
        (
            "BELOW_GLOBAL_VELOCITY_LIMIT",
            facts.global_purchases_in_window < limits.global_velocity_limit,
        ),
        (
            "BELOW_CONSUMER_VELOCITY_LIMIT",
            facts.consumer_purchases_in_window < limits.consumer_velocity_limit,
        ),
        (
            "MERCHANT_RISK_SCORE_THRESHOLD",
            facts.merchant_risk_score < limits.merchant_risk_threshold,
        ),
        ("MERCHANT_ENABLED", facts.merchant_enabled),
        ("MERCHANT_PAYMENTS_ENABLED", facts.merchant_payments_enabled),
        ("CONSUMER_NOT_BANNED", not facts.consumer_banned),
        ("GLOBAL_PAYMENTS_ENABLED", limits.enabled),
        (
            "BELOW_CONSUMER_DAILY_LIMIT",
            facts.consumer_spent_today_cents + (amount or 0) <= limits.consumer_daily_limit_cents,
        ),
    ]
    for name, holds in checks:
        if not holds:
            return name
    return None


def request_refusal(amount_cents: int, client_id: str, limits: PaymentSettings) -> str | None:
    """The rules a checkout request fails whoever signs it (amount limits, this shop's or all
    payments switched off), in the order of :func:`first_failed_rule`: checked when the
    request arrives, so nobody types an IBAN and signs for a payment that cannot pass."""
    if amount_cents > limits.global_transaction_limit_cents:
        return "BELOW_GLOBAL_TRANSACTION_LIMIT"
    if amount_cents > limits.consumer_transaction_limit_cents:
        return "BELOW_CONSUMER_TRANSACTION_LIMIT"
    if client_id in limits.disabled_clients:
        return "MERCHANT_PAYMENTS_ENABLED"
    if not limits.enabled:
        return "GLOBAL_PAYMENTS_ENABLED"
    return None
