"""A real browser for the end-to-end tests: Debian's Chromium driven by Playwright.

Playwright cannot download its own browser here, so it launches ``/usr/bin/chromium``
(``OCTOTP_TEST_CHROMIUM`` overrides the path). Without Playwright or Chromium the tests skip on a
developer machine and fail in CI (``OCTOTP_TEST_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import unavailable

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright ``Browser``) for the browser tests.

    Package-scoped, not session-scoped: while Playwright's sync API is open, its event loop counts as
    running in this thread, so every later test of the same worker would be "in an async context"
    (Django's ORM refuses with SynchronousOnlyOperation, ``asyncio.run`` refuses to start)."""
    executable = os.environ.get("OCTOTP_TEST_CHROMIUM", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed: {exc}")
    if not Path(executable).exists():
        unavailable(f"no Chromium at {executable} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) and page."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
