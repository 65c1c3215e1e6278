"""The SQL stores on a real database: SQLite by default, PostgreSQL in the second CI run.

These cover what differs between the two databases: time zones and concurrent writers.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from authature.oauth.ports import AccessTokenRecord, CodeRecord
from authature.store import models
from authature.store.db import Database
from authature.store.repositories import SqlRepos, SqlUnitOfWork

PARIS_WINTER = timezone(timedelta(hours=1))
NOW = datetime(2026, 1, 15, 12, 30, 45, 123456, tzinfo=UTC)


def _user_and_client(repos: SqlRepos) -> tuple[int, int]:
    user = repos.users.create("ada@example.com", "Ada", "Lovelace", None, NOW)
    client = repos.clients.create(
        "client-1", "digest", "Shop", "", None, ["http://127.0.0.1:9/cb"], ["capture"], NOW
    )
    return user.pk, client.pk


def _code(digest: str, client_pk: int, user_pk: int, expires_at: datetime) -> CodeRecord:
    return CodeRecord(
        code_digest=digest,
        client_pk=client_pk,
        user_pk=user_pk,
        redirect_uri="http://127.0.0.1:9/cb",
        scopes=("capture",),
        state="s",
        device_uid=None,
        code_challenge=None,
        code_challenge_method=None,
        nonce=None,
        signature_pk=None,
        auth_time=NOW,
        expires_at=expires_at,
        used_at=None,
    )


def test_times_come_back_as_the_same_instant_in_utc(database: Database) -> None:
    uow = SqlUnitOfWork(database)
    given = NOW.astimezone(PARIS_WINTER)  # 13:30:45 +01:00, the same instant as NOW
    with uow() as repos:
        user_pk, client_pk = _user_and_client(repos)
        repos.codes.add(_code("c" * 64, client_pk, user_pk, given))
    with uow() as repos:
        record, _ = repos.codes.consume("c" * 64, NOW)
    assert record is not None
    assert record.expires_at == NOW
    assert record.expires_at.tzinfo is UTC
    assert record.expires_at.hour == 12
    assert record.used_at == NOW and record.used_at.tzinfo is UTC


def test_time_comparisons_in_sql_use_the_instant(database: Database) -> None:
    """A row that expired a minute ago is found by `expires_at < now` whatever the zone."""
    uow = SqlUnitOfWork(database)
    with uow() as repos:
        user_pk, client_pk = _user_and_client(repos)
        repos.codes.add(_code("a" * 64, client_pk, user_pk, NOW - timedelta(minutes=1)))
        repos.codes.add(_code("b" * 64, client_pk, user_pk, NOW + timedelta(minutes=1)))
    with database.transaction() as session:
        expired = session.scalars(
            select(models.AuthorizationCode.code_digest).where(
                models.AuthorizationCode.expires_at < NOW.astimezone(PARIS_WINTER)
            )
        ).all()
    assert expired == ["a" * 64]


def test_postgres_stores_the_instant_not_the_wall_clock(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has no time zone type; covered by the round trip above")
    uow = SqlUnitOfWork(database)
    with uow() as repos:
        user_pk, client_pk = _user_and_client(repos)
        repos.codes.add(_code("d" * 64, client_pk, user_pk, NOW))
    with database.engine.connect() as conn:
        zone = conn.execute(text("SHOW timezone")).scalar_one()
        stored = conn.execute(
            text(
                "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'HH24:MI') FROM authorization_codes"
            )
        ).scalar_one()
    assert zone != "UTC"  # the test server runs in another zone on purpose
    assert stored == "12:30"


def test_a_naive_datetime_is_refused(database: Database) -> None:
    uow = SqlUnitOfWork(database)
    with pytest.raises(Exception, match="naive datetime"), uow() as repos:
        repos.users.create("bob@example.com", "Bob", "B", None, datetime(2026, 1, 1))


def _race(uow: SqlUnitOfWork, digest: str, racers: int) -> list[bool]:
    """`racers` threads, each in its own connection, consume one code at the same moment."""
    barrier = threading.Barrier(racers)
    wins: list[bool] = []
    problems: list[BaseException] = []

    def redeem() -> None:
        try:
            barrier.wait(timeout=10)
            with uow() as repos:
                record, first = repos.codes.consume(digest, NOW)
                assert record is not None
            wins.append(first)
        except BaseException as exc:  # re-raised below: a thread must not swallow it
            problems.append(exc)

    threads = [threading.Thread(target=redeem) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not problems, problems
    return wins


def test_of_many_concurrent_redeemers_exactly_one_wins(database: Database) -> None:
    """RFC 6749 4.1.2: the code is used once, even when the calls race in separate connections."""
    uow = SqlUnitOfWork(database)
    with uow() as repos:
        user_pk, client_pk = _user_and_client(repos)
        for i in range(5):
            repos.codes.add(_code(f"{i:064d}", client_pk, user_pk, NOW + timedelta(minutes=5)))
    for i in range(5):
        wins = _race(uow, f"{i:064d}", racers=8)
        assert sorted(wins) == [False] * 7 + [True]


def test_an_unknown_code_is_not_consumed(database: Database) -> None:
    with SqlUnitOfWork(database)() as repos:
        assert repos.codes.consume("0" * 64, NOW) == (None, False)


def test_consume_with_user_is_consume_and_the_users_row(database: Database) -> None:
    """The code exchange's one statement on PostgreSQL (two on SQLite) gives what `consume`
    and `users.by_pk` give; only the first use returns the user."""
    uow = SqlUnitOfWork(database)
    with uow() as repos:
        user_pk, client_pk = _user_and_client(repos)
        repos.codes.add(_code("c" * 64, client_pk, user_pk, NOW + timedelta(minutes=5)))
        repos.codes.add(_code("d" * 64, client_pk, user_pk, NOW + timedelta(minutes=5)))
        user = repos.users.by_pk(user_pk)
    with uow() as repos:
        first = repos.codes.consume_with_user("c" * 64, NOW)
        again = repos.codes.consume_with_user("c" * 64, NOW)
        unknown = repos.codes.consume_with_user("0" * 64, NOW)
    with uow() as repos:
        expected, used = repos.codes.consume("d" * 64, NOW)
    assert used and first[1] and first[2] == user and user is not None
    assert first[0] == replace(expected, code_digest="c" * 64) if expected else False
    assert again == (first[0], False, None)
    assert unknown == (None, False, None)


def test_rows_on_the_driver_path_match_sqlalchemy(database: Database) -> None:
    """The hot statements run on the driver (`_DriverTable`): what they write, SQLAlchemy reads
    back and compares in SQL as its own rows, and what they read equals SQLAlchemy's reading."""
    uow = SqlUnitOfWork(database)
    given = NOW.astimezone(PARIS_WINTER)
    with uow() as repos:
        user_pk, client_pk = _user_and_client(repos)
        repos.tokens.add_access(
            AccessTokenRecord(
                token_digest="t" * 64,
                client_pk=client_pk,
                user_pk=user_pk,
                scopes=("capture", "authenticate"),
                device_uid=None,
                signature_pk=None,
                code_digest="c" * 64,
                family="f" * 32,
                created_at=given,
                expires_at=given + timedelta(hours=1),
                revoked_at=None,
            )
        )
    with uow.read() as repos:
        stored = repos.tokens.access("t" * 64)  # through SQLAlchemy
        assert repos.clients.by_client_id("client-1") == repos.clients.by_pk(client_pk)
        user = repos.users.by_pk(user_pk)
    assert stored is not None
    assert stored.created_at == NOW and stored.created_at.tzinfo is UTC
    assert stored.expires_at == NOW + timedelta(hours=1)
    assert stored.scopes == ("capture", "authenticate")
    assert user is not None and user.created_at == NOW and user.created_at.tzinfo is UTC
    with database.transaction() as session:
        live = session.scalars(
            select(models.AccessToken.token_digest).where(
                models.AccessToken.expires_at > NOW.astimezone(PARIS_WINTER)
            )
        ).all()
    assert live == ["t" * 64]
    with pytest.raises(ValueError, match="naive datetime"), uow() as repos:
        repos.codes.consume("c" * 64, datetime(2026, 1, 1))
