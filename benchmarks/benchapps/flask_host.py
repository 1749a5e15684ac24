"""The Flask host app: octotp under ``/octotp`` via ``octotp_flask.Octotp``, plus the reference routes.

Configured in Flask's habit: ``OCTOTP_*`` keys in ``app.config`` (copied here from the environment the
benchmark sets). Run with ``gunicorn 'benchapps.flask_host:create_app()'``.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import insert

import octotp_core
from octotp_flask import Octotp

from .reference import HELLO_BODY, make_hash, new_row, reference_tokens

octotp = Octotp()

_CONFIG: dict[str, Callable[[str], Any]] = {
    "OCTOTP_DATABASE_URL": str,
    "OCTOTP_SECRET_KEY": str,
    "OCTOTP_HASHER": str,
    "OCTOTP_ARGON2_PROFILE": str,
    "OCTOTP_RATE_LIMIT_STORAGE": str,
    "OCTOTP_PLANS": json.loads,
    "OCTOTP_DEFAULT_PLAN": str,
    "OCTOTP_RECIPIENT_SEND_BUDGET": str,
    "OCTOTP_RECIPIENT_FAILURE_BUDGET": str,
}


def create_app() -> Flask:
    app = Flask(__name__)
    config: dict[str, Any] = {key: parse(os.environ[key]) for key, parse in _CONFIG.items() if key in os.environ}
    app.config.update(config, OCTOTP_URL_PREFIX="/octotp")
    octotp.init_app(app)
    core: octotp_core.Octotp = app.extensions["octotp"]
    engine = core.engine
    assert engine is not None
    hash_code = make_hash()
    statement = insert(reference_tokens)

    @app.get("/bench/hello")
    def hello() -> Response:
        return Response(HELLO_BODY, mimetype="application/json")

    @app.post("/bench/create")
    def reference_create() -> Response:
        row, answer = new_row(request.get_data(), hash_code)
        with engine.begin() as conn:
            conn.execute(statement, row)
        return Response(answer, status=201, mimetype="application/json")

    gc.freeze()  # as octotp-flask's README advises a host to, once its app is built
    return app
