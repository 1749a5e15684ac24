"""The standalone service's API docs page (Swagger UI at ``/docs``), from files this package ships.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, so on a machine without internet the page is
blank. Following FastAPI's guide to self-hosting the docs' JavaScript and CSS, the app turns the
automatic docs off and builds the page with ``get_swagger_ui_html`` pointing at the vendored
``swagger-ui-dist`` files in ``static/swagger-ui`` (see the README there: version, licence, how to
update). Every URL the page loads is on the service itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

SWAGGER_UI_VERSION = "5.35.0"
"""The vendored ``swagger-ui-dist`` release (it is also in the asset URLs, so an upgrade is never
served from a browser's cache of the old files)."""

SWAGGER_UI_DIR = Path(__file__).parent / "static" / "swagger-ui"

ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
"""The files the page loads, and their media types: nothing else under the assets path is served."""


def assets_path(docs_path: str = "/docs") -> str:
    """Where the page's files are served, below ``docs_path``."""
    return f"{docs_path}/assets/{SWAGGER_UI_VERSION}"


def swagger_ui_page(
    root_path: str = "", *, docs_path: str = "/docs", openapi_url: str = "/openapi.json"
) -> HTMLResponse:
    """The Swagger UI page for ``openapi_url``, every URL below ``root_path`` (the ASGI root path
    behind a proxy that mounts the service under a prefix)."""
    assets = root_path + assets_path(docs_path)
    return get_swagger_ui_html(
        openapi_url=root_path + openapi_url,
        title="octotp API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        # Swagger UI's default shows a badge image fetched from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


def add_api_docs(
    app: FastAPI,
    not_found: Callable[[FastAPIRequest], Awaitable[FastAPIResponse]],
    *,
    docs_path: str = "/docs",
    openapi_url: str = "/openapi.json",
) -> None:
    """Serve the page at ``docs_path`` and its files below ``assets_path(docs_path)``; any other name
    there is answered by ``not_found`` (core's problem+json 404, like every unknown path)."""

    @app.get(docs_path, include_in_schema=False)
    def docs(request: FastAPIRequest) -> HTMLResponse:
        return swagger_ui_page(request.scope.get("root_path", ""), docs_path=docs_path, openapi_url=openapi_url)

    @app.get(assets_path(docs_path) + "/{name}", include_in_schema=False)
    async def docs_asset(request: FastAPIRequest, name: str) -> FastAPIResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            return await not_found(request)
        # The URL names the version, so the files behind it never change: browsers may keep them.
        cache = {"Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(SWAGGER_UI_DIR / name, media_type=media_type, headers=cache)
