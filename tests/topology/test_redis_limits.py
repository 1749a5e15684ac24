"""Redis as the rate-limit storage of a real ``octotp serve``: a Redis restart under load fails closed
(503 problems, no code issued, never a 500) and octotp recovers by itself once Redis is back; Redis
with a password over TLS (``rediss://``) works, and a wrong password is named by ``octotp check``
and at start; Redis Sentinel with a password counts on the master it names.

What ``docs/operations/deployment.md`` (*Redis for rate limits*) describes is what runs here.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client
from click.testing import CliRunner

from octotp_core import Octotp, Settings
from octotp_core.cli import main
from octotp_core.errors import RateLimited
from octotp_core.health import check_rate_limit_storage
from octotp_core.testing.contract import assert_problem
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.http_clients import HttpResult, UrlClient
from octotp_core.testing.servers import ServeProcess, free_port

from .children import Child, self_signed_certificate, tool
from .conftest import ROOMY_PLANS

pytestmark = pytest.mark.xdist_group("topology")

RECOVERY_SECONDS = 15.0
"""How long octotp may take to count in Redis again after it restarts (it takes well under one)."""


def _env(data_dir: Path, secret: str, storage: str) -> dict[str, str]:
    return {
        "OCTOTP_DATA_DIR": str(data_dir),
        "OCTOTP_SECRET_KEY": secret,
        "OCTOTP_PLANS": ROOMY_PLANS,
        "OCTOTP_RATE_LIMIT_STORAGE": storage,
    }


def _project(data_dir: Path, secret: str) -> tuple[str, str]:
    octotp = Octotp(Settings(data_dir=data_dir, secret_key=secret, plans=json.loads(ROOMY_PLANS)))
    try:
        created = octotp.accounts.create_project("redis")
        return created.project.id, created.api_key.secret
    finally:
        octotp.close()


def _create(client: UrlClient, project: tuple[str, str], email: str | None = None) -> HttpResult:
    body = {"projectId": project[0], "recipientEmail": email or f"{uuid.uuid4().hex[:12]}@example.com"}
    headers = {"Content-Type": "application/json", "X-Api-Key": project[1]}
    return client.request("POST", "/api/tokens", headers=headers, body=json.dumps(body).encode())


class SteadyLoad:
    """Creates for fresh recipients, one after another with a short pause, in a thread; every answer kept."""

    def __init__(self, client: UrlClient, project: tuple[str, str]) -> None:
        self.client, self.project = client, project
        self.answers: list[HttpResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.answers.append(_create(self.client, self.project))
            self._stop.wait(0.02)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def statuses(self) -> list[int]:
        return [answer.status for answer in self.answers]


def _until(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_redis_restart_under_load_fails_closed_then_recovers(
    tmp_path: Path, test_secret: str, start_redis: Callable[..., Child]
) -> None:
    redis = start_redis()
    assert redis.port is not None
    with ServeProcess(_env(tmp_path, test_secret, f"redis://127.0.0.1:{redis.port}/0")) as server:
        project = _project(tmp_path, test_secret)  # the server migrated the database
        client = UrlClient(server.url)
        with SteadyLoad(client, project) as load:
            assert _until(lambda: load.statuses().count(201) >= 5, 10), load.statuses()
            redis.stop()
            served_before = len(load.answers)
            assert _until(lambda: load.statuses()[served_before:].count(503) >= 5, 10), load.statuses()

            # While Redis is down: every request that needs a limit is refused, as a problem.
            down = assert_problem(_create(client, project), 503, "storage_unavailable")
            assert "expiresAt" not in down  # no code was issued
            guess = {"projectId": project[0], "recipientEmail": "a@example.com", "code": "123456"}
            validate = client.request(
                "POST",
                "/api/tokens/validate",
                headers={"Content-Type": "application/json", "X-Api-Key": project[1]},
                body=json.dumps(guess).encode(),
            )
            assert_problem(validate, 503, "storage_unavailable")
            assert client.request("GET", "/readyz").status == 503
            assert client.request("GET", "/healthz").status == 200  # alive: the balancer only stops routing to it

            # Redis back on the same port: the same octotp process counts there again.
            restarted = start_redis(redis.port)
            outage_end = len(load.answers)
            assert _until(lambda: 201 in load.statuses()[outage_end:], RECOVERY_SECONDS), load.statuses()[outage_end:]
            assert client.request("GET", "/readyz").status == 200
            recovered_at = len(load.answers)
            assert _until(lambda: len(load.answers) >= recovered_at + 5, 10)
        after = load.statuses()[recovered_at:]
        assert after, load.statuses()
        assert set(after) == {201}, after
        assert set(load.statuses()) <= {201, 503}, load.statuses()  # never a 500, never anything else
        for answer in load.answers:  # a 201 carries a code; a 503 is the storage problem, and issued none
            body = answer.json()
            assert (
                "expiresAt" in body
                if answer.status == 201
                else (body["code"], "expiresAt" in body)
                == (
                    "storage_unavailable",
                    False,
                )
            )
        assert server.proc.poll() is None  # one process throughout: no restart
        assert "Traceback" not in server.output()
    assert restarted.proc.poll() is None


def _redis_tls(start_redis: Callable[..., Child], directory: Path, password: str) -> tuple[Child, Path]:
    cert, key = self_signed_certificate(directory, "redis")
    port = free_port()
    redis = start_redis(
        port,
        "--port", "0",
        "--tls-port", str(port),
        "--tls-cert-file", str(cert),
        "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert),
        "--tls-auth-clients", "no",
        "--requirepass", password,
    )  # fmt: skip
    return redis, cert


def _check(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """``octotp check --json`` with exactly these settings (in this process: a CLI start costs seconds)."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OCTOTP_") and k not in env}
    result = CliRunner().invoke(main, ["check", "--json"], env={**unset, **env})
    report: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, report


def _storage_check(report: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in report["checks"] if c["name"] == "rate-limit storage")
    return found


def test_redis_with_a_password_over_tls(tmp_path: Path, test_secret: str, start_redis: Callable[..., Child]) -> None:
    password = uuid.uuid4().hex
    redis, ca = _redis_tls(start_redis, tmp_path, password)
    url = f"rediss://:{password}@127.0.0.1:{redis.port}/0?ssl_ca_certs={ca}"
    env = _env(tmp_path, test_secret, url)

    with ServeProcess(env) as server:
        status, report = _check(env)  # the server migrated the database: every check can pass
        assert (status, _storage_check(report)["ok"]) == (0, True), report
        assert password not in json.dumps(report)
        project = _project(tmp_path, test_secret)
        client = UrlClient(server.url)
        assert client.request("GET", "/readyz").status == 200
        email = "tls@example.com"
        statuses = [_create(client, project, email).status for _ in range(6)]
        assert statuses == [201] * 5 + [429]  # the recipient's send budget (5 per 10 minutes), counted in Redis
        assert "PROBLEM" not in server.output()
    # The counters are in this Redis, reached over TLS with the password.
    keys = [key.decode() for key in redis_client.Redis.from_url(url).scan_iter()]
    assert any("send" in key for key in keys), keys
    assert password not in server.output()


def test_a_wrong_redis_password_is_named_at_check_and_start(
    tmp_path: Path, test_secret: str, start_redis: Callable[..., Child]
) -> None:
    redis, ca = _redis_tls(start_redis, tmp_path, uuid.uuid4().hex)
    wrong = "not-" + uuid.uuid4().hex
    env = _env(tmp_path, test_secret, f"rediss://:{wrong}@127.0.0.1:{redis.port}/0?ssl_ca_certs={ca}")

    with ServeProcess(env) as server:
        status, report = _check(env)
        assert status == 1, report
        assert [c["name"] for c in report["checks"] if not c["ok"]] == ["rate-limit storage"], report
        detail = str(_storage_check(report)["detail"])
        assert "AuthenticationError" in detail, detail
        assert "invalid username-password pair" in detail, detail
        assert wrong not in json.dumps(report)
        project = _project(tmp_path, test_secret)
        start_lines = [line for line in server.output().splitlines() if "PROBLEM rate-limit storage" in line]
        assert len(start_lines) == 1, server.output()
        assert "AuthenticationError" in start_lines[0]
        client = UrlClient(server.url)
        assert_problem(_create(client, project), 503, "storage_unavailable")
        assert client.request("GET", "/readyz").status == 503
    assert wrong not in server.output()


def test_redis_through_sentinel_with_a_password(
    tmp_path: Path, test_secret: str, start_redis: Callable[..., Child]
) -> None:
    """``redis+sentinel://:PASSWORD@SENTINEL:PORT/SERVICE``: limits asks the sentinel for the master
    (both require the password) and counts there. In process: the URL and the counting are core's."""
    password = uuid.uuid4().hex
    master = start_redis(None, "--requirepass", password)
    sentinel_port = free_port()
    config = tmp_path / "sentinel.conf"  # the sentinel rewrites its own file: a writable copy
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor octotp 127.0.0.1 {master.port} 1\n"
        f"sentinel auth-pass octotp {password}\n"
        f"requirepass {password}\n"
    )
    sentinel = Child(
        [tool("redis-server", "redis-server"), str(config), "--sentinel"],
        tmp_path / "sentinel.log",
        port=sentinel_port,
    )
    try:
        url = f"redis+sentinel://:{password}@127.0.0.1:{sentinel_port}/octotp"
        settings = Settings(
            data_dir=tmp_path,
            secret_key=test_secret,
            database_url=migrated_sqlite_url(tmp_path / "sentinel.db"),
            rate_limit_storage=url,
        )
        octotp = Octotp(settings)
        try:
            check = check_rate_limit_storage(octotp)
            assert check.ok, check.detail
            assert password not in check.detail
            project = octotp.accounts.create_project("sentinel").project
            for _ in range(5):
                assert octotp.create_token(project.id, email="sentinel@example.com").code is not None
            with pytest.raises(RateLimited) as refused:
                octotp.create_token(project.id, email="sentinel@example.com")
            assert refused.value.scope == "recipient"
        finally:
            octotp.close()
        counted = redis_client.Redis(port=master.port, password=password)
        assert any(b"send" in key for key in counted.scan_iter()), "nothing was counted on the master"
    finally:
        sentinel.stop()
