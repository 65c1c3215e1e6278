"""Token checks of one process coalesced into one statement per event-loop turn.

A token check was, per request, a pool checkout, one indexed statement and its row, and with
PostgreSQL a thread hand-off and a round trip: about 0.33 ms of server CPU with PostgreSQL and
0.17 ms with SQLite, against 0.06 ms for a bare Starlette answer (docs/benchmarks.md, round 4).
Under load a worker holds many checks at once, so the checks whose requests were read in one
turn of the event loop go to the database together: one call (in a thread with PostgreSQL,
`Services.threaded`; on the event loop between two of its turns with SQLite, where
`Services.call` runs calls inline) and one statement (`token_digest = ANY(%s)`, or `IN`) for
all of them, each then judged on its own row exactly as `OAuthServer.verify_token` judges it.

Nothing is cached: every check reads rows in a statement that starts after its request
arrived, so a revocation, an expiry, a disabled client or a removed scope committed by any
process before then is seen, as with one statement per check. While a batch is at the database
the next requests wait for it (at most `IN_FLIGHT` batches per process), so a busy worker's
batches grow with its load; a lone check costs one more turn of the loop (about 0.01-0.02 ms
of CPU with SQLite, none measurable with PostgreSQL). A failing batch fails each of its checks
with the same error (503 when the database is unreachable, as before).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from authature.oauth.ports import TokenCheck
from authature.oauth.server import TokenQuestion

__all__ = ["TokenBatcher"]

IN_FLIGHT = 1  # batches at the database at once, per process (2 and 4 cost more CPU per check)
MAX_BATCH = 256  # digests per statement

Lookup = Callable[[Sequence[str]], dict[str, TokenCheck]]
Call = Callable[[Lookup, list[str]], Awaitable[dict[str, TokenCheck]]]
_Waiting = dict[str, list["asyncio.Future[TokenCheck | None]"]]


class TokenBatcher:
    """`await batcher.check(question)`: the token's row (or None), read with others'."""

    def __init__(self, lookup: Lookup, call: Call, *, inline: bool = False) -> None:
        self._lookup = lookup  # OAuthServer.check_tokens (blocking)
        self._call = call  # Services.call: in a thread
        self._inline = inline  # or run `lookup` on the event loop itself (SQLite)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: _Waiting = {}
        self._scheduled = False
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self.batches = 0  # statements sent, for tests and profiling

    async def check(self, question: TokenQuestion) -> TokenCheck | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another event loop (tests run several): start afresh
            self._loop, self._pending, self._scheduled, self._in_flight = loop, {}, False, 0
        future: asyncio.Future[TokenCheck | None] = loop.create_future()
        self._pending.setdefault(question.digest, []).append(future)
        if not self._scheduled and self._in_flight < IN_FLIGHT:
            # After the other requests the loop read in this turn have been parsed.
            self._scheduled = True
            loop.call_soon(self._send)
        return await future

    def _send(self) -> None:
        self._scheduled = False
        if self._inline:  # no task: the statement runs here, between two turns of the loop
            waiting, self._pending = self._pending, {}
            self.batches += 1
            try:
                rows = self._lookup(list(waiting))
            except Exception as exc:
                _fail(waiting, exc)
            else:
                _answer(waiting, rows)
            return
        while self._pending and self._in_flight < IN_FLIGHT:
            digests = list(self._pending)[:MAX_BATCH]
            waiting = {d: self._pending.pop(d) for d in digests}
            self._in_flight += 1
            self.batches += 1
            task = asyncio.ensure_future(self._run(waiting))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, waiting: _Waiting) -> None:
        try:
            rows = await self._call(self._lookup, list(waiting))
        except BaseException as exc:  # each check fails as its own call would have
            _fail(waiting, exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._in_flight -= 1
            if self._pending and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._send)
        _answer(waiting, rows)


def _answer(waiting: _Waiting, rows: dict[str, TokenCheck]) -> None:
    for digest, futures in waiting.items():
        row = rows.get(digest)
        for future in futures:
            if not future.done():  # a cancelled request (client gone)
                future.set_result(row)


def _fail(waiting: _Waiting, exc: BaseException) -> None:
    for futures in waiting.values():
        for future in futures:
            if future.done():
                continue
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
