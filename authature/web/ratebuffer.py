"""Rate limit hits counted in the process and written to the database in short batches.

Writing every hit in its own transaction cost more than the request it guarded (and on SQLite
queued every counted request behind every other write). So each process counts here and adds its
hits to the shared `rate_limits` rows in one transaction when a key's unwritten hits reach its
batch (1 % of the limit, at most 1000; limits under 200 get a batch of 1, which writes every hit
at once, exactly as before), or when `flush_seconds` have passed since the last write.

A hit is judged on the key's stored total as read back at this process's last write, plus the
hits counted here since. What a process cannot see are the other processes' hits since its
last write; but it writes (and reads the shared total again) at least every `batch` hits of its
own, so once the shared total has passed the limit each process admits at most `batch` more.
Over-admission per key and window is therefore at most `processes × batch` (1 % of the limit
per process), and the hits a killed process had not yet written (fewer than `batch` per key)
are lost with it. `tests/ops/test_ratelimit.py` checks the bound with two server processes.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from authature.store.ratelimits import Count

__all__ = ["HitBuffer", "batch_size"]


def batch_size(limit: int) -> int:
    """Hits a process may count on one key before it must write them to the database."""
    return max(1, min(limit // 100, 1000))


@dataclass
class _Key:
    window_end: int
    stored: int = 0  # the shared total read back at this process's last write
    writing: int = 0  # hits taken by a write that has not finished
    pending: int = 0  # hits counted since


class HitBuffer:
    """One process's unwritten hits and its last view of the shared totals (thread-safe)."""

    def __init__(self, flush_seconds: float) -> None:
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._written_at = float("-inf")

    def count(
        self, limits: Mapping[str, int], window_end: int, now: float
    ) -> tuple[dict[str, int], bool]:
        """One hit on each key of `{key: limit}`: the estimated totals, and whether to write."""
        with self._lock:
            due = now - self._written_at >= self.flush_seconds
            totals = {}
            for key, limit in limits.items():
                entry = self._keys.get(key)
                if entry is None or entry.window_end != window_end:
                    entry = self._keys[key] = _Key(window_end)
                entry.pending += 1
                totals[key] = entry.stored + entry.writing + entry.pending
                due = due or entry.pending >= batch_size(limit)
            return totals, due

    def take(self, now: float, only: Collection[str] | None = None) -> dict[str, tuple[int, int]]:
        """The hits to write, `{key: (window_end, hits)}`; then `settle` or `restore` them."""
        with self._lock:
            self._written_at = now
            for key in [k for k, e in self._keys.items() if e.window_end <= now]:
                del self._keys[key]  # an ended window: its counts no longer matter
            taken = {}
            for key, entry in self._keys.items():
                if entry.pending and (only is None or key in only):
                    taken[key] = (entry.window_end, entry.pending)
                    entry.writing += entry.pending
                    entry.pending = 0
            return taken

    def settle(self, taken: Mapping[str, tuple[int, int]], counts: list[Count]) -> None:
        """The write committed: `counts` are the shared totals it read back."""
        with self._lock:
            totals = {c.key: c for c in counts}
            for key, (window_end, hits) in taken.items():
                entry = self._keys.get(key)
                if entry is None or entry.window_end != window_end:
                    continue
                entry.writing -= hits
                count = totals.get(key)
                if count is not None and count.window_end == window_end:
                    entry.stored = max(entry.stored, count.hits)  # totals only grow in a window

    def restore(self, taken: Mapping[str, tuple[int, int]]) -> None:
        """The write failed: its hits are unwritten again."""
        with self._lock:
            for key, (window_end, hits) in taken.items():
                entry = self._keys.get(key)
                if entry is not None and entry.window_end == window_end:
                    entry.writing -= hits
                    entry.pending += hits

    def totals(self, keys: Collection[str]) -> dict[str, int]:
        with self._lock:
            entries = {k: self._keys.get(k) for k in keys}
            return {k: e.stored + e.writing + e.pending if e else 0 for k, e in entries.items()}
