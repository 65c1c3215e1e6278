"""Fixtures for the browser tests: a headless Chromium driven by Playwright.

The browser is Debian's ``/usr/bin/chromium`` (``AUTHATURE_CHROMIUM`` points elsewhere);
``playwright install`` is never needed. When the browser is missing the tests are skipped,
unless ``AUTHATURE_REQUIRE_BROWSER=1`` (CI), which turns that into a failure.

Mark browser tests with ``pytestmark = pytest.mark.browser``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = os.environ.get("AUTHATURE_CHROMIUM", "/usr/bin/chromium")

# From /work/shared/TESTING-NOTES.md; the last two make input replay several times faster.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-frame-rate-limit",
    "--disable-gpu-vsync",
]


def _missing_browser(reason: str) -> None:
    if os.environ.get("AUTHATURE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; AUTHATURE_REQUIRE_BROWSER=1 makes this an error")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session."""
    if not Path(CHROMIUM).is_file():
        _missing_browser(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Factory for extra contexts (phone, high-DPI...); all closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        context.set_default_timeout(5_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A fresh desktop context (no cookies or storage shared with other tests)."""
    return new_context(viewport={"width": 1000, "height": 700})


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page in a fresh context."""
    return context.new_page()
