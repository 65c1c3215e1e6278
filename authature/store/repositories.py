"""SQLAlchemy implementations of the stores in `oauth.ports`, one unit of work per transaction."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    LargeBinary,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from authature.oauth import ports
from authature.payments import ports as payment_ports
from authature.security.keys import SEAL_TAG_BYTES
from authature.store import models
from authature.store.db import Database

_R = TypeVar("_R")


def _record(cls: type[_R], row: object, **overrides: object) -> _R:
    """A port record from a row: same field names; JSON lists become tuples."""
    values: dict[str, object] = {}
    for name in cls.__dataclass_fields__:  # type: ignore[attr-defined]
        value = overrides[name] if name in overrides else getattr(row, name)
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _values(record: object, **overrides: object) -> dict[str, object]:
    """Column values for a new row from a port record; tuples become JSON lists."""
    values = {k: getattr(record, k) for k in record.__dataclass_fields__}  # type: ignore[attr-defined]
    values.update(overrides)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


class _Unit:
    """One unit of work: its transaction's connection, and an ORM session on that connection
    made only if an operator path asks for one (client and user creation, client updates).

    The per-request paths run Core statements on the connection alone: a Session per request
    (begin, connection, commit, close) cost more than the statements themselves.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._orm: Session | None = None

    @property
    def session(self) -> Session:
        if self._orm is None:
            self._orm = Session(bind=self.connection, expire_on_commit=False)
        return self._orm

    def core(self) -> Connection:
        """The connection, after flushing any pending ORM objects so statements see them."""
        orm = self._orm
        if orm is not None and (orm.new or orm.dirty or orm.deleted):
            orm.flush()
        return self.connection

    def finish(self) -> None:
        if self._orm is not None:
            self._orm.flush()

    def close(self) -> None:
        if self._orm is not None:
            self._orm.close()


def _table(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


_CLIENTS = _table(models.Client)
_USERS = _table(models.User)
_REQUESTS = _table(models.AuthRequest)
_CODES = _table(models.AuthorizationCode)
_ACCESS = _table(models.AccessToken)
_REFRESH = _table(models.RefreshToken)
_SIGNATURES = _table(models.Signature)
_ATTEMPTS = _table(models.VerificationAttempt)
_ACCOUNTS = _table(models.BankAccount)
_MANDATES = _table(models.Mandate)
_AUTHORIZATIONS = _table(models.PaymentAuthorization)
_PURCHASES = _table(models.Purchase)


def _by(table: Table, column: str) -> Select[Any]:
    """`SELECT * FROM table WHERE column = :value`, built once: executing a prebuilt statement
    skips constructing it and computing its cache key on every request."""
    return select(table).where(table.c[column] == bindparam("value"))


_ACCESS_TOKEN = _by(_ACCESS, "token_digest")
_REFRESH_TOKEN = _by(_REFRESH, "token_digest")


def _client(row: Any) -> ports.ClientRecord:  # an ORM object or a table row
    return _record(ports.ClientRecord, row, scopes=frozenset(row.scopes))


class SqlClientStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def by_client_id(self, client_id: str) -> ports.ClientRecord | None:
        row = _driver_one(self._u.core(), _CLIENT_BY_ID_SQL, (client_id,))
        return _client(_D_CLIENTS.row(row)) if row else None

    def by_pk(self, pk: int) -> ports.ClientRecord | None:
        row = _driver_one(self._u.core(), _CLIENT_BY_PK_SQL, (pk,))
        return _client(_D_CLIENTS.row(row)) if row else None

    def all(self) -> list[ports.ClientRecord]:
        return [
            _client(r)
            for r in self._u.session.scalars(select(models.Client).order_by(models.Client.pk))
        ]

    def create(
        self,
        client_id: str,
        secret_digest: str | None,
        name: str,
        description: str,
        logo_data_uri: str | None,
        redirect_uris: Sequence[str],
        scopes: Sequence[str],
        now: datetime,
    ) -> ports.ClientRecord:
        row = models.Client(
            client_id=client_id,
            secret_digest=secret_digest,
            name=name,
            description=description,
            logo_data_uri=logo_data_uri,
            redirect_uris=list(redirect_uris),
            scopes=list(scopes),
            disabled=False,
            created_at=now,
        )
        self._u.session.add(row)
        self._u.session.flush()
        return _client(row)

    def update(self, pk: int, **changes: object) -> ports.ClientRecord | None:
        row = self._u.session.get(models.Client, pk)
        if row is None:
            return None
        for key, value in changes.items():
            setattr(row, key, value)
        self._u.session.flush()
        return _client(row)

    def end_grants(self, pk: int, now: datetime) -> tuple[int, int, int, int]:
        """Revoke the client's live access and refresh tokens, delete its unused codes and its
        sign-ins in progress, and expire its uncaptured payment authorizations (`clients
        disable`). Returns (tokens revoked, codes deleted, sign-ins deleted, payment
        authorizations expired)."""
        connection = self._u.core()
        tokens = 0
        for table in (_ACCESS, _REFRESH):
            tokens += connection.execute(
                update(table)
                .where(
                    table.c.client_pk == pk, table.c.revoked_at.is_(None), table.c.expires_at > now
                )
                .values(revoked_at=now)
            ).rowcount
        codes = connection.execute(
            delete(_CODES).where(_CODES.c.client_pk == pk, _CODES.c.used_at.is_(None))
        ).rowcount
        signins = connection.execute(delete(_REQUESTS).where(_REQUESTS.c.client_pk == pk)).rowcount
        authorizations = connection.execute(
            update(_AUTHORIZATIONS)
            .where(
                _AUTHORIZATIONS.c.client_pk == pk,
                _AUTHORIZATIONS.c.used_at.is_(None),
                _AUTHORIZATIONS.c.expires_at > now,
            )
            .values(expires_at=now)
        ).rowcount
        return tokens, codes, signins, authorizations


class SqlUserStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def by_identifier(self, identifier: str) -> ports.UserRecord | None:
        row = _driver_one(self._u.core(), _USER_BY_IDENTIFIER_SQL, (identifier,))
        return _record(ports.UserRecord, _D_USERS.row(row)) if row else None

    def by_pk(self, pk: int) -> ports.UserRecord | None:
        row = _driver_one(self._u.core(), _USER_BY_PK_SQL, (pk,))
        return _record(ports.UserRecord, _D_USERS.row(row)) if row else None

    def create(
        self, identifier: str, first_name: str, last_name: str, mobile: str | None, now: datetime
    ) -> ports.UserRecord:
        row = models.User(
            identifier=identifier,
            first_name=first_name,
            last_name=last_name,
            mobile=mobile,
            created_at=now,
        )
        self._u.session.add(row)
        self._u.session.flush()
        return _record(ports.UserRecord, row)

    def lock(self, user_pk: int, until: datetime | None) -> None:
        stmt = update(_USERS).where(_USERS.c.pk == user_pk).values(locked_until=until)
        self._u.core().execute(stmt)


def _request(row: Any) -> ports.AuthRequestRecord:  # an ORM object or a table row
    blobs = tuple(base64.b64decode(b) for b in row.enrollment_blobs)
    bank = row.pending_bank_sealed
    return _record(
        ports.AuthRequestRecord,
        row,
        enrollment_blobs=blobs,
        pending_bank_sealed=None if bank is None else bytes(bank),
    )


class SqlAuthRequestStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def add(self, record: ports.AuthRequestRecord) -> None:
        blobs = [base64.b64encode(b).decode() for b in record.enrollment_blobs]
        values = _values(record, enrollment_blobs=blobs)
        _driver_insert(self._u.core(), _D_REQUESTS, values)

    def get(self, handle_digest: str) -> ports.AuthRequestRecord | None:
        row = _driver_one(self._u.core(), _REQUEST_FOR_UPDATE_SQL, (handle_digest,))
        return _request(_D_REQUESTS.row(row)) if row else None

    def update(self, handle_digest: str, **changes: object) -> None:
        if "enrollment_blobs" in changes:
            blobs = changes["enrollment_blobs"]
            assert isinstance(blobs, tuple | list)
            changes["enrollment_blobs"] = [base64.b64encode(b).decode() for b in blobs]
        if "scopes" in changes:
            changes["scopes"] = list(changes["scopes"])  # type: ignore[call-overload]
        _driver_update(self._u.core(), _D_REQUESTS, changes, "handle_digest", handle_digest)

    def delete(self, handle_digest: str) -> None:
        _driver_rows(self._u.core(), _DELETE_REQUEST_SQL, (handle_digest,))


class SqlCodeStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def add(self, record: ports.CodeRecord) -> None:
        _driver_insert(self._u.core(), _D_CODES, _values(record))

    def consume(self, code_digest: str, now: datetime) -> tuple[ports.CodeRecord | None, bool]:
        # A conditional UPDATE is atomic in both databases: of concurrent redeemers exactly
        # one changes the row (RFC 6749 4.1.2: a code is used once). It returns the row it
        # changed; only a code that is unknown or already used costs a second statement.
        connection = self._u.core()
        used_at = _D_CODES.encode(connection.dialect.name, "used_at", now)
        rows, _ = _driver_rows(connection, _USE_CODE_SQL, (used_at, code_digest))
        if rows:
            return _record(ports.CodeRecord, _D_CODES.row(rows[0])), True
        row = _driver_one(connection, _CODE_SQL, (code_digest,))
        if row is None:
            return None, False
        return _record(ports.CodeRecord, _D_CODES.row(row)), False

    def consume_with_user(
        self, code_digest: str, now: datetime
    ) -> tuple[ports.CodeRecord | None, bool, ports.UserRecord | None]:
        connection = self._u.core()
        if connection.dialect.name != "postgresql":  # SQLite has no UPDATE inside WITH
            record, first_use = self.consume(code_digest, now)
            if record is None or not first_use:
                return record, first_use, None
            return record, True, SqlUserStore(self._u).by_pk(record.user_pk)
        used_at = _D_CODES.encode("postgresql", "used_at", now)
        rows, _ = _driver_rows(connection, _USE_CODE_WITH_USER_SQL, (used_at, code_digest))
        if not rows:
            record, _ = self.consume(code_digest, now)  # unknown or used: nothing to update
            return record, False, None
        split = len(_D_CODES.names)
        code_row, user_row = rows[0][:split], rows[0][split:]
        record = _record(ports.CodeRecord, _D_CODES.row(code_row))
        user = (
            _record(ports.UserRecord, _D_USERS.row(user_row)) if user_row[0] is not None else None
        )
        return record, True, user


# The hottest statement (every resource server's token check), run on the driver directly:
# through SQLAlchemy, binding the parameter and building the row cost about 0.1 ms of Python per
# statement here, ten times the query itself on SQLite. One statement reads the token and its
# client together, so the answer is consistent even on an autocommit read connection.
_CHECK_QUERY = (
    "SELECT t.client_pk, c.client_id, c.disabled, t.scopes, t.device_uid, t.expires_at,"
    " t.revoked_at, c.scopes FROM access_tokens t LEFT JOIN clients c ON c.pk = t.client_pk"
    " WHERE t.token_digest = {}"
)
_CHECK_SQL = {"sqlite": _CHECK_QUERY.format("?"), "postgresql": _CHECK_QUERY.format("%s")}
# Many checks in one statement (`web.tokenbatch`), the digest first. On PostgreSQL one text
# whatever the count (an array parameter), so psycopg prepares it on the server after its
# fifth use on a connection; SQLite gets one placeholder per digest.
_CHECK_MANY_QUERY = "SELECT t.token_digest, " + _CHECK_QUERY[len("SELECT ") :]
_CHECK_MANY_PG = {"postgresql": _CHECK_MANY_QUERY.replace("= {}", "= ANY(%s)")}


def _utc(value: Any) -> datetime | None:
    """A driver's timestamp as aware UTC, as `models.UTCDateTime` gives it: SQLite hands back
    SQLAlchemy's stored text (naive UTC), psycopg an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _driver_rows(
    connection: Connection, sql: Mapping[str, str], params: Sequence[Any]
) -> tuple[list[Any], int]:
    """A statement run on the driver's cursor directly: its rows and its rowcount.

    A driver error is not reported from here: the statement runs once more through SQLAlchemy,
    whose error handling then applies as for every other statement (a lost connection
    invalidates the pool and answers 503, `web.app`). Retrying is harmless: a read reads again,
    and a write that failed changed nothing (or, on PostgreSQL, left the transaction aborted, so
    the retry fails too and the unit rolls back).
    """
    text = sql[connection.dialect.name]
    try:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(text, tuple(params))
            rows = list(cursor.fetchall()) if _has_rows(cursor) else []
            return rows, cursor.rowcount
        finally:
            cursor.close()
    except connection.dialect.loaded_dbapi.Error:
        result = connection.exec_driver_sql(text, tuple(params))
        rows = list(result.all()) if result.returns_rows else []
        return rows, result.rowcount


_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK (psycopg.pq.ExecStatus.TUPLES_OK)


def _has_rows(cursor: Any) -> bool:
    """Whether the statement returned rows. psycopg builds a Column object per column for
    `description` (5 % of a code exchange's CPU); its result's status says the same."""
    result = getattr(cursor, "pgresult", None)
    if result is not None:
        return bool(result.status == _TUPLES_OK)
    return cursor.description is not None


def _driver_one(connection: Connection, sql: Mapping[str, str], params: tuple[Any, ...]) -> Any:
    """The first row of a read statement on the driver directly (see `_driver_rows`)."""
    rows, _ = _driver_rows(connection, sql, params)
    return rows[0] if rows else None


def _json_list(value: Any) -> tuple[str, ...]:
    return tuple(json.loads(value) if isinstance(value, str | bytes) else value)


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy's SQLite DATETIME stores it (naive UTC text), so rows written
    here and through SQLAlchemy compare and read back alike."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _pg_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def _decoder(column_type: Any) -> Any:
    if isinstance(column_type, models.UTCDateTime):
        return _utc
    if isinstance(column_type, JSON):
        return _json_value
    if isinstance(column_type, Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(column_type, LargeBinary):
        return lambda v: None if v is None else bytes(v)
    return None


def _encoder(column_type: Any, dialect: str) -> Any:
    if isinstance(column_type, models.UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _pg_time
    if isinstance(column_type, JSON):
        return json.dumps
    return None


class _DriverTable:
    """Hot statements on one table run on the driver (`_driver_rows`), with the conversions
    SQLAlchemy's column types make (`models.UTCDateTime`, JSON, booleans) done here.

    Through SQLAlchemy, compiling, binding and building rows cost about 0.1 ms of Python per
    statement here, several times the statements themselves; the code exchange runs three.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.names = tuple(table.c.keys())
        self._decoders = [_decoder(table.c[n].type) for n in self.names]
        self._encoders = {
            d: {n: _encoder(table.c[n].type, d) for n in self.names}
            for d in ("sqlite", "postgresql")
        }
        self.columns = ", ".join(self.names)
        self._decoders_by_name = dict(zip(self.names, self._decoders, strict=True))
        self._statements: dict[tuple[Any, ...], dict[str, str]] = {}

    def sql(self, template: str, **parts: str) -> dict[str, str]:
        """`template` with {columns}, {table} (and `parts`) and ? placeholders, per dialect."""
        text = template.format(columns=self.columns, table=self.table.name, **parts)
        return {"sqlite": text, "postgresql": text.replace("?", "%s")}

    def decode(self, row: Sequence[Any]) -> dict[str, Any]:
        values = {}
        for name, decode, value in zip(self.names, self._decoders, row, strict=True):
            values[name] = decode(value) if decode is not None and value is not None else value
        return values

    def encode(self, dialect: str, name: str, value: Any) -> Any:
        encode = self._encoders[dialect][name]
        return encode(value) if encode is not None and value is not None else value

    def _known(self, names: Sequence[str]) -> None:
        unknown = [n for n in names if n not in self._decoders_by_name]
        if unknown or not names:
            raise ValueError(f"no such columns in {self.table.name}: {unknown}")

    def insert_sql(self, names: tuple[str, ...], returning: str | None) -> dict[str, str]:
        """Built from the table's column names only (checked); every value is a parameter."""
        key = ("insert", names, returning)
        sql = self._statements.get(key)
        if sql is None:
            self._known([*names, *([returning] if returning else [])])
            text = f"INSERT INTO {self.table.name} ({', '.join(names)}) VALUES ("  # noqa: S608
            text += ", ".join("?" for _ in names) + ")"
            if returning:
                text += f" RETURNING {returning}"
            sql = self._statements[key] = self.sql(text)
        return sql

    def update_sql(self, names: tuple[str, ...], where: str) -> dict[str, str]:
        key = ("update", names, where)
        sql = self._statements.get(key)
        if sql is None:
            self._known([*names, where])
            sets = ", ".join(f"{n} = ?" for n in names)
            text = f"UPDATE {self.table.name} SET {sets} WHERE {where} = ?"  # noqa: S608
            sql = self._statements[key] = self.sql(text)
        return sql

    def row(self, row: Sequence[Any]) -> SimpleNamespace:
        """A driver row as an object with the column names (for `_record`)."""
        return SimpleNamespace(**self.decode(row))


def _driver_insert(
    connection: Connection,
    table: _DriverTable,
    values: Mapping[str, Any],
    returning: str | None = None,
) -> list[Any]:
    """INSERT of the given columns (the others get their database defaults); with `returning`,
    the rows of `RETURNING returning`."""
    dialect = connection.dialect.name
    names = tuple(values)
    sql = table.insert_sql(names, returning)
    return _driver_rows(connection, sql, [table.encode(dialect, n, values[n]) for n in names])[0]


def _driver_update(
    connection: Connection, table: _DriverTable, changes: Mapping[str, Any], key: str, value: Any
) -> int:
    """UPDATE table SET changes WHERE key = value; the number of rows changed."""
    dialect = connection.dialect.name
    names = tuple(changes)
    params = [table.encode(dialect, n, changes[n]) for n in names]
    return _driver_rows(connection, table.update_sql(names, key), [*params, value])[1]


_D_CLIENTS = _DriverTable(_CLIENTS)
_D_USERS = _DriverTable(_USERS)
_D_CODES = _DriverTable(_CODES)
_D_ACCESS = _DriverTable(_ACCESS)
_D_REFRESH = _DriverTable(_REFRESH)
_D_REQUESTS = _DriverTable(_REQUESTS)
_D_SIGNATURES = _DriverTable(_SIGNATURES)
_D_ATTEMPTS = _DriverTable(_ATTEMPTS)
_CLIENT_BY_PK_SQL = _D_CLIENTS.sql("SELECT {columns} FROM {table} WHERE pk = ?")
_USER_BY_IDENTIFIER_SQL = _D_USERS.sql("SELECT {columns} FROM {table} WHERE identifier = ?")
_REQUEST_FOR_UPDATE_SQL = _D_REQUESTS.sql("SELECT {columns} FROM {table} WHERE handle_digest = ?")
_REQUEST_FOR_UPDATE_SQL["postgresql"] += " FOR UPDATE"
_DELETE_REQUEST_SQL = _D_REQUESTS.sql("DELETE FROM {table} WHERE handle_digest = ?")
_SIGNATURE_SQL = _D_SIGNATURES.sql("SELECT {columns} FROM {table} WHERE pk = ?")
# The row id and the seal's tag (`security.keys.SEAL_TAG_BYTES`): rows told apart without
# reading their sealed data. References oldest first, signed samples newest first.
_TAG = f"substr(sealed, 1, {SEAL_TAG_BYTES})"
# Enrollment stores its references, then its signed sample: a reference stored after the
# user's first signed sample was added by a template update.
_REFERENCE_REFS_SQL = _D_SIGNATURES.sql(
    "SELECT pk, {tag}, CASE WHEN pk > (SELECT min(s.pk) FROM {table} s WHERE s.user_pk = ? "
    "AND s.role = ?) THEN 1 ELSE 0 END FROM {table} WHERE user_pk = ? AND role = ? "
    "AND active = ? ORDER BY pk",
    tag=_TAG,
)
_EARLIER_SAMPLE_REFS_SQL = _D_SIGNATURES.sql(
    "SELECT pk, {tag} FROM {table} WHERE user_pk = ? AND NOT (role = ? AND active = ?) "
    "ORDER BY pk DESC LIMIT ?",
    tag=_TAG,
)
_CLIENT_BY_ID_SQL = _D_CLIENTS.sql("SELECT {columns} FROM {table} WHERE client_id = ?")
_USER_BY_PK_SQL = _D_USERS.sql("SELECT {columns} FROM {table} WHERE pk = ?")
_CODE_SQL = _D_CODES.sql("SELECT {columns} FROM {table} WHERE code_digest = ?")
_USE_CODE_SQL = _D_CODES.sql(
    "UPDATE {table} SET used_at = ? WHERE code_digest = ? AND used_at IS NULL RETURNING {columns}"
)

# The same conditional UPDATE with the code's user joined (PostgreSQL): one round trip.
_USE_CODE_WITH_USER_SQL = {
    "postgresql": (  # noqa: S608 - table and column names from the models, no input
        "WITH c AS (UPDATE {codes} SET used_at = %s WHERE code_digest = %s AND used_at IS NULL"
        " RETURNING {code_columns}) SELECT {c_columns}, {u_columns} FROM c"
        " LEFT JOIN {users} u ON u.pk = c.user_pk"
    ).format(
        codes=_D_CODES.table.name,
        users=_D_USERS.table.name,
        code_columns=_D_CODES.columns,
        c_columns=", ".join(f"c.{n}" for n in _D_CODES.names),
        u_columns=", ".join(f"u.{n}" for n in _D_USERS.names),
    )
}


def _token_check(row: Sequence[Any]) -> ports.TokenCheck:
    client_pk, client_id, disabled, scopes, device_uid, expires_at, revoked_at, held = row
    expires = _utc(expires_at)
    assert expires is not None
    return ports.TokenCheck(
        client_pk=int(client_pk),
        client_id=client_id,
        client_disabled=bool(disabled),
        scopes=_json_list(scopes),
        device_uid=device_uid,
        expires_at=expires,
        revoked_at=_utc(revoked_at),
        client_scopes=_json_list(held) if held is not None else (),
    )


class SqlTokenStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def check(self, token_digest: str) -> ports.TokenCheck | None:
        row = _driver_one(self._u.core(), _CHECK_SQL, (token_digest,))
        return None if row is None else _token_check(row)

    def check_many(self, token_digests: Sequence[str]) -> dict[str, ports.TokenCheck]:
        connection = self._u.core()
        if connection.dialect.name == "postgresql":
            rows, _ = _driver_rows(connection, _CHECK_MANY_PG, (list(token_digests),))
        else:
            marks = ", ".join("?" for _ in token_digests)
            sql = {"sqlite": _CHECK_MANY_QUERY.replace("= {}", f"IN ({marks})")}
            rows, _ = _driver_rows(connection, sql, tuple(token_digests))
        return {row[0]: _token_check(row[1:]) for row in rows}

    def add_access(self, record: ports.AccessTokenRecord) -> None:
        _driver_insert(self._u.core(), _D_ACCESS, _values(record))

    def access(self, token_digest: str) -> ports.AccessTokenRecord | None:
        row = self._u.core().execute(_ACCESS_TOKEN, {"value": token_digest}).first()
        return _record(ports.AccessTokenRecord, row) if row else None

    def add_refresh(self, record: ports.RefreshTokenRecord) -> None:
        _driver_insert(self._u.core(), _D_REFRESH, _values(record))

    def refresh(self, token_digest: str) -> ports.RefreshTokenRecord | None:
        row = self._u.core().execute(_REFRESH_TOKEN, {"value": token_digest}).first()
        return _record(ports.RefreshTokenRecord, row) if row else None

    def use_refresh(self, token_digest: str, now: datetime) -> bool:
        result = self._u.core().execute(
            update(_REFRESH)
            .where(_REFRESH.c.token_digest == token_digest, _REFRESH.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1

    def revoke_family(self, family: str, now: datetime) -> None:
        connection = self._u.core()
        for table in (_ACCESS, _REFRESH):
            connection.execute(
                update(table)
                .where(table.c.family == family, table.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def revoke_by_code(self, code_digest: str, now: datetime) -> None:
        stmt = select(_ACCESS.c.family).where(_ACCESS.c.code_digest == code_digest)
        families = self._u.core().execute(stmt).scalars().all()
        for family in set(families):
            self.revoke_family(family, now)

    def revoke_access(self, token_digest: str, now: datetime) -> None:
        stmt = update(_ACCESS).where(_ACCESS.c.token_digest == token_digest)
        self._u.core().execute(stmt.values(revoked_at=now))

    def families_of(self, digests: Sequence[str]) -> list[str]:
        stmt = select(_ACCESS.c.family).where(_ACCESS.c.token_digest.in_(list(digests)))
        return list(self._u.core().execute(stmt).scalars())


def _where_references(stmt: Select[Any]) -> Select[Any]:
    """A user's active references, oldest first."""
    return stmt.where(
        _SIGNATURES.c.user_pk == bindparam("user_pk"),
        _SIGNATURES.c.role == "reference",
        _SIGNATURES.c.active.is_(True),
    ).order_by(_SIGNATURES.c.pk)


def _where_recent_signed(stmt: Select[Any]) -> Select[Any]:
    """A user's most recent signed samples, newest first."""
    return (
        stmt.where(_SIGNATURES.c.user_pk == bindparam("user_pk"), _SIGNATURES.c.role == "signed")
        .order_by(_SIGNATURES.c.pk.desc())
        .limit(bindparam("limit"))
    )


class SqlSignatureStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def add(self, user_pk: int, role: str, sealed_for: ports.SealFn, now: datetime) -> int:
        connection = self._u.core()
        values = {
            "user_pk": user_pk,
            "role": role,
            "active": True,
            "sealed": b"",
            "created_at": now,
        }
        rows = _driver_insert(connection, _D_SIGNATURES, values, returning="pk")
        pk = int(rows[0][0])
        # The primary key is part of the sealed data's associated data.
        _driver_update(connection, _D_SIGNATURES, {"sealed": sealed_for(pk)}, "pk", pk)
        return pk

    def references(self, user_pk: int) -> list[ports.SignatureRecord]:
        rows = self._u.core().execute(_where_references(select(_SIGNATURES)), {"user_pk": user_pk})
        return [_record(ports.SignatureRecord, r) for r in rows]

    def recent_signed(self, user_pk: int, limit: int) -> list[ports.SignatureRecord]:
        stmt = _where_recent_signed(select(_SIGNATURES))
        rows = self._u.core().execute(stmt, {"user_pk": user_pk, "limit": limit})
        return [_record(ports.SignatureRecord, r) for r in rows]

    def reference_refs(self, user_pk: int) -> list[ports.SignatureRef]:
        rows, _ = _driver_rows(
            self._u.core(), _REFERENCE_REFS_SQL, (user_pk, "signed", user_pk, "reference", True)
        )
        return [ports.SignatureRef(int(pk), bytes(tag), bool(late)) for pk, tag, late in rows]

    def earlier_sample_refs(self, user_pk: int, limit: int) -> list[ports.SignatureRef]:
        rows, _ = _driver_rows(
            self._u.core(), _EARLIER_SAMPLE_REFS_SQL, (user_pk, "reference", True, limit)
        )
        return [ports.SignatureRef(int(pk), bytes(tag)) for pk, tag in rows]

    def by_pk(self, pk: int) -> ports.SignatureRecord | None:
        row = _driver_one(self._u.core(), _SIGNATURE_SQL, (pk,))
        return _record(ports.SignatureRecord, _D_SIGNATURES.row(row)) if row else None

    def retire_oldest_references(self, user_pk: int, keep: int) -> None:
        refs = self.reference_refs(user_pk)  # ids only: the sealed data is not needed here
        for ref in refs[: max(0, len(refs) - keep)]:
            _driver_update(self._u.core(), _D_SIGNATURES, {"active": False}, "pk", ref.pk)


class SqlAttemptStore:
    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def record(
        self,
        user_pk: int,
        client_pk: int | None,
        now: datetime,
        accepted: bool,
        reason: str,
        score: float | None,
        threshold: float | None,
    ) -> None:
        _driver_insert(
            self._u.core(),
            _D_ATTEMPTS,
            {
                "user_pk": user_pk,
                "client_pk": client_pk,
                "at": now,
                "accepted": accepted,
                "reason": reason,
                "score": score,
                "threshold": threshold,
            },
        )

    def failures_since(self, user_pk: int, since: datetime) -> int:
        """Rejected attempts since `since`, counting only those after the last acceptance."""
        connection = self._u.core()
        last_ok = connection.execute(
            select(func.max(_ATTEMPTS.c.at)).where(
                _ATTEMPTS.c.user_pk == user_pk, _ATTEMPTS.c.accepted.is_(True)
            )
        ).scalar()
        start = max(since, last_ok) if last_ok else since
        count = connection.execute(
            select(func.count()).where(
                _ATTEMPTS.c.user_pk == user_pk,
                _ATTEMPTS.c.accepted.is_(False),
                _ATTEMPTS.c.at > start,
            )
        ).scalar()
        return int(count or 0)


class SqlPaymentStore:
    """Bank accounts, mandates, pre-authorizations and purchases (`payments.ports`)."""

    def __init__(self, unit: _Unit) -> None:
        self._u = unit

    def _account(self, row: Any) -> payment_ports.BankAccountRecord:
        return _record(payment_ports.BankAccountRecord, row)

    def account(self, pk: int) -> payment_ports.BankAccountRecord | None:
        row = self._u.core().execute(select(_ACCOUNTS).where(_ACCOUNTS.c.pk == pk)).first()
        return self._account(row) if row else None

    def account_by_digest(
        self, user_pk: int, iban_digest: str
    ) -> payment_ports.BankAccountRecord | None:
        stmt = select(_ACCOUNTS).where(
            _ACCOUNTS.c.user_pk == user_pk, _ACCOUNTS.c.iban_digest == iban_digest
        )
        row = self._u.core().execute(stmt).first()
        return self._account(row) if row else None

    def latest_account(self, user_pk: int) -> payment_ports.BankAccountRecord | None:
        stmt = (
            select(_ACCOUNTS)
            .where(_ACCOUNTS.c.user_pk == user_pk)
            .order_by(_ACCOUNTS.c.pk.desc())
            .limit(1)
        )
        row = self._u.core().execute(stmt).first()
        return self._account(row) if row else None

    def flagged_accounts(self, user_pk: int) -> int:
        stmt = select(func.count()).where(
            _ACCOUNTS.c.user_pk == user_pk, _ACCOUNTS.c.flagged_for_review.is_(True)
        )
        return int(self._u.core().execute(stmt).scalar() or 0)

    def add_account(
        self,
        user_pk: int,
        iban_digest: str,
        sealed_for: payment_ports.SealFn,
        iban_last4: str,
        holder_name: str,
        verified: bool,
        flagged_for_review: bool,
        now: datetime,
    ) -> payment_ports.BankAccountRecord:
        connection = self._u.core()
        new = insert(_ACCOUNTS).values(
            user_pk=user_pk,
            iban_digest=iban_digest,
            iban_sealed=b"",
            iban_last4=iban_last4,
            holder_name=holder_name,
            verified=verified,
            flagged_for_review=flagged_for_review,
            created_at=now,
        )
        pk = int(connection.execute(new.returning(_ACCOUNTS.c.pk)).scalar_one())
        # The primary key is part of the sealed IBAN's associated data.
        connection.execute(
            update(_ACCOUNTS).where(_ACCOUNTS.c.pk == pk).values(iban_sealed=sealed_for(pk))
        )
        account = self.account(pk)
        assert account is not None
        return account

    def add_mandate(
        self,
        reference: str,
        client_pk: int,
        user_pk: int,
        account_pk: int,
        signature_pk: int,
        kind: str,
        text: str,
        text_sha256: str,
        now: datetime,
    ) -> payment_ports.MandateRecord:
        connection = self._u.core()
        values = {
            "reference": reference,
            "client_pk": client_pk,
            "user_pk": user_pk,
            "account_pk": account_pk,
            "signature_pk": signature_pk,
            "kind": kind,
            "text": text,
            "text_sha256": text_sha256,
            "signed_at": now,
        }
        pk = int(
            connection.execute(
                insert(_MANDATES).values(**values).returning(_MANDATES.c.pk)
            ).scalar_one()
        )
        connection.execute(
            update(_SIGNATURES)
            .where(_SIGNATURES.c.pk == signature_pk)
            .values(mandate_sha256=text_sha256)
        )
        row = connection.execute(select(_MANDATES).where(_MANDATES.c.pk == pk)).first()
        return _record(payment_ports.MandateRecord, row)

    def latest_mandate(
        self, user_pk: int, client_pk: int, kind: str = "recurrent"
    ) -> payment_ports.MandateRecord | None:
        stmt = (
            select(_MANDATES)
            .where(
                _MANDATES.c.user_pk == user_pk,
                _MANDATES.c.client_pk == client_pk,
                _MANDATES.c.kind == kind,
            )
            .order_by(_MANDATES.c.pk.desc())
            .limit(1)
        )
        row = self._u.core().execute(stmt).first()
        return _record(payment_ports.MandateRecord, row) if row else None

    def _authorization(self, where: Any) -> payment_ports.AuthorizationRecord | None:
        row = self._u.core().execute(select(_AUTHORIZATIONS).where(where)).first()
        return _record(payment_ports.AuthorizationRecord, row) if row else None

    def add_authorization(
        self,
        authorization_id: str,
        mandate: payment_ports.MandateRecord,
        device_uid: str | None,
        signature_pk: int | None,
        now: datetime,
        expires_at: datetime,
        used_at: datetime | None,
    ) -> payment_ports.AuthorizationRecord:
        self._u.core().execute(
            insert(_AUTHORIZATIONS).values(
                authorization_id=authorization_id,
                client_pk=mandate.client_pk,
                user_pk=mandate.user_pk,
                mandate_pk=mandate.pk,
                account_pk=mandate.account_pk,
                device_uid=device_uid,
                signature_pk=signature_pk,
                created_at=now,
                expires_at=expires_at,
                used_at=used_at,
            )
        )
        record = self._authorization(_AUTHORIZATIONS.c.authorization_id == authorization_id)
        assert record is not None
        return record

    def authorization(self, authorization_id: str) -> payment_ports.AuthorizationRecord | None:
        stmt = (
            select(_AUTHORIZATIONS)
            .where(_AUTHORIZATIONS.c.authorization_id == authorization_id)
            .with_for_update()
        )
        row = self._u.core().execute(stmt).first()
        return _record(payment_ports.AuthorizationRecord, row) if row else None

    def use_authorization(self, pk: int, now: datetime) -> bool:
        result = self._u.core().execute(
            update(_AUTHORIZATIONS)
            .where(_AUTHORIZATIONS.c.pk == pk, _AUTHORIZATIONS.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1

    def add_purchase(
        self,
        purchase_id: str,
        authorization_pk: int,
        client_pk: int,
        ref_id: str,
        amount_cents: int,
        now: datetime,
    ) -> payment_ports.PurchaseRecord | None:
        connection = self._u.core()
        values = {
            "purchase_id": purchase_id,
            "authorization_pk": authorization_pk,
            "client_pk": client_pk,
            "ref_id": ref_id,
            "amount_cents": amount_cents,
            "created_at": now,
        }
        # ON CONFLICT DO NOTHING on the unique (client_pk, ref_id) index: a concurrent purchase
        # of the same ref_id makes this insert nothing instead of failing, which on PostgreSQL
        # would abort the whole transaction (the sign-in's too) and surface as a 500.
        dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        inserted = connection.execute(
            dialect_insert(_PURCHASES)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["client_pk", "ref_id"])
            .returning(_PURCHASES.c.pk)
        ).first()
        if inserted is None:
            return None
        row = connection.execute(
            select(_PURCHASES).where(_PURCHASES.c.purchase_id == purchase_id)
        ).first()
        return _record(payment_ports.PurchaseRecord, row)

    def purchase_by_ref(self, client_pk: int, ref_id: str) -> payment_ports.PurchaseRecord | None:
        row = (
            self._u.core()
            .execute(
                select(_PURCHASES).where(
                    _PURCHASES.c.client_pk == client_pk, _PURCHASES.c.ref_id == ref_id
                )
            )
            .first()
        )
        return _record(payment_ports.PurchaseRecord, row) if row else None

    def checkout_of_signature(
        self, signature_pk: int
    ) -> tuple[payment_ports.AuthorizationRecord, payment_ports.PurchaseRecord] | None:
        authorization = self._authorization(_AUTHORIZATIONS.c.signature_pk == signature_pk)
        if authorization is None:
            return None
        row = (
            self._u.core()
            .execute(select(_PURCHASES).where(_PURCHASES.c.authorization_pk == authorization.pk))
            .first()
        )
        if row is None:
            return None
        return authorization, _record(payment_ports.PurchaseRecord, row)

    def _purchases_of(self, user_pk: int | None, since: datetime) -> Select[Any]:
        joined = _PURCHASES.join(
            _AUTHORIZATIONS, _AUTHORIZATIONS.c.pk == _PURCHASES.c.authorization_pk
        )
        stmt = select(func.count(), func.coalesce(func.sum(_PURCHASES.c.amount_cents), 0))
        stmt = stmt.select_from(joined).where(_PURCHASES.c.created_at > since)
        if user_pk is not None:
            stmt = stmt.where(_AUTHORIZATIONS.c.user_pk == user_pk)
        return stmt

    def purchases_since(self, since: datetime, user_pk: int | None = None) -> int:
        if user_pk is None:
            stmt = select(func.count()).where(_PURCHASES.c.created_at > since)
            return int(self._u.core().execute(stmt).scalar() or 0)
        row = self._u.core().execute(self._purchases_of(user_pk, since)).one()
        return int(row[0] or 0)

    def spent_since(self, user_pk: int, since: datetime) -> int:
        row = self._u.core().execute(self._purchases_of(user_pk, since)).one()
        return int(row[1] or 0)

    def flagged_devices_of(self, user_pk: int, max_users: int) -> int:
        mine = (
            select(_AUTHORIZATIONS.c.device_uid)
            .where(_AUTHORIZATIONS.c.user_pk == user_pk, _AUTHORIZATIONS.c.device_uid.is_not(None))
            .distinct()
        )
        shared = (
            select(_AUTHORIZATIONS.c.device_uid)
            .where(_AUTHORIZATIONS.c.device_uid.in_(mine))
            .group_by(_AUTHORIZATIONS.c.device_uid)
            .having(func.count(func.distinct(_AUTHORIZATIONS.c.user_pk)) > max_users)
        )
        count = select(func.count()).select_from(shared.subquery())
        return int(self._u.core().execute(count).scalar() or 0)

    def users_on_device(self, device_uid: str) -> set[int]:
        stmt = (
            select(_AUTHORIZATIONS.c.user_pk)
            .where(_AUTHORIZATIONS.c.device_uid == device_uid)
            .distinct()
        )
        return {int(pk) for pk in self._u.core().execute(stmt).scalars()}

    def refused_signatures_since(self, user_pk: int, since: datetime) -> int:
        stmt = select(func.count()).where(
            _ATTEMPTS.c.user_pk == user_pk,
            _ATTEMPTS.c.accepted.is_(False),
            _ATTEMPTS.c.at > since,
        )
        return int(self._u.core().execute(stmt).scalar() or 0)


@dataclass
class SqlRepos:
    unit: _Unit
    clients: SqlClientStore
    users: SqlUserStore
    requests: SqlAuthRequestStore
    codes: SqlCodeStore
    tokens: SqlTokenStore
    signatures: SqlSignatureStore
    attempts: SqlAttemptStore
    payments: SqlPaymentStore

    @property
    def connection(self) -> Connection:
        """For statements of other stores (rate limits) in this unit of work."""
        return self.unit.core()

    @property
    def session(self) -> Session:
        return self.unit.session


class SqlUnitOfWork:
    """`with uow() as repos:` gives the stores of one transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def __call__(self) -> Iterator[SqlRepos]:
        with self.database.begin() as connection, _repos(connection) as repos:
            yield repos

    @contextmanager
    def read(self, *, one_statement: bool = False) -> Iterator[SqlRepos]:
        """Reads only (see `Database.read`): token checks, client lookups, signature fetch."""
        with (
            self.database.read(one_statement=one_statement) as connection,
            _repos(connection) as repos,
        ):
            yield repos


@contextmanager
def _repos(connection: Connection) -> Iterator[SqlRepos]:
    unit = _Unit(connection)
    try:
        yield SqlRepos(
            unit=unit,
            clients=SqlClientStore(unit),
            users=SqlUserStore(unit),
            requests=SqlAuthRequestStore(unit),
            codes=SqlCodeStore(unit),
            tokens=SqlTokenStore(unit),
            signatures=SqlSignatureStore(unit),
            attempts=SqlAttemptStore(unit),
            payments=SqlPaymentStore(unit),
        )
        unit.finish()
    finally:
        unit.close()
