"""Payments (SPEC 1 `preapproval` and `payment`, SPEC 3.5-3.6, SPEC 4's refusal rules).

Mandates, bank details, the named rules and the bank gateway Protocol; `payments.service` puts
them together for the web layer and the sign-in flow (imported from there, not here, so that
`oauth.ports` can use `payments.ports` without a cycle).
"""

from authature.payments.bank import AccountCheck, BankGateway, BankUnavailable, FakeBank
from authature.payments.iban import BankDetails, masked_iban, read_bank_details
from authature.payments.mandate import mandate_sha256, mandate_text, new_mandate_reference
from authature.payments.rules import RULES, PaymentFacts, first_failed_rule, rule_sentence

__all__ = [
    "RULES",
    "AccountCheck",
    "BankDetails",
    "BankGateway",
    "BankUnavailable",
    "FakeBank",
    "PaymentFacts",
    "first_failed_rule",
    "mandate_sha256",
    "mandate_text",
    "masked_iban",
    "new_mandate_reference",
    "read_bank_details",
    "rule_sentence",
]
