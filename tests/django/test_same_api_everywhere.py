"""Every adapter serves the same API from core's route table: the same ``/openapi.json``, and
FastAPI's native docs list exactly the table's operations.

Here (not in ``tests/flask`` or ``tests/fastapi``) because only this directory configures Django;
the Flask and FastAPI apps need nothing global.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

import octotp_flask
from octotp_core import Octotp, Settings
from octotp_core.http import ROUTES, openapi_document
from octotp_fastapi import install

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def fastapi_octotp(tmp_path: Path, test_secret: str) -> Iterator[Octotp]:
    octotp = Octotp(Settings(database_url=f"sqlite:///{tmp_path / 'fastapi.db'}", secret_key=test_secret))
    yield octotp
    octotp.close()


def _flask_app(tmp_path: Path, secret: str, prefix: str) -> Flask:
    app = Flask("same_api_host", instance_path=str(tmp_path / "instance"))
    app.config.update(
        TESTING=True,
        OCTOTP_DATABASE_URL=f"sqlite:///{tmp_path / 'flask.db'}",
        OCTOTP_SECRET_KEY=secret,
        OCTOTP_URL_PREFIX=prefix,
    )
    octotp_flask.Octotp(app)
    return app


def test_every_adapter_serves_the_same_openapi_document(
    octotp_db: str, tmp_path: Path, test_secret: str, fastapi_octotp: Octotp
) -> None:
    expected = openapi_document()
    flask_app = _flask_app(tmp_path, test_secret, "/octotp")
    try:
        served: dict[str, Any] = {"flask": flask_app.test_client().get("/octotp/openapi.json").get_json()}
    finally:
        flask_app.extensions["octotp"].close()
    app = FastAPI()
    install(app, fastapi_octotp, prefix="/octotp")
    with TestClient(app) as client:
        served["fastapi"] = client.get("/octotp/openapi.json").json()
    served["django"] = json.loads(Client().get("/octotp/openapi.json").content)
    served["django at the root"] = json.loads(Client().get("/openapi.json").content)
    for adapter, document in served.items():
        assert document == expected, adapter


def test_fastapi_native_docs_list_the_table(fastapi_octotp: Octotp) -> None:
    """The host's own OpenAPI (FastAPI's, for /docs) shows each operation of the table, with the
    ``X-Api-Key`` security scheme where the table uses a key, and core's documented statuses."""
    app = FastAPI()
    install(app, fastapi_octotp, prefix="/octotp")
    paths = app.openapi()["paths"]
    native = {(path, method.upper()) for path, ops in paths.items() for method in ops}
    table = {("/octotp" + r.path, op.method) for r in ROUTES for op in r.operations if op.documented}
    assert native == table
    for route in ROUTES:
        for op in route.operations:
            if not op.documented:
                continue
            documented = paths["/octotp" + route.path][op.method.lower()]
            assert documented["operationId"] == f"octotp_{op.name}"
            assert {str(status) for status, _ in op.errors} <= set(documented["responses"])
            assert str(op.status) in documented["responses"]
            assert ("security" in documented) == (op.api_key is not None), op.name
            names = {p["name"] for p in documented.get("parameters", [])}
            assert names == {p.name for p in op.parameters}, op.name
    assert "TokenStateResponse" in app.openapi()["components"]["schemas"]


def test_every_adapter_answers_get_token_with_cores_state(
    django_octotp: Octotp, tmp_path: Path, test_secret: str, fastapi_octotp: Octotp
) -> None:
    """``GET /api/tokens/{id}``, new in the table, reaches core through every adapter's derived routes."""
    flask_app = _flask_app(tmp_path, test_secret, "")  # at the root: core's root claims
    flask_core: Octotp = flask_app.extensions["octotp"]
    fastapi_octotp.migrate()
    flask_core.migrate()
    app = FastAPI()
    install(app, fastapi_octotp)
    try:
        with TestClient(app) as fastapi_client:

            def flask_get(path: str, key: str) -> tuple[int, bytes]:
                r = flask_app.test_client().get(path, headers={"X-Api-Key": key})
                return r.status_code, r.data

            def fastapi_get(path: str, key: str) -> tuple[int, bytes]:
                r = fastapi_client.get(path, headers={"X-Api-Key": key})
                return r.status_code, r.content

            def django_get(path: str, key: str) -> tuple[int, bytes]:
                r = Client().get("/octotp" + path, headers={"X-Api-Key": key})
                return r.status_code, r.content

            adapters = {"flask": (flask_core, flask_get), "fastapi": (fastapi_octotp, fastapi_get)}
            adapters["django"] = (django_octotp, django_get)
            for adapter, (core, get) in adapters.items():
                created = core.accounts.create_project(adapter)
                token = core.create_token(created.project.id, email="user@example.com")
                status, raw = get(f"/api/tokens/{token.id}", created.api_key.secret)
                assert status == 200, adapter
                body = json.loads(raw)
                assert (body["id"], body["status"]) == (token.id, "pending"), adapter
                assert token.code is not None
                assert token.code.encode() not in raw, adapter
    finally:
        flask_core.close()
