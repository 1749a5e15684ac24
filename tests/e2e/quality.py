"""The console's quality bars as one call in a browser test: ``check_page(page, name)``.

A page passes when

- axe-core finds no violation of impact ``serious`` or ``critical`` in it (the failure lists each
  rule id, its help text and the elements it flagged);
- it does not scroll sideways at its viewport's width (``scrollWidth <= innerWidth``): 390 px is a
  phone, and a page that only fits by scrolling sideways does not fit;
- and, when ``OCTOTP_TEST_SCREENSHOTS`` names a directory, a full-page screenshot ``<name>.png`` is
  written there (``OCTOTP_TEST_SCREENSHOTS=docs/images/console`` refreshes the docs' pictures).

How another browser test uses it::

    def test_my_page(narrow_page, check_page, ...):   # fixtures from tests/e2e/conftest.py
        narrow_page.goto(f"{server.url}/dashboard/my-page")
        check_page(narrow_page, "my-page-390")          # asserts; returns every violation found

``narrow_page`` (390x844) and ``wide_page`` (1280x800) have JavaScript disabled, as the dashboard
must work without it. Ask for the ``check_page`` fixture rather than importing the function: the
fixture gets axe-core first, so a machine without npm skips (fails in CI) before the test starts.

axe-core is JavaScript and the pages under test run none (the dashboard's CSP says
``script-src 'none'``, and the contexts above disable scripts). So axe runs on a twin: a second
browser context, with scripts on and ``bypass_csp=True``, opens the same URL at the same viewport,
and is answered with a snapshot of the page's DOM (``page.content()``) instead of a new request.
The twin therefore sees exactly what the page shows, even a page that answered a POST (a failed
login, a form with errors) or one that shows something once (a new API key); its stylesheet and
images still come from the server. Only the twin ever bypasses the CSP.

axe-core comes from the npm registry (``npm install``, pinned to ``AXE_VERSION``) into
``~/.cache/octotp-tests/axe-<version>`` (``OCTOTP_TEST_AXE_DIR`` overrides the directory) once,
and is reused from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

AXE_VERSION = "4.10.3"
"""The axe-core release the checks run (a 4.x pin: new rules arrive with a deliberate bump)."""

FAILING_IMPACTS = frozenset({"serious", "critical"})

_NPM_TIMEOUT = 300


class AxeUnavailable(RuntimeError):
    """axe-core could not be had (no npm, no registry)."""


def axe_directory() -> Path:
    """Where axe-core is (or will be) installed."""
    configured = os.environ.get("OCTOTP_TEST_AXE_DIR")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "octotp-tests" / f"axe-{AXE_VERSION}"


def _axe_script(directory: Path) -> Path:
    return directory / "node_modules" / "axe-core" / "axe.min.js"


@cache
def axe_source() -> str:
    """The source of axe-core ``AXE_VERSION``, installed with npm on first use.

    npm installs into a fresh temporary directory beside the target, which is then renamed into
    place: two test processes installing at once never see a half-written copy (the loser of the
    rename throws its own away)."""
    directory = axe_directory()
    script = _axe_script(directory)
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise AxeUnavailable("npm is not installed (apt-get install -y npm); it fetches axe-core")
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{directory.name}.", dir=directory.parent))
        try:
            command = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(staging)]
            done = subprocess.run(
                [*command, f"axe-core@{AXE_VERSION}"],
                capture_output=True,
                text=True,
                timeout=_NPM_TIMEOUT,
                check=False,
            )
            if done.returncode != 0 or not _axe_script(staging).exists():
                raise AxeUnavailable(f"npm install axe-core@{AXE_VERSION} failed: {done.stderr.strip()[-2000:]}")
            try:
                staging.rename(directory)
            except OSError:  # another process got there first
                if not script.exists():
                    raise
        except subprocess.TimeoutExpired as exc:
            raise AxeUnavailable(f"npm install axe-core@{AXE_VERSION} timed out") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return script.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation (all impacts) in what ``page`` shows now, found on a twin (see the
    module docstring); ``page`` itself is not touched."""
    source = axe_source()
    snapshot = page.content()
    url = page.url
    twin_context = page.context.browser.new_context(
        viewport=page.viewport_size, bypass_csp=True, java_script_enabled=True
    )
    try:
        twin = twin_context.new_page()
        served = False

        def serve_snapshot(route: Any) -> None:
            nonlocal served
            if served:
                route.continue_()
                return
            served = True
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=snapshot)

        twin.route(url, serve_snapshot)
        twin.goto(url)
        twin.add_script_tag(content=source)
        result: dict[str, Any] = twin.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    finally:
        twin_context.close()
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation: impact, rule id, help, the flagged elements' selectors, the docs link."""
    lines = []
    for violation in violations:
        targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
        lines.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']} (on {targets}) {violation['helpUrl']}"
        )
    return "\n".join(lines)


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it does not scroll sideways)."""
    width: int = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0)"
        " - window.innerWidth"
    )
    return max(width, 0)


def wide_elements(page: Any) -> list[str]:
    """The elements reaching past the viewport's right edge (to say what overflows): not those that a
    scrolling ancestor clips, unless they are positioned (which can escape its clip)."""
    found: list[str] = page.evaluate(
        """() => {
            const clipped = (el) => {
                if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
                for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
                    if (getComputedStyle(up).overflowX !== 'visible') return true;
                }
                return false;
            };
            const out = [];
            for (const el of document.body.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.right > window.innerWidth + 0.5 && !clipped(el)) {
                    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                             (el.className ? '.' + String(el.className).split(' ').join('.') : '') +
                             ' right=' + Math.round(box.right));
                }
            }
            return out.slice(0, 10);
        }"""
    )
    return found


def save_screenshot(page: Any, name: str) -> Path | None:
    """A full-page screenshot ``<name>.png`` in ``OCTOTP_TEST_SCREENSHOTS`` (when set)."""
    directory = os.environ.get("OCTOTP_TEST_SCREENSHOTS")
    if not directory:
        return None
    path = Path(directory) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page: Any, name: str) -> list[dict[str, Any]]:
    """Assert the quality bars on what ``page`` shows now (see the module docstring); ``name`` names
    its screenshot and the failure. Returns every axe violation, the minor and moderate ones too, for
    a test that holds its page to more."""
    save_screenshot(page, name)
    violations = axe_violations(page)
    failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    assert not failing, f"{name} ({page.url}): axe-core found serious/critical violations:\n{describe(failing)}"
    overflow = horizontal_overflow(page)
    width = page.viewport_size["width"] if page.viewport_size else "?"
    assert overflow == 0, (
        f"{name} ({page.url}) scrolls sideways by {overflow} px at {width} px wide: {wide_elements(page)}"
    )
    return violations
