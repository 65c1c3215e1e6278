"""Checks for short human text (names, identifiers): visible characters only, bounded length.

Control characters, bidirectional overrides and other invisible formatting characters would end
up in tokens, pages and client databases, where they can disguise one name as another.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_email_address", "text_problem"]

#: local@domain.tld: what the sign-in accepts as an identifier and the payment rule
#: CONSUMER_EMAIL_VALID checks, one pattern so an address that signs in can also pay.
_EMAIL = re.compile(r"^[^\s@<>]{1,64}@[^\s@<>.][^\s@<>]*\.[^\s@<>]+$")


def is_email_address(value: str) -> bool:
    return len(value) <= 320 and bool(_EMAIL.match(value))


_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def text_problem(value: str, what: str, max_chars: int) -> str | None:
    """None when `value` is acceptable, else one sentence saying what is wrong."""
    if len(value) > max_chars:
        return f"The {what} may have at most {max_chars} characters."
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in value):
        return f"The {what} contains control or invisible characters; please type it again."
    return None
