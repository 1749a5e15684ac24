"""A real browser for the end-to-end tests: Debian's Chromium driven by Playwright.

Playwright cannot download its own browser here, so it launches ``/usr/bin/chromium``
(``OCTOTP_TEST_CHROMIUM`` overrides the path). Without Playwright or Chromium the tests skip on a
developer machine and fail in CI (``OCTOTP_TEST_REQUIRE_SERVICES=1``).

The quality bars (axe-core, no sideways scrolling at 390 px, screenshots) are ``check_page`` from
``quality.py``, which says how to use them; ``narrow_page`` and ``wide_page`` are the JavaScript-free
phone and desktop pages they are checked on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.mailbox import Mailbox

from ..conftest import unavailable
from . import quality

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


NARROW_VIEWPORT = {"width": 390, "height": 844}
"""A phone (an iPhone 12-14 in CSS pixels): the width the console must fit without scrolling sideways."""
WIDE_VIEWPORT = {"width": 1280, "height": 800}
"""A laptop."""


def _page_without_javascript(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def narrow_page(chromium: Any) -> Iterator[Any]:
    """A page 390x844 with JavaScript disabled, in a fresh context (its own cookies)."""
    yield from _page_without_javascript(chromium, NARROW_VIEWPORT)


@pytest.fixture
def wide_page(chromium: Any) -> Iterator[Any]:
    """A page 1280x800 with JavaScript disabled, in a fresh context (its own cookies)."""
    yield from _page_without_javascript(chromium, WIDE_VIEWPORT)


@pytest.fixture
def check_page(chromium: Any) -> Callable[[Any, str], list[dict[str, Any]]]:
    """``quality.check_page``, once axe-core is at hand (installed with npm on first use; without npm
    or the registry: a skip on a developer machine, a failure in CI)."""
    try:
        quality.axe_source()
    except quality.AxeUnavailable as exc:
        unavailable(exc)
    return quality.check_page


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 for the server under test to mail (``Mailbox.delivery_environment``)."""
    box = Mailbox().start()
    yield box
    box.stop()
