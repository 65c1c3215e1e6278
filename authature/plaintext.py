"""Checks for short human text (names, identifiers): visible characters only, bounded length.

Control characters, bidirectional overrides and other invisible formatting characters would end
up in tokens, pages and client databases, where they can disguise one name as another.
"""

from __future__ import annotations

import re
import unicodedata

import idna

__all__ = ["canonical_email", "is_email_address", "name_problem", "text_problem"]

#: local@domain.tld: what the sign-in accepts as an identifier and the payment rule
#: CONSUMER_EMAIL_VALID checks, one pattern so an address that signs in can also pay. The
#: local part is a dot-atom (RFC 5322 3.2.3: no leading, trailing or doubled dot, none of its
#: specials; quoted local parts are not taken), the domain a name of at least two labels (no
#: address literal such as [127.0.0.1]).
_ATOM = r"[^\s@<>()\[\]\\,;:\".]+"
_EMAIL = re.compile(rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})+$")


#: A DNS host name label (RFC 1123 2.1, RFC 5890 for A-labels): letters, digits, hyphens inside.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def is_email_address(value: str) -> bool:
    """A mailbox: dot-atom local part at a host name (labels of letters, digits and inner
    hyphens, 1-63 each, an internationalised one valid in IDNA, a top-level label that is not
    all digits, so no IP address), 254 characters at most (RFC 5321 4.5.3.1.3 path limit)."""
    if len(value) > 254 or not _EMAIL.match(value):
        return False
    domain = value.rpartition("@")[2].lower()
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return False
    labels = domain.split(".")
    return all(_LABEL.match(x) for x in labels) and not labels[-1].isdigit()


def canonical_email(value: str) -> str | None:
    """The one form an address is stored and looked up in, or None when it cannot have one.

    Unicode NFKC (a precomposed "ë" and "e" + combining diaeresis, or the ligature "ﬁ" and
    "fi", or full-width letters, look the same and are the same address), lower case, no
    trailing dot on the domain, and an internationalised domain as
    its Unicode labels (IDNA 2008 with UTS 46 mapping, as browsers do): a browser's e-mail field
    sends ``ada@xn--exmple-cua.com`` for ``ada@exämple.com``, which must not make a second
    account.
    """
    address = unicodedata.normalize("NFKC", value.strip())
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower()
    domain = domain.rstrip(".").lower()
    if not domain.isascii() or "xn--" in domain:
        try:
            domain = idna.decode(idna.encode(domain, uts46=True))
        except idna.IDNAError:
            return None
    return f"{local.lower()}@{domain}"


_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: Zero-width non-joiner and joiner: part of the spelling of Persian, Kurdish or Indic names and of
#: emoji sequences, so allowed between two visible characters (never at an end, never doubled).
_JOINERS = {"\u200c", "\u200d"}


def _invisible_at(value: str, i: int, joiners: bool) -> bool:
    c = value[i]
    if c in _BLANK_LETTERS:
        return True
    if unicodedata.category(c) not in _FORBIDDEN_CATEGORIES:
        return False
    if not joiners or c not in _JOINERS or i == 0 or i == len(value) - 1:
        return True
    before, after = value[i - 1], value[i + 1]
    return any(
        n.isspace() or n in _JOINERS or unicodedata.category(n) in _FORBIDDEN_CATEGORIES
        for n in (before, after)
    )


#: Letters that render as nothing (Hangul fillers) and the blank Braille pattern.
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def name_problem(value: str, what: str, max_chars: int) -> str | None:
    """`text_problem` for a person's name, which must also have a letter (not only digits,
    marks or symbols)."""
    problem = text_problem(value, what, max_chars)
    if (
        problem is None
        and value
        and not any(unicodedata.category(c)[0] == "L" and c not in _BLANK_LETTERS for c in value)
    ):
        return f"The {what} must contain letters; please type it again."
    return problem


def text_problem(value: str, what: str, max_chars: int, *, joiners: bool = True) -> str | None:
    """None when `value` is acceptable, else one sentence saying what is wrong.

    ``joiners``: allow a zero-width (non-)joiner between two visible characters (names); an
    identifier passes False.
    """
    if len(value) > max_chars:
        return f"The {what} may have at most {max_chars} characters."
    if any(_invisible_at(value, i, joiners) for i in range(len(value))):
        return f"The {what} contains control or invisible characters; please type it again."
    return None
