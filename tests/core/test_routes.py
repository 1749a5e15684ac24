"""The route table, the mount rule, the token-state vocabulary and field naming, in core.

The table (``octotp_core.http.ROUTES``) is what ``ApiHandler`` dispatches on and what
``openapi_document`` describes; these tests hold the two to it, so neither can drift from the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import pytest

from octotp_core import TOKEN_STATES, FrozenClock, InvalidInput, Octotp, token_state
from octotp_core.http import (
    DASHBOARD_PATH,
    ROUTES,
    ApiHandler,
    Claim,
    Mount,
    Request,
    Response,
    find_route,
    openapi_document,
    root_claims,
)
from octotp_core.http.models import wire_name
from octotp_core.store import Token

NOW = dt.datetime(2026, 2, 14, 12, 0, tzinfo=dt.timezone.utc)


def _call(handler: ApiHandler, method: str, path: str, body: Any = None, key: str | None = None) -> Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Api-Key"] = key
    raw = b"" if body is None else json.dumps(body).encode()
    return handler.handle(Request(method, path, headers, raw))


def _json(response: Response) -> Any:
    return json.loads(response.body)


# -- the table ---------------------------------------------------------------------------------
def test_openapi_document_describes_exactly_the_table() -> None:
    doc = openapi_document()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    table = {(r.path, op.method) for r in ROUTES for op in r.operations if op.documented}
    assert documented == table
    ids = {
        doc["paths"][r.path][op.method.lower()]["operationId"] for r in ROUTES for op in r.operations if op.documented
    }
    assert ids == {"createToken", "validateToken", "getToken", "cancelToken", "twilioStatus", "health", "ready"}
    assert "/openapi.json" not in doc["paths"]
    for route in ROUTES:
        for op in route.operations:
            if op.documented:
                responses = doc["paths"][route.path][op.method.lower()]["responses"]
                assert set(responses) == {str(op.status)} | {str(status) for status, _ in op.errors}


def test_operation_names_are_unique() -> None:
    names = [op.name for r in ROUTES for op in r.operations]
    assert len(names) == len(set(names))


def test_handler_answers_every_path_of_the_table_and_405s_with_its_methods(octotp: Octotp) -> None:
    handler = ApiHandler(octotp)
    for route in ROUTES:
        path = route.path.replace("{tokenId}", str(uuid.uuid4()))
        r = _call(handler, "PATCH", path)
        assert r.status == 405, path
        assert r.header("Allow") == ", ".join(route.methods), path
    assert _call(handler, "GET", "/api/tokens/validate").header("Allow") == "POST"  # literal before template
    assert _call(handler, "GET", "/api/tokens/a/b").status == 404
    assert _call(handler, "GET", "/healthz\n").status == 404  # fullmatch: "$" would accept a final newline


def test_find_route_takes_path_parameters() -> None:
    found = find_route("/api/tokens/abc")
    assert found is not None
    route, params = found
    assert (route.path, params) == ("/api/tokens/{tokenId}", {"tokenId": "abc"})
    assert route.methods == ["DELETE", "GET", "HEAD"]
    assert find_route("/api/tokens/validate")[0].path == "/api/tokens/validate"  # type: ignore[index]
    assert find_route("/nope") is None


# -- the mount rule ----------------------------------------------------------------------------
def test_root_claims_come_from_the_table() -> None:
    assert root_claims() == (
        Claim("/api/tokens", subtree=True),
        Claim("/api/delivery/twilio/status", subtree=False),
        Claim("/healthz", subtree=False),
        Claim("/readyz", subtree=False),
        Claim("/openapi.json", subtree=False),
    )


@pytest.mark.parametrize(
    ("mount", "path", "api", "dashboard"),
    [
        (Mount(), "/api/tokens", "/api/tokens", "/api/tokens"),
        (Mount("/octotp"), "/octotp", "/", "/octotp"),
        (Mount("/octotp"), "/octotp/api/tokens", "/api/tokens", "/octotp/api/tokens"),
        (Mount("/octotp"), "/octotp/dashboard", "/dashboard", ""),
        (Mount("/octotp", "/app"), "/octotp/dashboard/login", "/dashboard/login", "/login"),
    ],
)
def test_mount_paths(mount: Mount, path: str, api: str, dashboard: str) -> None:
    assert mount.api_path(path) == api
    assert mount.dashboard_path(path) == dashboard


def test_mount_bases_and_tails() -> None:
    assert Mount("/octotp", "/app").dashboard_base == "/app/octotp" + DASHBOARD_PATH
    assert Mount(script_root="/app").app_path("/app/healthz") == "/healthz"
    assert Mount.around("/octotp/api/tokens", "api/tokens") == Mount("/octotp")
    assert Mount.around("/api/tokens", "api/tokens") == Mount("")
    assert Mount.around("/x/octotp/dashboard/login", "dashboard/login").dashboard_base == "/x/octotp/dashboard"


# -- one vocabulary of token states ------------------------------------------------------------
def _token(**changes: Any) -> Token:
    token = Token(
        id=str(uuid.uuid4()),
        project_id=str(uuid.uuid4()),
        recipient_digest="d",
        recipient_hint="j***@example.com",
        channel="email",
        purpose="",
        code_hash="h",
        created_at=NOW,
        expires_at=NOW + dt.timedelta(minutes=5),
        max_attempts=5,
    )
    return dataclasses.replace(token, **changes)


def test_token_state_vocabulary() -> None:
    assert TOKEN_STATES == ("pending", "expired", "locked", "approved", "superseded", "cancelled", "delivery_failed")
    assert token_state(_token(), NOW) == "pending"
    assert token_state(_token(attempts=5), NOW) == "locked"
    assert token_state(_token(), NOW + dt.timedelta(minutes=5)) == "expired"
    assert token_state(_token(attempts=5), NOW + dt.timedelta(minutes=6)) == "expired"  # as validate says
    for reason in ("approved", "superseded", "cancelled", "delivery_failed"):
        assert token_state(_token(closed_reason=reason, closed_at=NOW), NOW) == reason


def test_get_token_shows_its_state_never_its_code(octotp: Octotp, clock: FrozenClock) -> None:
    handler = ApiHandler(octotp)
    created = octotp.accounts.create_project("states")
    project, key = created.project.id, created.api_key.secret
    email = f"{uuid.uuid4().hex}@example.com"
    token = _json(_call(handler, "POST", "/api/tokens", {"projectId": project, "recipientEmail": email}, key))
    r = _call(handler, "GET", f"/api/tokens/{token['id']}", key=key)
    assert r.status == 200
    assert r.header("Cache-Control") == "no-store"
    body = _json(r)
    assert token["code"] not in r.body.decode()
    assert "code" not in body
    assert (body["id"], body["status"], body["channel"], body["closedAt"]) == (token["id"], "pending", "email", None)
    assert body["expiresAt"] == token["expiresAt"]
    _call(
        handler,
        "POST",
        "/api/tokens/validate",
        {"projectId": project, "recipientEmail": email, "code": token["code"]},
        key,
    )
    body = _json(_call(handler, "GET", f"/api/tokens/{token['id']}", key=key))
    assert (body["status"], body["attempts"]) == ("approved", 1)
    assert body["closedAt"] is not None
    other = octotp.accounts.create_project("other").api_key.secret
    assert _call(handler, "GET", f"/api/tokens/{token['id']}", key=other).status == 404
    assert _call(handler, "GET", f"/api/tokens/{token['id']}").status == 401
    assert _call(handler, "GET", "/api/tokens/not-a-uuid", key=key).status == 404
    assert _call(handler, "HEAD", f"/api/tokens/{token['id']}", key=key).status == 200


# -- field names: Python parameters in process, JSON members over HTTP ---------------------------
def test_field_names_in_process_and_over_http(octotp: Octotp) -> None:
    created = octotp.accounts.create_project("fields")
    project, key = created.project.id, created.api_key.secret
    with pytest.raises(InvalidInput) as caught:
        octotp.create_token(project, email="a@example.com", expires_in=5)
    assert [e.field for e in caught.value.errors] == ["expires_in"]
    assert caught.value.detail.startswith("expires_in: ")
    with pytest.raises(InvalidInput) as caught:
        octotp.accounts.configure_project(project, code_length=3, default_phone_region="XX")
    assert [e.field for e in caught.value.errors] == ["code_length", "default_phone_region"]  # every field at once

    r = _call(
        ApiHandler(octotp),
        "POST",
        "/api/tokens",
        {"projectId": project, "recipientEmail": "a@example.com", "expiresInSeconds": 5},
        key,
    )
    problem = _json(r)
    assert (r.status, [e["field"] for e in problem["errors"]]) == (400, ["expiresInSeconds"])
    assert problem["detail"].startswith("expiresInSeconds: ")
    r = _call(ApiHandler(octotp), "POST", "/api/tokens", {"projectId": project, "recipientEmail": "nope"}, key)
    assert [e["field"] for e in _json(r)["errors"]] == ["recipientEmail"]


def test_wire_names() -> None:
    assert [wire_name(n) for n in ("email", "phone", "expires_in", "code_length", "default_phone_region")] == [
        "recipientEmail",
        "recipientPhone",
        "expiresInSeconds",
        "codeLength",
        "defaultPhoneRegion",
    ]
    assert [wire_name(n) for n in ("projectId", "Idempotency-Key", "body", "code")] == [
        "projectId",
        "Idempotency-Key",
        "body",
        "code",
    ]
