"""Migration 0004 rewrites stored identifiers to their canonical form, except where that form
is already another user's."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from authature.store.db import Database, alembic_config, upgrade


def test_stored_identifiers_become_canonical_unless_taken(database: Database) -> None:
    cfg = alembic_config(database.engine.url.render_as_string(hide_password=False))
    with database.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0003")
    nfd = unicodedata.normalize("NFD", "zo\u00eb@example.com")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        nfd,
        "ada@xn--exmple-cua.com",
        "bob@example.com",
        "\ufb01n@example.com",  # the ligature
        "eve@xn--exmple-cua.com",  # canonical form taken by the next row: both stay
        "eve@ex\u00e4mple.com",
    ]
    with database.engine.begin() as conn:
        for identifier in rows:
            conn.execute(
                text(
                    "INSERT INTO users (identifier, first_name, last_name, created_at) "
                    "VALUES (:i, 'A', 'B', :now)"
                ),
                {"i": identifier, "now": now},
            )
    upgrade(database)
    with database.engine.connect() as conn:
        stored = set(conn.execute(text("SELECT identifier FROM users")).scalars())
    assert stored == {
        "zo\u00eb@example.com",
        "ada@ex\u00e4mple.com",
        "bob@example.com",
        "fin@example.com",
        "eve@xn--exmple-cua.com",
        "eve@ex\u00e4mple.com",
    }
