"""The standalone service's ``/docs`` (Swagger UI) loads only files the service itself serves, so it
works on a machine without internet (the browser half is ``tests/e2e/test_api_docs_browser.py``)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess
from octotp_fastapi import create_app
from octotp_fastapi.apidocs import ASSETS, SWAGGER_UI_DIR, SWAGGER_UI_VERSION, assets_path


class _Urls(HTMLParser):
    """Every URL an HTML page makes the browser load: ``src`` and ``href`` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def page_urls(html: str) -> list[str]:
    """The page's ``src``/``href`` URLs and the OpenAPI document its script fetches."""
    parser = _Urls()
    parser.feed(html)
    return parser.urls + re.findall(r"url: '([^']+)'", html)


def test_docs_loads_only_same_origin_urls_and_each_answers(standalone: tuple[ServeProcess, Octotp]) -> None:
    server, _ = standalone
    client = UrlClient(server.url)
    page = client.request("GET", "/docs")
    assert page.status == 200
    html = page.body.decode()
    assert "SwaggerUIBundle" in html
    assert not re.search(r"https?://", html), "the page names another origin"
    urls = page_urls(html)
    assert sorted(urls) == sorted([f"{assets_path()}/{name}" for name in ASSETS] + ["/openapi.json"])
    for url in urls:
        assert url.startswith("/")
        assert not url.startswith("//")  # a scheme-relative URL is another origin too
        answer = client.request("GET", url)
        assert answer.status == 200, url
        if url != "/openapi.json":
            name = url.rsplit("/", 1)[1]
            assert answer.headers["content-type"] == ASSETS[name]
            assert answer.body == (SWAGGER_UI_DIR / name).read_bytes()
            assert "immutable" in answer.headers["cache-control"]
    document = json.loads(client.request("GET", "/openapi.json").body)
    assert document["openapi"].startswith("3.1")  # Swagger UI 5 renders 3.1 documents; 4.x could not


def test_unknown_asset_names_answer_core_s_problem_404(standalone: tuple[ServeProcess, Octotp]) -> None:
    server, _ = standalone
    client = UrlClient(server.url)
    for path in (
        f"{assets_path()}/README.md",
        f"{assets_path()}/LICENSE",
        f"{assets_path()}/..%2F..%2Fapp.py",
        "/docs/assets/4.0.0/swagger-ui.css",
    ):
        answer = client.request("GET", path)
        assert answer.status == 404, path
        assert answer.headers["content-type"] == "application/problem+json", path


def test_the_page_follows_the_root_path(tmp_path: Path, test_secret: str) -> None:
    """Behind a proxy that mounts the service under a prefix, every URL keeps the prefix."""
    app = create_app(Settings(data_dir=tmp_path, secret_key=test_secret))
    with TestClient(app, root_path="/otp") as client:
        html = client.get("/docs").text
    assert sorted(page_urls(html)) == sorted([f"/otp{assets_path()}/{name}" for name in ASSETS] + ["/otp/openapi.json"])


def test_the_vendored_files_carry_their_licence_and_version() -> None:
    assert {"LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"} <= {p.name for p in SWAGGER_UI_DIR.iterdir()}
    assert "Apache License" in (SWAGGER_UI_DIR / "LICENSE").read_text()
    assert f"swagger-ui-dist` {SWAGGER_UI_VERSION}" in (SWAGGER_UI_DIR / "README.md").read_text()
    for name in ASSETS:
        assert (SWAGGER_UI_DIR / name).stat().st_size > 0
