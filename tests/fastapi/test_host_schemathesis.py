"""schemathesis against a host FastAPI app with octotp's router under ``/octotp``, served by uvicorn."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from octotp_core import Octotp, Settings
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.fuzz import FUZZ_SETTINGS, FuzzTarget, run_schemathesis
from octotp_core.testing.servers import ThreadedUvicorn
from octotp_fastapi import install


def test_fastapi_host_router_passes_schemathesis(tmp_path: Path, test_secret: str) -> None:
    url = migrated_sqlite_url(tmp_path / "fuzz.db")
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret, database_url=url, **FUZZ_SETTINGS))
    app = FastAPI(title="host")
    install(app, octotp, prefix="/octotp")
    try:
        created = octotp.accounts.create_project("fuzz")
        with ThreadedUvicorn(app) as server:
            report = run_schemathesis(FuzzTarget(server.url + "/octotp", created.project.id, created.api_key.secret))
    finally:
        octotp.close()
    print(f"\nschemathesis (FastAPI host): {report.cases} requests, {dict(report.statuses)}")
    assert report.cases >= 1_000
    assert report.server_errors == 0
