"""Reading an IBAN the way people type it, with a sentence for every way it can be wrong.

The checks are schwifty's (ISO 13616: country, length, structure, the mod-97 check digits and,
where it knows them, the national check digits). The IBAN itself is never put into a message,
an exception text or a repr: it is a bank account number, personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from schwifty import IBAN
from schwifty import exceptions as iban_errors

__all__ = ["BankDetails", "masked_iban", "read_bank_details"]

_HOLDER_MAX = 70  # SEPA's limit for a debtor name (pain.008 Nm)


@dataclass(frozen=True, repr=False)
class BankDetails:
    iban: str  # compact, upper case
    holder_name: str

    @property
    def last4(self) -> str:
        return self.iban[-4:]

    def __repr__(self) -> str:
        return f"BankDetails(iban=<ending {self.last4}>)"


def masked_iban(last4: str) -> str:
    """What we show of an account: only its last four characters."""
    return f"**** **** **** {last4}"


def read_bank_details(raw_iban: str, raw_holder: str) -> BankDetails | str:
    """Valid details, or a sentence for the person who typed them."""
    holder = " ".join(raw_holder.split())
    if not holder:
        return "Please enter the name of the account holder as your bank knows it."
    if len(holder) > _HOLDER_MAX or any(not c.isprintable() for c in holder):
        return f"The account holder's name must be at most {_HOLDER_MAX} ordinary characters."
    compact = "".join(raw_iban.split()).upper()
    if not compact:
        return "Please enter your IBAN, like DE89 3704 0044 0532 0130 00."
    if len(compact) > 34 or not compact.isascii() or not compact.isalnum():
        return "An IBAN has only letters and digits (at most 34), like DE89 3704 0044 0532 0130 00."
    try:
        iban = IBAN(compact)
    except iban_errors.InvalidCountryCode:
        return (
            "That IBAN does not start with a known country code: it should begin with two "
            "letters such as DE, FR or BE."
        )
    except iban_errors.InvalidLength:
        return (
            "That IBAN has the wrong number of characters for its country. "
            "Please copy it again from your bank statement."
        )
    except iban_errors.InvalidChecksumDigits:
        return (
            "That IBAN's check digits do not match, so it probably has a typing mistake. "
            "Please check it against your bank statement."
        )
    except iban_errors.SchwiftyException:
        return (
            "That IBAN is not valid for its country (bank or account number). "
            "Please check it against your bank statement."
        )
    if not iban.is_valid:  # defensive: schwifty raises for invalid input by default
        return "That IBAN is not valid. Please check it against your bank statement."
    if not iban.in_sepa_zone:
        return (
            "That IBAN is from a country outside the SEPA zone, where SEPA direct debits "
            "cannot be taken. Please use an account in the SEPA zone."
        )
    return BankDetails(iban=str(iban.compact), holder_name=holder)
