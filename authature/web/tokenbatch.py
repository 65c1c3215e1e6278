"""Token checks of one process coalesced into one statement per event-loop turn.

A token check was, per request, a pool checkout, one indexed statement and its row, and with
PostgreSQL a thread hand-off and a round trip: about 0.33 ms of server CPU with PostgreSQL and
0.17 ms with SQLite, against 0.06 ms for a bare Starlette answer (docs/benchmarks.md, round 4).
Under load a worker holds many checks at once, so the checks whose requests were read in one
turn of the event loop go to the database together: one call (`Services.call`: in a thread
with PostgreSQL, inline with SQLite) and one statement (`token_digest = ANY(%s)`, or `IN`) for
all of them, each then judged on its own row exactly as `OAuthServer.verify_token` judges it.

Nothing is cached: every check reads rows in a statement that starts after its request
arrived, so a revocation, an expiry, a disabled client or a removed scope committed by any
process before then is seen, as with one statement per check. While a batch is at the database
the next requests wait for it (at most `IN_FLIGHT` batches per process), so a lone request
costs what it did and a busy worker's batches grow with its load. A failing batch fails each of
its checks with the same error (503 when the database is unreachable, as before).
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


class TokenBatcher:
    """`await batcher.check(question)`: the token's row (or None), read with others'."""

    def __init__(self, lookup: Lookup, call: Call) -> None:
        self._lookup = lookup  # OAuthServer.check_tokens (blocking)
        self._call = call  # Services.call: in a thread or inline
        self._pending: dict[str, list[asyncio.Future[TokenCheck | None]]] = {}
        self._scheduled = False
        self._in_flight = 0
        self.batches = 0  # statements sent, for tests and profiling

    async def check(self, question: TokenQuestion) -> TokenCheck | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TokenCheck | None] = loop.create_future()
        self._pending.setdefault(question.digest, []).append(future)
        if not self._scheduled and self._in_flight < IN_FLIGHT:
            # After the other requests the loop read in this turn have been parsed.
            self._scheduled = True
            loop.call_soon(self._send)
        return await future

    def _send(self) -> None:
        self._scheduled = False
        while self._pending and self._in_flight < IN_FLIGHT:
            digests = list(self._pending)[:MAX_BATCH]
            waiting = {d: self._pending.pop(d) for d in digests}
            self._in_flight += 1
            self.batches += 1
            task = asyncio.ensure_future(self._run(waiting))
            task.add_done_callback(_retrieved)

    async def _run(self, waiting: dict[str, list[asyncio.Future[TokenCheck | None]]]) -> None:
        try:
            rows = await self._call(self._lookup, list(waiting))
        except Exception as exc:
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        finally:
            self._in_flight -= 1
            if self._pending and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._send)
        for digest, futures in waiting.items():
            row = rows.get(digest)
            for future in futures:
                if not future.done():  # a cancelled request (client gone)
                    future.set_result(row)


def _retrieved(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # _run handles its errors; nothing is left to log
