"""``create_app``: the standalone hosted service — the token API at the root of its own FastAPI app,
the dashboard at ``/dashboard/`` (``/`` redirects there), the API docs at ``/docs`` (Swagger UI from
files the package ships, see ``apidocs``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse
from fastapi.responses import RedirectResponse

from octotp_core import Octotp, Settings
from octotp_core.version import __version__

from .apidocs import add_api_docs
from .router import bind, create_router, route_named


def create_app(settings: Settings | None = None, *, octotp: Octotp | None = None) -> FastAPI:
    """The standalone service. Settings come from ``OCTOTP_*`` environment variables by default."""
    core = octotp or Octotp(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        core.close()

    app = FastAPI(
        title="octotp",
        version=__version__,
        openapi_url=None,  # core's canonical document is served at /openapi.json by the router
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    bind(app, core)
    router = create_router(core)
    app.include_router(router)

    if core.settings.dashboard:

        @app.get("/", include_in_schema=False)
        def home(request: FastAPIRequest) -> RedirectResponse:
            return RedirectResponse(request.scope.get("root_path", "") + "/dashboard/", status_code=303)

    # Any of the router's endpoints hands the request to core, which answers its 404 for this path.
    forward = route_named(router, "octotp_health").endpoint

    # Swagger UI from the files this package ships (no CDN: the page works offline).
    add_api_docs(app, forward)

    # Anything else still answers with core's problem+json 404, never a framework default.
    @app.api_route(
        "/{path:octotp_any}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
    )
    async def not_found(request: FastAPIRequest, path: str) -> FastAPIResponse:
        response: FastAPIResponse = await forward(request)
        return response

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory octotp_fastapi.app:app_from_env`` (one per worker process).

    The service's log format names no thread or process, so its records skip gathering them (the
    ``logging`` module's own switches for this; each request writes one or two records).
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    return create_app()
