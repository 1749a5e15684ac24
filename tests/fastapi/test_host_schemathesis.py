"""schemathesis against a host FastAPI app with octotp's router under ``/octotp``, served by uvicorn
in a process of its own (in the test's process, the fuzzer and the server would share one GIL)."""

from __future__ import annotations

import json
from pathlib import Path

from octotp_core import Octotp, Settings
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.fuzz import FUZZ_SETTINGS, FuzzTarget, run_schemathesis
from octotp_core.testing.servers import ServeProcess


def test_fastapi_host_router_passes_schemathesis(tmp_path: Path, test_secret: str) -> None:
    url = migrated_sqlite_url(tmp_path / "fuzz.db")
    settings = {"data_dir": str(tmp_path), "secret_key": test_secret, "database_url": url, **FUZZ_SETTINGS}
    env = {f"OCTOTP_{k.upper()}": v if isinstance(v, str) else json.dumps(v) for k, v in settings.items()}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # the repository root: tests.fastapi.fuzz_host
    octotp = Octotp(Settings(**settings))  # type: ignore[arg-type]
    try:
        created = octotp.accounts.create_project("fuzz")
        with ServeProcess(env, app="tests.fastapi.fuzz_host:app", prefix="/octotp") as server:
            report = run_schemathesis(FuzzTarget(server.url + "/octotp", created.project.id, created.api_key.secret))
            output = server.output()
    finally:
        octotp.close()
    print(f"\nschemathesis (FastAPI host): {report.cases} requests, {dict(report.statuses)}")
    assert report.cases >= 1_000
    assert report.server_errors == 0
    assert "Traceback" not in output
