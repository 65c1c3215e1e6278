"""The SEPA Core direct-debit mandate the user signs (EPC SEPA Core Rulebook, the mandate's
standard wording), its reference, and the digest stored with the signature that signs it."""

from __future__ import annotations

import hashlib
import secrets

from authature.payments.iban import masked_iban

__all__ = ["mandate_sha256", "mandate_text", "new_mandate_reference"]

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_mandate_reference() -> str:
    """A unique mandate reference (SEPA allows up to 35 characters of [A-Za-z0-9+?/-:().,' ])."""
    return "ATH-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(16))


def mandate_text(
    *,
    creditor_name: str,
    reference: str,
    debtor_name: str,
    iban_last4: str,
    one_off: bool,
    amount: str | None = None,
    order_reference: str | None = None,
) -> str:
    """The mandate as shown above the signature pad; the same inputs give the same text.

    A one-off checkout's mandate names the amount and the client's order reference, so the
    stored digest ties the signature to what was charged.
    """
    kind = "One-off payment" if one_off else "Recurrent payments"
    payment = ""
    if amount is not None:
        payment += f"Amount: {amount}\n"
    if order_reference is not None:
        payment += f"Order reference: {order_reference}\n"
    return (
        "SEPA Direct Debit Mandate (SEPA Core)\n"
        f"Creditor: {creditor_name}\n"
        f"Mandate reference: {reference}\n"
        f"Debtor: {debtor_name}\n"
        f"Debtor account (IBAN): {masked_iban(iban_last4)}\n"
        f"Type of payment: {kind}\n"
        f"{payment}"
        f"By signing this mandate form, you authorise (A) {creditor_name} to send instructions "
        f"to your bank to debit your account and (B) your bank to debit your account in "
        f"accordance with the instructions from {creditor_name}. "
        "As part of your rights, you are entitled to a refund from your bank under the terms "
        "and conditions of your agreement with your bank. A refund must be claimed within "
        "8 weeks starting from the date on which your account was debited. Your rights are "
        "explained in a statement that you can obtain from your bank."
    )


def mandate_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
