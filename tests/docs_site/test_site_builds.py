"""The docs site builds strictly, has every page, and cannot drift from the code it documents.

One strict build (`mkdocs build --strict`, what `tox -e docs` runs) into a temporary directory,
then: every page of the nav exists; the settings page lists every ``Settings`` field with its
environment variable; the API page lists every route of ``octotp_core.http.ROUTES``; and no built
page loads a script, stylesheet or font from another host (the site must work offline).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from octotp_core.http import ROUTES
from octotp_core.settings import Settings

pytestmark = pytest.mark.xdist_group("docs_site")  # one worker, one build

ROOT = Path(__file__).resolve().parents[2]
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def _nav_pages(nav: list[object]) -> list[str]:
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages += _nav_pages(value)
        else:
            pages.append(str(value))
    return pages


def _built(site: Path, page: str) -> Path:
    """The HTML file of a nav entry (``use_directory_urls: false``: ``guide/resends.md`` → ``guide/resends.html``)."""
    return site / f"{page.removesuffix('.md')}.html"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


class _ExternalAssets(HTMLParser):
    """Collects every script, stylesheet, font or icon that a page would load from another origin."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") if tag == "script" else values.get("href") if tag == "link" else None
        rel = (values.get("rel") or "").lower()
        if tag == "link" and rel in ("canonical", "alternate", "prev", "next"):  # navigation, loads nothing
            return
        if url and _EXTERNAL.match(url.strip()):
            self.found.append(f"<{tag} {url}>")


def external_assets(html: str) -> list[str]:
    """Scripts, stylesheets and fonts an HTML page loads from another host."""
    parser = _ExternalAssets()
    parser.feed(html)
    found = parser.found
    # inline styles and <style> blocks: @import or url(...) of another host (web fonts, mostly)
    found += re.findall(r"(?:@import|url\()\s*['\"]?((?:https?:)?//[^'\")\s]+)", html, re.IGNORECASE)
    return found


def test_the_external_asset_check_finds_what_it_should() -> None:
    page = (
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        '<script src="//cdn.example.com/swagger-ui.js"></script>'
        "<style>@font-face { src: url(https://fonts.gstatic.com/x.woff2) }</style>"
        '<link rel="stylesheet" href="../assets/site.css"><script src="assets/app.js"></script>'
        '<a href="https://example.com/">a link loads nothing</a>'
    )
    assert external_assets(page) == [
        "<link https://fonts.googleapis.com/css?family=Roboto>",
        "<script //cdn.example.com/swagger-ui.js>",
        "https://fonts.gstatic.com/x.woff2",
    ]


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    import yaml  # PyYAML comes with mkdocs

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    pages = _nav_pages(nav)
    expected = {
        "index.md",
        *(f"quickstart/{name}.md" for name in ("standalone", "fastapi", "flask", "django", "client")),
        "guide/index.md",
        *(
            f"guide/{name}.md"
            for name in (
                "email-verification",
                "login-with-code",
                "step-up",
                "password-reset",
                "resends",
                "locked-expired",
                "idempotent-retries",
            )
        ),
        "reference/api.md",
        "reference/settings.md",
        *(f"operations/{name}.md" for name in ("deployment", "backups", "secret-rotation", "upgrades")),
    }
    assert expected <= set(pages)
    missing = [page for page in pages if not _built(site, page).is_file()]
    assert not missing, f"nav pages not built: {missing}"


def test_the_settings_page_lists_every_setting(site: Path) -> None:
    html = (site / "reference/settings.html").read_text()
    text = _text(html)
    missing = [
        name for name in Settings.model_fields if f'id="{name}"' not in html or f"OCTOTP_{name.upper()}" not in text
    ]
    assert not missing, f"settings missing from the settings reference: {missing}"


def test_the_api_page_lists_every_route(site: Path) -> None:
    text = _text((site / "reference/api.html").read_text())
    missing = []
    for route in ROUTES:
        for operation in route.operations:
            wanted = f"{operation.method} {route.path}" if operation.documented else route.path
            if wanted not in text:
                missing.append(wanted)
    assert not missing, f"routes missing from the API reference: {missing}"


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    found = {
        str(page.relative_to(site)): assets
        for page in site.rglob("*.html")
        if (assets := external_assets(page.read_text()))
    }
    for stylesheet in site.rglob("*.css"):
        imports = re.findall(r"(?:@import|url\()\s*['\"]?((?:https?:)?//[^'\")\s]+)", stylesheet.read_text())
        if imports:
            found[str(stylesheet.relative_to(site))] = imports
    assert not found, f"external scripts, stylesheets or fonts: {found}"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference_hook", ROOT / "docs/hooks/reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Sample(BaseModel):
    undocumented: int = 1
    documented: int = 2
    """Two."""


def test_the_settings_table_has_each_fields_docstring_and_default() -> None:
    hook = _hook()
    docs = hook.field_docstrings(Settings)
    assert docs["database_url"].startswith("SQLAlchemy URL")
    assert hook.field_docstrings(_Sample) == {"documented": "Two."}  # none, not its neighbour's
    assert set(docs) == set(Settings.model_fields)  # every setting says what it means
    rows = [line for line in hook.settings_reference().splitlines() if line.startswith("| <span id=")]
    assert len(rows) == len(Settings.model_fields)
    code_length = '| <span id="code_length">`code_length`</span><br>`OCTOTP_CODE_LENGTH` | `int` | `6` |'
    assert any(row.startswith(code_length) and "Digits in a code" in row and "(≥ 4, ≤ 10)" in row for row in rows)
    assert "| `~/.local/share/octotp` |" in "".join(rows)  # data_dir: not the home directory of the build


def test_the_api_reference_keeps_the_page_title() -> None:
    rendered = _hook().api_reference()
    assert not re.search(r"^# ", rendered, re.MULTILINE)  # the page's own "# API reference" stays the only h1
    assert '### <span class="http-post">POST</span> /api/tokens' in rendered


GUIDE_LANGUAGES = {"sh", "python", "js"}  # curl, octotp-client, fetch


@pytest.mark.parametrize("page", sorted((ROOT / "docs/guide").glob("*.md")), ids=lambda page: page.name)
def test_each_guide_page_shows_curl_python_and_javascript(page: Path) -> None:
    languages = set(re.findall(r"^[ \t]*```(\w+)", page.read_text(), re.MULTILINE))
    assert languages >= GUIDE_LANGUAGES, f"{page.name} lacks {sorted(GUIDE_LANGUAGES - languages)}"
    assert "curl " in page.read_text()
