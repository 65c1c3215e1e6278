"""Fixed-window rate limit counters in the database, so every server process shares them.

One statement counts a hit and reads the result: `INSERT ... ON CONFLICT (key) DO UPDATE ...
RETURNING`, which both SQLite (3.35+) and PostgreSQL run atomically. A row whose window has
ended starts again at 1, so a key needs one row whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from authature.store.models import RateLimitCounter

__all__ = ["Count", "SqlRateLimitStore"]


@dataclass(frozen=True)
class Count:
    key: str
    hits: int
    window_end: int  # seconds since the epoch


def _upsert(dialect: str) -> ReturningInsert[str, int, int]:
    """One hit on one key, built once per dialect so SQLAlchemy compiles it once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    counter = RateLimitCounter
    upsert = insert(counter).values(
        key=bindparam("key"), window_end=bindparam("window_end"), hits=1
    )
    same_window = counter.window_end == upsert.excluded.window_end
    return upsert.on_conflict_do_update(
        index_elements=[counter.key],
        set_={
            "hits": case((same_window, counter.hits + 1), else_=1),
            "window_end": upsert.excluded.window_end,
        },
    ).returning(counter.key, counter.hits, counter.window_end)


_UPSERTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}


class SqlRateLimitStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def hit(self, keys: Sequence[str], window_end: int) -> list[Count]:
        """Count one hit on each key for the window ending at `window_end`; return the totals."""
        connection = self._c
        stmt = _UPSERTS[connection.dialect.name]
        counts = []
        for key in dict.fromkeys(keys):
            row = connection.execute(stmt, {"key": key, "window_end": window_end}).one()
            counts.append(Count(row.key, row.hits, row.window_end))
        return counts

    def forget_ended(self, now_seconds: int) -> int:
        """Delete counters whose window has ended (they would restart at 1 anyway)."""
        stmt = delete(RateLimitCounter).where(RateLimitCounter.window_end <= now_seconds)
        result = self._c.execute(stmt)
        return int(result.rowcount)
