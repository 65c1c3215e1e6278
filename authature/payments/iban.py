"""Reading an IBAN the way people type it, with a sentence for every way it can be wrong.

The checks are schwifty's (ISO 13616: country, length, structure, the mod-97 check digits and,
where it knows them, the national check digits). The IBAN itself is never put into a message,
an exception text or a repr: it is a bank account number, personal data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pycountry
from schwifty import IBAN
from schwifty import exceptions as iban_errors

from authature.plaintext import name_problem

__all__ = ["BankDetails", "masked_iban", "read_bank_details"]

_HOLDER_MAX = 70  # SEPA's limit for a debtor name (pain.008 Nm)
# What people put between the groups of an IBAN, or what copying it from a PDF or a web page
# brings along: spaces, hyphens, dots and invisible format characters (zero-width space,
# direction marks, BOM). None of them can be part of an IBAN, so they are dropped.
_SEPARATORS = frozenset("-.\u2010\u2011\u2012\u2013")
_EXAMPLE = "DE89 3704 0044 0532 0130 00"
# Bank statements and invoices print the IBAN after a label ("IBAN DE89 ...", "IBAN: ...",
# "IBAN-Nr. ...", sometimes after the number too) and the BIC after it ("... BIC COBADEFFXXX"):
# a whole word "IBAN" is never part of an IBAN's groups, so labels and what follows "BIC" or
# "SWIFT" are dropped.
_LABEL = re.compile(r"\bIBAN(?:[-\s]*(?:NR|NO|NUMMER|NUMBER)\b)?\.?\s*:?", re.IGNORECASE)
_BIC = re.compile(r"\b(?:BIC|SWIFT)\b.*$", re.IGNORECASE | re.DOTALL)


def _compact(raw: str) -> str:
    # NFKC first: full-width letters and digits (ＤＥ８９) are the ones they look like.
    text = _BIC.sub("", _LABEL.sub(" ", unicodedata.normalize("NFKC", raw)))
    return "".join(
        c
        for c in text
        if not c.isspace() and c not in _SEPARATORS and unicodedata.category(c) != "Cf"
    ).upper()


def _character_problem(compact: str) -> str | None:
    """A sentence naming the first character that cannot be in an IBAN (never the IBAN)."""
    for c in compact:
        if not (c.isascii() and c.isalnum()):
            name = unicodedata.name(c, "").lower() or "an unprintable character"
            shown = f"'{c}' ({name})" if c.isprintable() else name
            return (
                f"An IBAN has only letters A-Z and digits 0-9; yours contains {shown}. "
                f"Please type it like {_EXAMPLE}."
            )
    return None


def _unknown_country(compact: str) -> str:
    country = pycountry.countries.get(alpha_2=compact[:2]) if compact[:2].isalpha() else None
    if country is not None:
        return (
            f"{country.name} ({country.alpha_2}) does not use IBANs, and SEPA direct debits need "
            "an account in the SEPA zone (its IBAN begins with two letters such as DE, FR or BE)."
        )
    return (
        "That IBAN does not start with a known country code: it should begin with two "
        "letters such as DE, FR or BE."
    )


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
    problem = name_problem(holder, "account holder's name", _HOLDER_MAX)
    if problem is not None:
        return problem
    compact = _compact(raw_iban)
    if not compact:
        return f"Please enter your IBAN, like {_EXAMPLE}."
    problem = _character_problem(compact)
    if problem is not None:
        return problem
    if len(compact) > 34:
        return (
            f"An IBAN has at most 34 letters and digits; yours has {len(compact)}. "
            "Please copy it again from your bank statement."
        )
    if not compact[:2].isalpha():
        # A domestic account number (a US routing and account number, a sort code...).
        return (
            "An IBAN begins with a two-letter country code such as DE, then two check digits "
            f"and the account number, like {_EXAMPLE}. Please enter the IBAN your bank gives."
        )
    try:
        iban = IBAN(compact)
    except iban_errors.InvalidCountryCode:
        return _unknown_country(compact)
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
