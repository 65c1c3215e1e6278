"""Helpers for browser tests: an ASGI app served by uvicorn in a background thread (for tests
that need a real port), and polling a page that has a strict CSP."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


@contextlib.contextmanager
def serve_app(app: Any, host: str = "127.0.0.1") -> Iterator[int]:
    """Run ``app`` on ``host`` at a free port until the block ends; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", ws="none", access_log=False, http="h11"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
    except BaseException:
        sock.close()
        raise
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_until(page: Any, expression: str, timeout_s: float = 5.0) -> None:
    """Wait until ``expression`` is truthy in ``page``, polling with ``page.evaluate``.

    ``page.wait_for_function`` compiles its predicate from a string inside the page, which a
    Content-Security-Policy without 'unsafe-eval' (ours) refuses; ``evaluate`` is not affected.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {expression}")
        page.wait_for_timeout(20)
