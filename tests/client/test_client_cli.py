"""``octotp-client``: JSON out, exit 0 / 1 (code not valid) / 2 (error, problem on stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from octotp_client.cli import main

pytestmark = pytest.mark.xdist_group("client")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, Any]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out) if out else None, json.loads(err) if err else None


def connection(project: Any) -> list[str]:
    return ["--base-url", project.base_url, "--api-key", project.api_key, "--project-id", project.id]


def test_create_validate_cancel_health(capsys: pytest.CaptureFixture[str], project: Any, recipient: str) -> None:
    status, created, _ = run(capsys, *connection(project), "create", "--email", recipient, "--expires-in", "120")
    assert status == 0
    assert set(created) == {"id", "code", "expiresAt", "channel", "sent"}
    assert created["expiresAt"].endswith("Z")

    # connection options are accepted after the command too
    wrong = "000000" if created["code"] != "000000" else "111111"
    status, answer, _ = run(capsys, "validate", "--email", recipient, "--code", wrong, *connection(project))
    assert (status, answer) == (1, {"isValid": False, "status": "incorrect"})
    status, answer, _ = run(capsys, *connection(project), "validate", "--email", recipient, "--code", created["code"])
    assert (status, answer) == (0, {"isValid": True, "status": "approved"})

    status, again, _ = run(capsys, *connection(project), "create", "--email", recipient)
    status, answer, _ = run(capsys, *connection(project), "cancel", again["id"])
    assert (status, answer) == (0, {"id": again["id"], "cancelled": True})

    assert run(capsys, *connection(project), "health") == (0, {"status": "ok"}, None)
    assert run(capsys, *connection(project), "health", "--ready") == (0, {"status": "ready"}, None)


def test_errors_exit_2_with_the_problem_on_stderr(capsys: pytest.CaptureFixture[str], project: Any) -> None:
    status, out, problem = run(capsys, *connection(project), "cancel", str(uuid.uuid4()))
    assert (status, out) == (2, None)
    assert problem["status"] == 404
    assert problem["code"] == "not_found"
    assert problem["requestId"]

    status, _, problem = run(capsys, *connection(project), "create", "--email", "nope")
    assert status == 2
    assert problem["errors"][0]["field"] == "recipientEmail"


def test_connection_and_configuration_errors_exit_2(
    capsys: pytest.CaptureFixture[str], refused_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, problem = run(capsys, "--base-url", refused_url, "--api-key", "k", "--max-retries", "0", "health")
    assert status == 2
    assert problem["error"] == "APIConnectionError"

    monkeypatch.delenv("OCTOTP_API_KEY", raising=False)
    status, _, problem = run(capsys, "--base-url", refused_url, "health")
    assert status == 2
    assert problem["error"] == "ConfigurationError"
    assert "OCTOTP_API_KEY" in problem["detail"]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", "--email", "a@example.com"])  # no --code
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["create", "--email", "a@example.com", "--phone", "+447911123456"])  # one recipient only
    assert exited.value.code == 2
    capsys.readouterr()


def test_installed_command_reads_the_environment(project: Any, recipient: str) -> None:
    script = Path(sys.executable).with_name("octotp-client")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "octotp_client.cli"]
    env = dict(
        os.environ, OCTOTP_BASE_URL=project.base_url, OCTOTP_API_KEY=project.api_key, OCTOTP_PROJECT_ID=project.id
    )

    def octotp_client(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60)

    created = octotp_client("create", "--email", recipient)
    assert created.returncode == 0, created.stderr
    code = json.loads(created.stdout)["code"]
    valid = octotp_client("validate", "--email", recipient, "--code", code)
    assert valid.returncode == 0, valid.stderr
    again = octotp_client("validate", "--email", recipient, "--code", code)
    assert again.returncode == 1
    assert json.loads(again.stdout) == {"isValid": False, "status": "not_found"}
