"""canonical user identifiers: NFKC, lower case, internationalised domains as Unicode labels

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 09:10:00

Sign-in now looks users up by `authature.plaintext.canonical_email`. Identifiers stored before
were only stripped and lower-cased, so an NFD address, a ligature or full-width letters, or
a domain stored as `xn--...` is
rewritten to the canonical form, unless another user already holds that form (then both stay
as they are, and `authature users show` finds each by its exact stored form). The rule is
copied here, not imported, so that this migration keeps meaning what it meant when written.
"""

import unicodedata
from collections.abc import Sequence

import idna
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _canonical(value: str) -> str | None:
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


def upgrade() -> None:
    conn = op.get_bind()
    users = sa.table("users", sa.column("pk", sa.Integer), sa.column("identifier", sa.String))
    rows = conn.execute(sa.select(users.c.pk, users.c.identifier)).all()
    taken = {identifier for _, identifier in rows}
    for pk, identifier in rows:
        canonical = _canonical(identifier)
        if canonical is None or canonical == identifier or canonical in taken:
            continue
        conn.execute(users.update().where(users.c.pk == pk).values(identifier=canonical))
        taken.discard(identifier)
        taken.add(canonical)


def downgrade() -> None:
    pass  # the canonical forms are valid identifiers of the earlier schema too
