"""Counting elements on a page that may still be loading."""

from __future__ import annotations

from typing import Any


def expect_count(locator: Any, count: int) -> None:
    """Wait until ``locator`` matches exactly ``count`` elements (Playwright's ``expect``, which
    retries for 5 s): a click that navigates returns once the next page starts loading, and counting
    at once may see a document still being parsed. Imported here, not at the top of a test module,
    so that a machine without Playwright reports it once (``tests/e2e/conftest.py``)."""
    from playwright.sync_api import expect

    expect(locator).to_have_count(count)
