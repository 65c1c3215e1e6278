"""Engine creation and schema migration.

SQLite runs in WAL mode with a busy timeout so that the web server's threads (and a CLI process
beside it) can write without "database is locked" errors. PostgreSQL is used as is.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_ID = 0x417574686174  # "Authat": any fixed 64-bit number
_READ = "authature_read"  # execution option of `Database.read` connections
POOL_SIZE = 10


class _WriterQueue:
    """SQLite runs one transaction at a time (ours all begin IMMEDIATE), and its busy handler
    waits by sleeping 1, 2, 5, 10 ... ms: under load, waiting costs more than the transactions.
    So a transaction queues here first: on a lock within the process, then on an flock of a
    file beside the database across processes, which wakes the next waiter at once and which the
    kernel releases if a process dies."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._threads = threading.Lock()
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    queue: _WriterQueue | None = None  # SQLite files only
    # Connections the pool keeps open: the web layer runs at most this many database calls in
    # threads at once, so a busy worker never opens (and closes) overflow connections.
    pool_size: int = POOL_SIZE

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception."""
        if self.queue is None:
            with self.sessions.begin() as session:
                yield session
            return
        with self.queue.turn(), self.sessions.begin() as session:
            yield session

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One unit of work on a bare connection (no ORM session): committed when the block
        ends, rolled back on any exception."""
        if self.queue is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self.queue.turn(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self, *, one_statement: bool = False) -> Iterator[Connection]:
        """A read-only unit of work: no write lock, no queue, and nothing to commit.

        SQLite: one snapshot. In WAL mode readers never wait for the writer, so a read need not
        queue behind every write of every process (`_READ` makes the begin hook send a deferred
        BEGIN, not BEGIN IMMEDIATE). With `one_statement` (a unit that runs a single statement
        on the driver: the token check, a client lookup) there is no BEGIN and no ROLLBACK:
        SQLite runs a lone statement as its own read transaction, which is the same snapshot.
        A statement through SQLAlchemy still begins one (deferred), rolled back on close.
        PostgreSQL: autocommit, so each statement reads the latest committed rows and the unit
        costs no BEGIN and ROLLBACK round trips; rows that must agree are read in one statement.
        A write on this connection is a bug.
        """
        if self.queue is None and not self.is_sqlite:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with connection:
                yield connection
            return
        connection = self.engine.connect().execution_options(**{_READ: True})
        if one_statement:
            with connection:
                yield connection
            return
        with connection, connection.begin() as transaction:
            yield connection
            transaction.rollback()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_database(url: str) -> Database:
    queue = None
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            queue = _WriterQueue(Path(path + ".lock"))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=POOL_SIZE,
            max_overflow=16,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; take the write lock at the start
        # of every transaction instead, so read-then-write units never deadlock on upgrade.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Straight to the driver: through SQLAlchemy this statement cost as much as a query.
            read = conn.get_execution_options().get(_READ, False)
            conn.connection.dbapi_connection.execute("BEGIN" if read else "BEGIN IMMEDIATE")

    else:
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=20)
        _ping_idle_connections(engine)
    return Database(engine, sessionmaker(engine, expire_on_commit=False), queue)


_IDLE_PING_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection with a round trip before use only if it sat idle for a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a second round trip for every unit
    of work, as much as the token check's own query. A connection used within the last second
    is taken as is; if the database went away meanwhile, the failing statement invalidates the
    whole pool (its connections are replaced on their next checkout) and that one request gets
    the 503 it would have got anyway while the database was down. So a database that restarted
    while the server was idle still costs no failed request (`tests/ops/test_outage.py`).
    """

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["authature_checkin"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("authature_checkin")
        if last is None or time.monotonic() - last < _IDLE_PING_SECONDS:
            return  # fresh, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa_exc.InvalidatePoolError() from exc  # the pool reconnects and retries


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported on use: it is slow and only needed here

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(database: Database) -> None:
    """Apply every migration up to head (idempotent; safe to call on each start)."""
    from alembic import command

    cfg = alembic_config(str(database.engine.url.render_as_string(hide_password=False)))
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Processes starting together against a fresh database take turns (SQLite's
            # BEGIN IMMEDIATE already serializes them); the lock ends with the transaction.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def is_database_unreachable(exc: Exception) -> bool:
    """A failure to get a working connection (not a failing statement): a 503, not a 500.

    SQLAlchemy raises a DBAPIError without a statement when connecting fails, marks one
    `connection_invalidated` when the connection dropped mid-use, and raises its TimeoutError
    when the pool is exhausted (overloaded).
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated or exc.statement is None
    )
