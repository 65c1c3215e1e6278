"""The bank: the true outside edge of payments, behind a small Protocol.

Authature does not talk to a real bank yet. `FakeBank` is a stand-in for demos and tests: it
moves no money and asks nobody; it answers at once, as configured (AUTHATURE_PAYMENT_BANK). A
production deployment needs a gateway that verifies accounts with a payment service provider
(for example by a micro-deposit or an account-information check) and implements this Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from authature.payments.iban import BankDetails

__all__ = ["AccountCheck", "BankGateway", "BankUnavailable", "FakeBank"]


@dataclass(frozen=True)
class AccountCheck:
    verified: bool  # the bank confirmed the account exists and belongs to the holder
    flagged_for_review: bool  # the bank asks for a manual review before any debit


class BankGateway(Protocol):
    def check_account(self, details: BankDetails) -> AccountCheck:
        """Ask the bank about an account; may raise `BankUnavailable`."""
        ...


class BankUnavailable(Exception):
    """The bank could not be asked; the payment is refused with GENERIC_FAIL_MESSAGE."""


class FakeBank:
    """A FAKE bank for demos and tests: no network, no money, an answer at once.

    `verifies=True` (AUTHATURE_PAYMENT_BANK=fake): every valid IBAN is verified on the spot.
    `verifies=False` (AUTHATURE_PAYMENT_BANK=fake-pending): accounts stay unverified, as with a
    real bank whose check has not come back yet, so payments are refused HAS_A_VERIFIED_ACCOUNT.
    """

    def __init__(self, *, verifies: bool = True) -> None:
        self.verifies = verifies
        self.checked: list[str] = []  # last four characters of each account asked about

    def check_account(self, details: BankDetails) -> AccountCheck:
        self.checked.append(details.last4)
        return AccountCheck(verified=self.verifies, flagged_for_review=False)
