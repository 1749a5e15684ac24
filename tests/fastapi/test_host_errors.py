"""Host endpoints calling the in-process API: octotp errors answered as problem JSON, only when
the app opted in (``install(..., handle_errors=True)`` or ``handle_octotp_errors(app)``)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import InvalidInput, Octotp
from octotp_fastapi import OctotpDep, get_octotp, handle_octotp_errors, install


def host_with_signup(octotp: Octotp, **install_options: bool) -> FastAPI:
    """The README's host endpoints: a create with whatever the user typed, and a cancel."""
    project_id = octotp.accounts.create_project("errors").project.id
    app = FastAPI()

    @app.post("/signup")
    def signup(email: str) -> dict[str, str]:
        token = get_octotp().tokens.create(project_id, email=email)
        return {"tokenId": token.id}

    @app.post("/cancel/{token_id}")
    def cancel(token_id: str, octotp: OctotpDep) -> None:
        octotp.cancel_token(project_id, token_id)

    install(app, octotp, prefix="/octotp", **install_options)
    return app


def test_opted_in_a_bad_email_is_a_problem_naming_the_python_argument(octotp: Octotp) -> None:
    with TestClient(host_with_signup(octotp, handle_errors=True)) as client:
        answer = client.post("/signup", params={"email": "not an email"}, headers={"X-Request-Id": "trace-1"})
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["x-request-id"] == "trace-1"
        body = answer.json()
        assert body["code"] == "invalid_field"
        assert body["requestId"] == "trace-1"
        assert [e["field"] for e in body["errors"]] == ["email"]  # the endpoint's argument
        assert "recipientEmail" not in answer.text

        missing = client.post("/cancel/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"

        # FastAPI's own request validation keeps its handler (422), and the mounted API its answers.
        assert client.post("/signup").status_code == 422
        assert client.post("/octotp/api/tokens", json={}).json()["code"] == "invalid_api_key"


def test_handle_octotp_errors_is_the_same_opt_in(octotp: Octotp) -> None:
    app = host_with_signup(octotp)
    handle_octotp_errors(app)
    with TestClient(app) as client:
        assert client.post("/signup", params={"email": "nope"}).status_code == 400


def test_without_opting_in_the_error_reaches_the_host(octotp: Octotp) -> None:
    with TestClient(host_with_signup(octotp)) as client, pytest.raises(InvalidInput) as caught:
        client.post("/signup", params={"email": "not an email"})
    assert [e.field for e in caught.value.errors] == ["email"]
    with TestClient(host_with_signup(octotp), raise_server_exceptions=False) as client:
        assert client.post("/signup", params={"email": "not an email"}).status_code == 500
