"""Helpers for browser tests: polling a page that has a strict CSP."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def wait_until(page: Page, expression: str, timeout_s: float = 5.0) -> None:
    """Wait until ``expression`` is truthy in ``page``, polling with ``page.evaluate``.

    ``page.wait_for_function`` compiles its predicate from a string inside the page, which a
    Content-Security-Policy without 'unsafe-eval' (ours) refuses; ``evaluate`` is not affected.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {expression}")
        page.wait_for_timeout(20)
