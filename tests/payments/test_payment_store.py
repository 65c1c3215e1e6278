"""The payment tables on a real database: the migrations match the models and go down and up
again, concurrent captures of one authorization give exactly one purchase, and a client's
order reference becomes a purchase once however many authorizations race for it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, Table, func, insert, select, text
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


def _refused_as_used(r: httpx.Response, ref_id: str) -> str:
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request"), r.text
    description: str = r.json()["error_description"]
    assert f"ref_id '{ref_id}' was already captured" in description
    return description


def _unused_authorizations(server: LiveServer) -> int:
    with server.services.database.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(models.PaymentAuthorization)
                .where(models.PaymentAuthorization.used_at.is_(None))
            ).scalar_one()
        )


@pytest.mark.data
def test_an_order_reference_is_captured_once(live_server: LiveServer) -> None:
    payer = enroll_payer(live_server)
    with live_server.http() as http:
        first = authorize(http, payer).json()["authorization_id"]
        second = authorize(http, payer).json()["authorization_id"]
        done = capture(http, payer, first, "700", ref_id="order-9")
        assert done.status_code == 201, done.text
        again = capture(http, payer, second, "700", ref_id="order-9")
        said = _refused_as_used(again, "order-9")
        assert f"as purchase {done.json()['purchase_id']}" in said
        # The refused capture used nothing up: its authorization captures another order.
        assert _unused_authorizations(live_server) == 1
        assert capture(http, payer, second, "700", ref_id="order-10").status_code == 201
        # Another client's order-9 is its own.
        other = enroll_payer(live_server, user=2, identifier="other@example.com")
        theirs = authorize(http, other).json()["authorization_id"]
        assert capture(http, other, theirs, "700", ref_id="order-9").status_code == 201


@pytest.mark.data
def test_of_concurrent_captures_of_one_order_reference_exactly_one_wins(
    live_server: LiveServer,
) -> None:
    """Six authorizations captured at once with one ref_id: one purchase; the five refused
    captures leave their authorizations unused and store nothing."""
    payer = enroll_payer(live_server)
    racers = 6
    with live_server.http() as http:
        ids = [authorize(http, payer).json()["authorization_id"] for _ in range(racers)]
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(racers)

    def race(authorization_id: str) -> None:
        with live_server.http() as http:
            start.wait()
            response = capture(http, payer, authorization_id, "700", ref_id="order-race")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=race, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [400] * (racers - 1), [r.text for r in answers]
    for refused in (r for r in answers if r.status_code == 400):
        _refused_as_used(refused, "order-race")
    with live_server.services.database.engine.connect() as conn:
        purchases = conn.execute(select(models.Purchase)).all()
    assert [(p.ref_id, p.amount_cents) for p in purchases] == [("order-race", 700)]
    assert _unused_authorizations(live_server) == racers - 1


def test_the_reference_migration_fills_the_client_and_stops_on_duplicates(
    database: Database,
) -> None:
    """0005 on a database with purchases: client_pk comes from the authorization; a client's
    ref_id captured twice before stops the upgrade with a sentence (no purchase is dropped)."""
    cfg = alembic_config(database.engine.url.render_as_string(hide_password=False))
    with database.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004")
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    rows: list[tuple[type[models.Base], dict[str, object]]] = [
        (
            models.Client,
            {
                "pk": 1,
                "client_id": "c1",
                "name": "Shop",
                "description": "",
                "redirect_uris": [],
                "scopes": [],
                "disabled": False,
                "created_at": now,
            },
        ),
        (
            models.User,
            {
                "pk": 1,
                "identifier": "u@example.com",
                "first_name": "A",
                "last_name": "B",
                "created_at": now,
            },
        ),
        (
            models.Signature,
            {
                "pk": 1,
                "user_pk": 1,
                "role": "signed",
                "active": True,
                "sealed": b"x",
                "created_at": now,
            },
        ),
        (
            models.BankAccount,
            {
                "pk": 1,
                "user_pk": 1,
                "iban_digest": "d",
                "iban_sealed": b"x",
                "iban_last4": "0000",
                "holder_name": "A B",
                "verified": True,
                "flagged_for_review": False,
                "created_at": now,
            },
        ),
        (
            models.Mandate,
            {
                "pk": 1,
                "reference": "M1",
                "client_pk": 1,
                "user_pk": 1,
                "account_pk": 1,
                "signature_pk": 1,
                "kind": "recurrent",
                "text": "t",
                "text_sha256": "s",
                "signed_at": now,
            },
        ),
    ]
    for pk in (1, 2):
        rows.append(
            (
                models.PaymentAuthorization,
                {
                    "pk": pk,
                    "authorization_id": f"{pk:024x}",
                    "client_pk": 1,
                    "user_pk": 1,
                    "mandate_pk": 1,
                    "account_pk": 1,
                    "created_at": now,
                    "expires_at": now,
                    "used_at": now,
                },
            )
        )
    with database.engine.begin() as conn:
        for model, values in rows:
            table = model.__table__  # typed as any FromClause; a mapped class has a Table
            assert isinstance(table, Table)
            conn.execute(insert(table).values(**values))
        purchases = Table("purchases", MetaData(), autoload_with=conn)  # before 0005: no client_pk
        for pk in (1, 2):
            conn.execute(
                insert(purchases).values(
                    pk=pk,
                    purchase_id=f"{pk + 10:024x}",
                    authorization_pk=pk,
                    ref_id="same",
                    amount_cents=100,
                    created_at=now,
                )
            )
    with pytest.raises(RuntimeError, match=r"1 order reference\(s\) .* captured more than once"):
        upgrade(database)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE purchases SET ref_id = 'other' WHERE pk = 2"))
    upgrade(database)
    with database.engine.connect() as conn:
        client_pks = list(
            conn.execute(text("SELECT client_pk FROM purchases ORDER BY pk")).scalars()
        )
    assert client_pks == [1, 1]
    assert _schema_differences(database) == []
