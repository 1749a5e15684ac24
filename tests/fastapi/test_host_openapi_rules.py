"""A host FastAPI app's own OpenAPI (``app.openapi()``, behind its ``/docs``) carries core's request
rules too: ``install()`` documents each body with core's models, so the host's document states
exactly the rules of the canonical one, and the host still serves the canonical ``/openapi.json``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import Octotp, Settings
from octotp_core.http import openapi_document
from octotp_core.testing.contract import BODY_RULES, EMAIL, BodyRule
from octotp_fastapi import install

_BODIES = {
    "createToken": ("/api/tokens", "CreateTokenRequest"),
    "validateToken": ("/api/tokens/validate", "ValidateTokenRequest"),
}


@pytest.fixture
def host(tmp_path: Path, test_secret: str) -> Iterator[FastAPI]:
    octotp = Octotp(Settings(database_url=f"sqlite:///{tmp_path / 'host.db'}", secret_key=test_secret))
    app = FastAPI(title="host")

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    install(app, octotp, prefix="/octotp")
    yield app
    octotp.close()


def _host_body_schema(app: FastAPI, operation: str) -> dict[str, Any]:
    path, _ = _BODIES[operation]
    post = app.openapi()["paths"]["/octotp" + path]["post"]
    schema: dict[str, Any] = post["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _without_null_defaults(schema: Any) -> Any:
    """``schema`` without ``"default": null`` members, which FastAPI leaves out of its document (an
    annotation only: an absent optional member is null either way)."""
    if isinstance(schema, dict):
        return {k: _without_null_defaults(v) for k, v in schema.items() if not (k == "default" and v is None)}
    if isinstance(schema, list):
        return [_without_null_defaults(v) for v in schema]
    return schema


@pytest.mark.parametrize("operation", sorted(_BODIES))
def test_the_host_document_states_cores_rules(host: FastAPI, operation: str) -> None:
    canonical = openapi_document()["components"]["schemas"][_BODIES[operation][1]]
    hosted = _host_body_schema(host, operation)
    assert hosted["oneOf"] == canonical["oneOf"]  # exactly one recipient (and its channel), untouched
    assert hosted == _without_null_defaults(canonical)
    assert "/hello" in host.openapi()["paths"]  # the host's own routes are still there


@pytest.mark.parametrize("rule", BODY_RULES, ids=lambda r: f"{r.operation}: {r.rule}")
def test_the_host_document_refuses_what_the_api_refuses(host: FastAPI, rule: BodyRule) -> None:
    validator = jsonschema_rs.Draft202012Validator(_host_body_schema(host, rule.operation))
    members = {k: "user@example.com" if v == EMAIL else v for k, v in rule.members.items()}
    assert validator.is_valid({"projectId": str(uuid.uuid4()), **members}) is (rule.field is None)


def test_the_host_still_serves_the_canonical_document(host: FastAPI) -> None:
    with TestClient(host) as client:
        served = client.get("/octotp/openapi.json").json()
        native = client.get("/openapi.json").json()
    assert served == json.loads(json.dumps(openapi_document()))
    assert native["info"]["title"] == "host"
    assert "/octotp/api/tokens" in native["paths"]
