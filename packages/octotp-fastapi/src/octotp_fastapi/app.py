"""``create_app``: the standalone hosted service — the token API at the root of its own FastAPI app,
the dashboard at ``/dashboard/`` (``/`` redirects there, or is core's public landing page while
sign-up is open), the API docs at ``/docs`` (Swagger UI from files the package ships, see ``apidocs``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse

from octotp_core import Octotp, Settings
from octotp_core.version import __version__

from .apidocs import add_api_docs
from .metrics import metrics_view
from .router import add_dashboard, bind, create_router, route_named

DOCS_PATH = "/docs"
"""Where the API docs page is (the landing page links to it)."""


def create_app(settings: Settings | None = None, *, octotp: Octotp | None = None) -> FastAPI:
    """The standalone service. Settings come from ``OCTOTP_*`` environment variables by default."""
    core = octotp or Octotp(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = core.start_worker()  # this process sends queued codes and event webhooks too
        yield
        worker.stop()
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
    router = create_router(core, dashboard=False)
    if core.settings.dashboard:
        # Core answers ``/`` too: the landing page while sign-up is open, else a redirect to the dashboard.
        add_dashboard(router, core, "", api_docs=DOCS_PATH, site_root=True)
    app.include_router(router)
    # Prometheus metrics: 404 unless metrics_enabled, and then only for the metrics_token's bearer.
    app.add_api_route("/metrics", metrics_view, methods=["GET", "HEAD"], include_in_schema=False)

    # Any of the router's endpoints hands the request to core, which answers its 404 for this path.
    forward = route_named(router, "octotp_health").endpoint

    # Swagger UI from the files this package ships (no CDN: the page works offline).
    add_api_docs(app, forward, docs_path=DOCS_PATH)

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

    What the worker built up to here (modules, the app, its routes, models and statements) lives as
    long as the process: ``gc.freeze()`` takes it out of the collector's view, so a full collection
    walks only what requests allocate, instead of stopping a request for the whole heap.
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    app = create_app()
    gc.freeze()
    return app
