"""``octotp serve --workers N`` shares its rate limits across the workers (issue 11 item 1): with
default settings through the database, and an explicit per-process storage is refused."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess, free_port
from octotp_fastapi.serve import serve, worker_settings

pytestmark = pytest.mark.xdist_group("processes")

CREATES = 200


def _create(url: str, project_id: str, key: str) -> int:
    body = json.dumps({"projectId": project_id, "recipientEmail": f"w-{uuid.uuid4().hex[:12]}@example.com"})
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    return UrlClient(url).request("POST", "/api/tokens", headers=headers, body=body.encode()).status


def test_two_workers_with_default_settings_allow_exactly_the_plan(tmp_path: Path) -> None:
    """A fresh data dir, nothing configured, two workers: 200 simultaneous creates on a free
    (60/minute) project give exactly 60 codes."""
    with ServeProcess({"OCTOTP_DATA_DIR": str(tmp_path)}, workers=2) as server:
        octotp = Octotp(Settings(data_dir=tmp_path))
        try:
            created = octotp.accounts.create_project("two workers")
        finally:
            octotp.close()
        assert created.project.plan == "free"
        barrier = threading.Barrier(100, timeout=60)

        def burst(_: int) -> list[int]:
            barrier.wait()
            return [_create(server.url, created.project.id, created.api_key.secret) for _ in range(CREATES // 100)]

        with ThreadPoolExecutor(100) as pool:
            statuses = Counter(status for statuses in pool.map(burst, range(100)) for status in statuses)
        output = server.output()
    assert statuses == {201: 60, 429: CREATES - 60}
    assert "rate limits shared by the 2 workers in the database" in output


def test_explicit_per_process_storage_with_several_workers_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        serve,
        ["--workers", "2", "--port", str(free_port())],
        env={"OCTOTP_DATA_DIR": str(tmp_path), "OCTOTP_RATE_LIMIT_STORAGE": "memory://"},
    )
    assert result.exit_code == 2
    assert "OCTOTP_RATE_LIMIT_STORAGE=memory:// counts in each process" in result.output
    assert "OCTOTP_RATE_LIMIT_STORAGE=database://" in result.output
    assert "redis://" in result.output
    assert not (tmp_path / "octotp.db").exists()  # refused before anything was set up


def test_worker_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCTOTP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OCTOTP_RATE_LIMIT_STORAGE", raising=False)
    assert worker_settings(1).rate_limit_storage == "memory://"  # one process: the fast default
    assert worker_settings(3).rate_limit_storage == "database://"
    assert Settings().rate_limit_storage == "database://"  # what every worker reads
    monkeypatch.setenv("OCTOTP_RATE_LIMIT_STORAGE", "redis://127.0.0.1:6379/1")
    assert worker_settings(3).rate_limit_storage == "redis://127.0.0.1:6379/1"  # already shared: kept
