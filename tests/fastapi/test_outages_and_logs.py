"""Storage outages answer 503 problems (never 500), and request logs never hold a code, key or recipient."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import Octotp, Settings
from octotp_core.testing.contract import MountedOctotp, assert_problem
from octotp_core.testing.servers import free_port
from octotp_fastapi import install


def _app(octotp: Octotp) -> TestClient:
    app = FastAPI()
    install(app, octotp)
    return TestClient(app)


def test_rate_limit_storage_down_is_503(database_url: str, make_settings: Callable[..., Settings]) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    healthy = Octotp(make_settings(database_url=database_url))
    created = healthy.accounts.create_project("outage")
    healthy.close()
    octotp = Octotp(make_settings(database_url=database_url, rate_limit_storage=dead))
    with _app(octotp) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["code"] == "storage_unavailable"
        r = client.post(
            "/api/tokens",
            headers={"X-Api-Key": created.api_key.secret},
            json={"projectId": created.project.id, "recipientEmail": "down@example.com"},
        )
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert client.get("/healthz").status_code == 200  # liveness does not depend on storage
    octotp.close()


def test_database_down_is_503(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    octotp = Octotp(make_settings(database_url=url))
    with _app(octotp) as client:
        assert client.get("/readyz").status_code == 503
        r = client.post(
            "/api/tokens",
            headers={"X-Api-Key": "octotp_" + "A" * 38},
            json={"projectId": "6f1c1b7e-0000-4000-8000-000000000000", "recipientEmail": "x@example.com"},
        )
        # A well-formed-looking key with a bad checksum is refused before any database work...
        assert r.status_code == 401
        r = client.post(
            "/api/tokens/validate",
            json={
                "projectId": "6f1c1b7e-0000-4000-8000-000000000000",
                "recipientEmail": "x@example.com",
                "code": "123456",
            },
        )
        # ...while anything that needs the database gets a 503 problem, not a 500.
        assert r.status_code == 503
        assert r.json()["code"] == "storage_unavailable"
    octotp.close()


def test_logs_hold_no_code_key_or_recipient(host_app: MountedOctotp, caplog: pytest.LogCaptureFixture) -> None:
    project = host_app.new_project(None)
    client = host_app.client
    email = "private.person@example.com"
    phone = "+442079460958"
    with caplog.at_level(logging.DEBUG):
        r = client.request(
            "POST",
            "/api/tokens",
            headers={"Content-Type": "application/json", "X-Api-Key": project.api_key},
            body=json.dumps({"projectId": project.project_id, "recipientEmail": email}).encode(),
        )
        code = r.json()["code"]
        r2 = client.request(
            "POST",
            "/api/tokens",
            headers={"Content-Type": "application/json", "X-Api-Key": project.api_key},
            body=json.dumps({"projectId": project.project_id, "recipientPhone": phone}).encode(),
        )
        assert r2.status == 201
        client.request(
            "POST",
            "/api/tokens/validate",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"projectId": project.project_id, "recipientEmail": email, "code": code}).encode(),
        )
        leaked = client.request(
            "POST",
            f"/api/tokens?api_key={project.api_key}",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"projectId": project.project_id, "recipientEmail": email}).encode(),
        )
        assert_problem(leaked, 401)
    ours = [rec for rec in caplog.records if rec.name.startswith("octotp")]  # the test client logs URLs itself
    text = "\n".join(f"{rec.name} {rec.getMessage()} {rec.args}" for rec in ours)
    assert "request_id=" in text  # the log exists, so its absence of secrets means something
    assert project.api_key not in text
    assert email not in text
    assert phone not in text
    assert f" {code}" not in text
    assert f"={code}" not in text


def test_in_process_api_names(host_app: MountedOctotp) -> None:
    """``create_token``/``validate_token``/``cancel_token`` exist at module level, as in every adapter."""
    import octotp_fastapi

    project = host_app.new_project(None)
    token = octotp_fastapi.create_token(project.project_id, email="inproc@example.com")
    assert token.code is not None
    verdict = octotp_fastapi.validate_token(project.project_id, email="inproc@example.com", code=token.code)
    assert verdict.status == "approved"
    other = octotp_fastapi.create_token(project.project_id, email="inproc2@example.com")
    octotp_fastapi.cancel_token(project.project_id, other.id)
    assert host_app.extra["octotp"].store.get_token(other.id).closed_reason == "cancelled"
