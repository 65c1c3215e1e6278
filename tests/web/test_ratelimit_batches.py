"""Rate limit hits are counted in each process and written to the shared counters in batches.

Two `RateLimiter`s on one database stand for two server processes (the HTTP version with real
processes is `tests/ops/test_ratelimit.py::test_two_processes_over_admit_at_most_one_batch_each`).
"""

from __future__ import annotations

import base64
from pathlib import Path

from sqlalchemy import func, select

from authature.config import RateLimits, Settings
from authature.oauth.errors import OAuthError
from authature.security.keys import load_keys
from authature.store import models
from authature.store.db import Database
from authature.web.ratebuffer import batch_size
from authature.web.ratelimit import RateLimiter

NOW = 1_800_000_000.0  # fixed, far from a window boundary of a one-day window
WINDOW = 86_400


def _limiter(database: Database, tmp_path: Path, limit: int, flush_ms: int) -> RateLimiter:
    key = base64.b64encode(b"k" * 32).decode()
    settings = Settings(data_dir=tmp_path, secret_key_b64=key, encryption_key_b64=key)
    limits = RateLimits(window_seconds=WINDOW, token_per_ip=limit, flush_ms=flush_ms)
    return RateLimiter(database, load_keys(settings), limits, now_seconds=lambda: NOW)


def _stored_hits(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(select(func.sum(models.RateLimitCounter.hits))).scalar() or 0)


def _hit(limiter: RateLimiter, limit: int) -> bool:
    try:
        limiter.check_alone({"token-ip": (limit, "192.0.2.1")})
    except OAuthError as exc:
        assert exc.status == 429
        return False
    return True


def test_batch_sizes() -> None:
    assert batch_size(1) == batch_size(199) == 1  # small limits: every hit is written at once
    assert batch_size(6000) == 60
    assert batch_size(10**9) == 1000


def test_hits_are_written_in_batches_not_one_transaction_each(
    database: Database, tmp_path: Path
) -> None:
    limiter = _limiter(database, tmp_path, 10_000, flush_ms=60_000)
    assert _hit(limiter, 10_000)
    assert _stored_hits(database) == 1  # a process's first hit is written (and reads the total)
    for _ in range(99):
        assert _hit(limiter, 10_000)
    assert _stored_hits(database) == 1  # not one transaction per hit
    assert _hit(limiter, 10_000)  # 100 unwritten hits fill the batch (1 % of the limit)
    assert _stored_hits(database) == 101


def test_small_limits_are_exact_across_processes(database: Database, tmp_path: Path) -> None:
    a = _limiter(database, tmp_path, 6, flush_ms=60_000)
    b = _limiter(database, tmp_path, 6, flush_ms=60_000)
    admitted = [_hit(a if i % 2 else b, 6) for i in range(10)]
    assert admitted == [True] * 6 + [False] * 4


def test_two_processes_over_admit_at_most_one_batch_each(
    database: Database, tmp_path: Path
) -> None:
    limit = 1000  # batch of 10
    a = _limiter(database, tmp_path, limit, flush_ms=60_000)
    b = _limiter(database, tmp_path, limit, flush_ms=60_000)
    admitted = sum(_hit(a if i % 3 else b, limit) for i in range(1500))
    assert limit <= admitted <= limit + 2 * batch_size(limit)
    # Once each has seen the shared total past the limit, both refuse.
    assert not _hit(a, limit) and not _hit(b, limit)


def test_a_quiet_process_writes_its_hits_once_the_interval_has_passed(
    database: Database, tmp_path: Path
) -> None:
    clock = [NOW]
    limiter = _limiter(database, tmp_path, 10_000, flush_ms=250)
    limiter.now_seconds = lambda: clock[0]
    for _ in range(5):
        _hit(limiter, 10_000)
    assert _stored_hits(database) == 1
    clock[0] += 0.3
    _hit(limiter, 10_000)
    assert _stored_hits(database) == 6
