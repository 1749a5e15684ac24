"""``/docs`` of ``octotp serve`` in a real browser that may not leave the machine: every request to
another origin is blocked (as on a machine without internet), and Swagger UI still renders octotp's
operations from the files the service ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from octotp_core.http import openapi_document
from octotp_core.testing.servers import ServeProcess

from .counts import expect_count

pytestmark = pytest.mark.xdist_group("browser")


def test_swagger_ui_renders_offline(page: Any, tmp_path: Path, test_secret: str) -> None:
    with ServeProcess({"OCTOTP_DATA_DIR": str(tmp_path), "OCTOTP_SECRET_KEY": test_secret}) as server:
        origin = urlsplit(server.url).netloc
        blocked: list[str] = []
        loaded: list[str] = []

        def only_this_origin(route: Any) -> None:
            url = route.request.url
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc == origin:
                loaded.append(url)
                route.continue_()
            else:
                blocked.append(url)
                route.abort("internetdisconnected")

        page.route("**/*", only_this_origin)
        page.goto(f"{server.url}/docs")

        # Swagger UI has fetched the OpenAPI document and drawn one block per operation.
        page.locator(".opblock").first.wait_for()
        assert page.locator(".info .title").inner_text().startswith("octotp")
        operations = openapi_document()["paths"]
        paths = {block.locator(".opblock-summary-path").inner_text() for block in page.locator(".opblock").all()}
        # Swagger UI may break long paths with zero-width spaces.
        assert {path.replace("\u200b", "") for path in paths} == set(operations)
        expect_count(page.locator(".opblock"), sum(len(methods) for methods in operations.values()))
        # The API key scheme shows too (the Authorize button), as in a host app's docs.
        expect_count(page.locator("button.authorize"), 1)

        assert blocked == [], f"the docs page asked another origin for {blocked}"
        assert any(url.endswith("/swagger-ui-bundle.js") for url in loaded)
        assert any(url.endswith("/openapi.json") for url in loaded)
