"""``check_page`` itself: it fails on what it should (axe-core's serious findings, sideways scrolling),
checks what the page showed rather than a fresh copy, passes a clean page and writes screenshots."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.servers import ThreadedWsgi

from .quality import horizontal_overflow

pytestmark = pytest.mark.xdist_group("browser")

CheckPage = Callable[[Any, str], list[dict[str, Any]]]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title></head>
<body><main><h1>Quality</h1>{body}</main></body></html>"""

CLEAN = "<p>Fine.</p>"
UNLABELLED = '<form><input type="text" name="q"></form>'
FAINT = '<p style="color:#bbb;background:#fff">faint text</p>'
WIDE = '<div style="width:600px">wide</div>'


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """A server answering ``/page`` with the queued bodies in turn (the last one for ever after),
    under the dashboard's CSP."""
    bodies: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = bodies.pop(0) if len(bodies) > 1 else bodies[0]
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", "script-src 'none'")],
        )
        return [PAGE.format(body=body).encode()]

    with ThreadedWsgi(app) as server:
        yield f"{server.url}/page", bodies


def test_serious_axe_findings_fail_with_rule_ids_and_targets(
    site: tuple[str, list[str]], narrow_page: Any, check_page: CheckPage
) -> None:
    url, bodies = site
    bodies.append(UNLABELLED + FAINT)
    narrow_page.goto(url)
    with pytest.raises(AssertionError) as failure:
        check_page(narrow_page, "bad")
    message = str(failure.value)
    assert "[critical] label:" in message
    assert "input" in message
    assert "[serious] color-contrast:" in message
    assert "https://dequeuniversity.com/rules/axe/" in message


def test_axe_checks_what_the_page_shows_not_a_fresh_copy(
    site: tuple[str, list[str]], wide_page: Any, check_page: CheckPage
) -> None:
    url, bodies = site
    bodies.extend([UNLABELLED, CLEAN])  # the first answer has the fault, every later one is clean
    wide_page.goto(url)
    with pytest.raises(AssertionError, match="label"):
        check_page(wide_page, "shown")


def test_sideways_scrolling_fails_and_says_what_is_wide(
    site: tuple[str, list[str]], narrow_page: Any, wide_page: Any, check_page: CheckPage
) -> None:
    url, bodies = site
    bodies.append(WIDE)
    narrow_page.goto(url)
    assert horizontal_overflow(narrow_page) > 0
    with pytest.raises(AssertionError, match=r"scrolls sideways by \d+ px at 390 px wide: \['div right=6\d\d'\]"):
        check_page(narrow_page, "wide")
    wide_page.goto(url)  # the same page fits 1280 px
    assert check_page(wide_page, "wide-enough") == []


def test_a_clean_page_passes_and_is_photographed(
    site: tuple[str, list[str]],
    narrow_page: Any,
    check_page: CheckPage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, bodies = site
    bodies.append(CLEAN)
    monkeypatch.setenv("OCTOTP_TEST_SCREENSHOTS", str(tmp_path / "shots"))
    narrow_page.goto(url)
    assert check_page(narrow_page, "clean") == []
    shot = tmp_path / "shots" / "clean.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # JavaScript stayed off in the page under test: axe ran in its twin only.
    assert narrow_page.evaluate("() => typeof window.axe") == "undefined"
