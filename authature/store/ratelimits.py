"""Fixed-window rate limit counters in the database, so every server process shares them.

One statement adds a process's hits on a key and reads the total: `INSERT ... ON CONFLICT (key)
DO UPDATE ... RETURNING`, which both SQLite (3.35+) and PostgreSQL run atomically. A row whose
window has ended starts again from the hits added, so a key needs one row whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """`hits` hits on one key, built once per dialect so SQLAlchemy compiles it once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    counter = RateLimitCounter
    upsert = insert(counter).values(
        key=bindparam("key"), window_end=bindparam("window_end"), hits=bindparam("hits")
    )
    same_window = counter.window_end == upsert.excluded.window_end
    return upsert.on_conflict_do_update(
        index_elements=[counter.key],
        set_={
            "hits": case(
                (same_window, counter.hits + upsert.excluded.hits), else_=upsert.excluded.hits
            ),
            "window_end": upsert.excluded.window_end,
        },
    ).returning(counter.key, counter.hits, counter.window_end)


_UPSERTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}


class SqlRateLimitStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def hit(self, keys: Sequence[str], window_end: int) -> list[Count]:
        """Count one hit on each key for the window ending at `window_end`; return the totals."""
        return self.add(dict.fromkeys(keys, (window_end, 1)))

    def add(self, hits: Mapping[str, tuple[int, int]]) -> list[Count]:
        """Add `{key: (window_end, hits)}` to the stored counts; return the new totals."""
        connection = self._c
        stmt = _UPSERTS[connection.dialect.name]
        counts = []
        for key, (window_end, n) in hits.items():
            values = {"key": key, "window_end": window_end, "hits": n}
            row = connection.execute(stmt, values).one()
            counts.append(Count(row.key, row.hits, row.window_end))
        return counts

    def forget_ended(self, now_seconds: int) -> int:
        """Delete counters whose window has ended (they would restart at 1 anyway)."""
        stmt = delete(RateLimitCounter).where(RateLimitCounter.window_end <= now_seconds)
        result = self._c.execute(stmt)
        return int(result.rowcount)
