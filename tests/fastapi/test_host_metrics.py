"""``octotp_fastapi.metrics_view`` mounted in a host app: a create shows up in the next scrape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import Octotp, Settings
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_fastapi import install, metrics_view
from tests.metrics_samples import TOKEN, created_requests, samples


def test_a_host_app_serves_octotp_metrics(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    octotp = Octotp(
        make_settings(database_url=migrated_sqlite_url(tmp_path / "m.db"), metrics_enabled=True, metrics_token=TOKEN)
    )
    app = FastAPI()
    install(app, octotp, prefix="/octotp")
    app.add_api_route("/metrics", metrics_view, methods=["GET", "HEAD"], include_in_schema=False)
    created = octotp.accounts.create_project("fastapi metrics")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app) as client:
        before = created_requests(samples(client.get("/metrics", headers=auth).text))
        body = {"projectId": created.project.id, "recipientEmail": "host@example.com"}
        answer = client.post("/octotp/api/tokens", json=body, headers={"X-Api-Key": created.api_key.secret})
        assert answer.status_code == 201
        scraped = client.get("/metrics", headers=auth)
        refused = client.get("/metrics")
    octotp.close()
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert created_requests(samples(scraped.text)) == before + 1
    assert answer.json()["code"] not in scraped.text
    assert "host@example.com" not in scraped.text
    assert refused.status_code == 401
    assert json.loads(refused.text)["code"] == "invalid_metrics_token"
