"""The payment tables on a real database: the migration matches the models and goes down and up
again, and concurrent captures of one authorization give exactly one purchase."""

from __future__ import annotations

import threading

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from support.payments import authorize, capture, enroll_payer
from support.server import LiveServer

from authature.store import models
from authature.store.db import Database, alembic_config, upgrade


def _schema_differences(database: Database) -> list[object]:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, models.Base.metadata))


def test_the_payments_migration_matches_the_models_and_goes_down_and_up(
    database: Database,
) -> None:
    assert _schema_differences(database) == []
    cfg = alembic_config(database.engine.url.render_as_string(hide_password=False))
    with database.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0002")
    with database.engine.connect() as conn:
        assert not database.engine.dialect.has_table(conn, "bank_accounts")
    upgrade(database)
    assert _schema_differences(database) == []


@pytest.mark.data
def test_of_concurrent_captures_of_one_authorization_exactly_one_wins(
    live_server: LiveServer,
) -> None:
    payer = enroll_payer(live_server)
    with live_server.http() as http:
        authorization_id = authorize(http, payer).json()["authorization_id"]
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def race() -> None:
        with live_server.http() as http:
            start.wait()
            response = capture(http, payer, authorization_id, "700")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [400] * 5, [r.text for r in answers]
    assert {r.json()["error"] for r in answers if r.status_code == 400} == {"invalid_grant"}
    with live_server.services.database.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(models.Purchase)).scalar_one()
    assert count == 1
