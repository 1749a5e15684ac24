"""The FastAPI apps: ``standalone`` is ``octotp serve``'s own app; ``host`` mounts octotp in a host app.

Both carry the reference endpoints (``/bench/hello``, ``/bench/create``) in the same app and process.
Run with ``uvicorn --factory benchapps.fastapi_host:standalone`` (or ``:host``).
"""

from __future__ import annotations

import gc
import logging

from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine, insert
from starlette.concurrency import run_in_threadpool

from octotp_core import Octotp, Settings
from octotp_fastapi import create_app, install

from .reference import HELLO_BODY, make_hash, new_row, reference_tokens


def _add_reference_routes(app: FastAPI, engine: Engine) -> None:
    hash_code = make_hash()
    statement = insert(reference_tokens)

    def store(body: bytes) -> bytes:
        row, answer = new_row(body, hash_code)
        with engine.begin() as conn:
            conn.execute(statement, row)
        return answer

    @app.get("/bench/hello")
    async def hello() -> Response:
        return Response(HELLO_BODY, media_type="application/json")

    @app.post("/bench/create")
    async def reference_create(request: Request) -> Response:
        # Hashing off the event loop, as octotp's router does.
        answer = await run_in_threadpool(store, await request.body())
        return Response(answer, status_code=201, media_type="application/json")


def standalone() -> FastAPI:
    """``create_app()`` exactly as ``octotp serve`` builds it, with the reference routes placed first
    (the standalone app ends in a catch-all route that answers every other path)."""
    core = Octotp(Settings())
    app = create_app(octotp=core)
    catch_all = list(app.router.routes)
    app.router.routes.clear()
    assert core.engine is not None
    _add_reference_routes(app, core.engine)
    app.router.routes.extend(catch_all)
    # What octotp_fastapi.app.app_from_env does in each `octotp serve` worker once the app is built.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    gc.freeze()
    return app


def host() -> FastAPI:
    """A host application with octotp installed under ``/octotp`` (the README's three lines)."""
    app = FastAPI(title="bench host")
    core = install(app, Octotp(Settings()), prefix="/octotp")
    assert core.engine is not None
    _add_reference_routes(app, core.engine)
    gc.freeze()  # as octotp-fastapi's README advises a host to, once its app is built
    return app
