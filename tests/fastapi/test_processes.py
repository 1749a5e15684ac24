"""``octotp serve`` as real processes: restart keeps data, two servers share PostgreSQL + Redis
(plan limit exact across both, a code approved once across both), logs carry no secrets."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from octotp_core import Octotp, Settings
from octotp_core.testing.databases import ServiceUnavailable, temporary_database
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess

from ..conftest import unavailable
from .conftest import serve_env

pytestmark = pytest.mark.xdist_group("processes")


def _create(url: str, project_id: str, key: str, email: str) -> tuple[int, dict[str, object]]:
    body = json.dumps({"projectId": project_id, "recipientEmail": email}).encode()
    r = UrlClient(url).request(
        "POST", "/api/tokens", headers={"Content-Type": "application/json", "X-Api-Key": key}, body=body
    )
    return r.status, r.json()


def _validate(url: str, project_id: str, key: str, email: str, code: str) -> str:
    body = json.dumps({"projectId": project_id, "recipientEmail": email, "code": code}).encode()
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    r = UrlClient(url).request("POST", "/api/tokens/validate", headers=headers, body=body)
    status: str = r.json()["status"]
    return status


def test_token_survives_restart(tmp_path: Path, test_secret: str) -> None:
    env = serve_env(tmp_path, test_secret)
    server = ServeProcess(env)
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret))
    created = octotp.accounts.create_project("restart")
    octotp.close()
    status, body = _create(server.url, created.project.id, created.api_key.secret, "restart@example.com")
    assert status == 201
    server.stop()
    assert "Application shutdown complete" in server.output()
    again = ServeProcess(env)
    try:
        assert (
            _validate(again.url, created.project.id, created.api_key.secret, "restart@example.com", str(body["code"]))
            == "approved"
        )
    finally:
        again.stop()


def test_generated_secret_is_persisted(tmp_path: Path) -> None:
    env = {"OCTOTP_DATA_DIR": str(tmp_path)}
    server = ServeProcess(env)
    server.stop()
    secret_file = tmp_path / "secret_key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    first = secret_file.read_text()
    server = ServeProcess(env)
    server.stop()
    assert secret_file.read_text() == first
    assert str(tmp_path) in server.output()  # tells the operator where the data lives


@pytest.fixture
def shared_backends(tmp_path: Path, redis_url: str) -> Iterator[str]:
    try:
        with temporary_database("postgres", tmp_path) as url:
            yield url
    except ServiceUnavailable as exc:
        unavailable(exc)


def test_two_servers_share_limits_and_single_use(
    tmp_path: Path, test_secret: str, shared_backends: str, redis_url: str
) -> None:
    plans = {"free": {"creates_per_minute": 60}, "tiny": {"creates_per_minute": 7}}
    env = serve_env(
        tmp_path,
        test_secret,
        OCTOTP_DATABASE_URL=shared_backends,
        OCTOTP_RATE_LIMIT_STORAGE=redis_url,
        OCTOTP_PLANS=json.dumps(plans),
    )
    a = ServeProcess(env)
    b = ServeProcess(env)
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret, database_url=shared_backends, plans=plans))
    try:
        tiny = octotp.accounts.create_project("shared", plan="tiny")
        pid, key = tiny.project.id, tiny.api_key.secret
        urls = [a.url, b.url] * 10
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda u: _create(u, pid, key, f"{uuid.uuid4().hex}@example.com")[0], urls))
        assert results.count(201) == 7
        assert results.count(429) == 13

        free = octotp.accounts.create_project("single-use")
        status, body = _create(a.url, free.project.id, free.api_key.secret, "both@example.com")
        assert status == 201
        with ThreadPoolExecutor(10) as pool:
            verdicts = list(
                pool.map(
                    lambda u: _validate(u, free.project.id, free.api_key.secret, "both@example.com", str(body["code"])),
                    urls[:10],
                )
            )
        assert verdicts.count("approved") == 1
    finally:
        octotp.close()
        a.stop()
        b.stop()
    for server in (a, b):
        log = server.output()
        assert "request_id=" in log
        assert key not in log
        assert free.api_key.secret not in log
        assert str(body["code"]) not in re.sub(r"request_id=\w+|id=[\w-]+|project=[\w-]+", "", log)
        assert "both@example.com" not in log


def test_several_workers_share_a_tcp_nodelay_socket(tmp_path: Path, test_secret: str) -> None:
    """``--workers 2`` serves through one inherited socket that asyncio recognises as TCP (so it sets
    TCP_NODELAY on every connection; uvicorn's own proto-0 socket adds ~40 ms per keep-alive request)."""
    import socket

    import uvicorn

    from octotp_core.testing.servers import free_port
    from octotp_fastapi.serve import listening_socket

    sock = listening_socket(uvicorn.Config("octotp_fastapi.app:app_from_env", host="127.0.0.1", port=free_port()))
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.get_inheritable()
    finally:
        sock.close()
    with ServeProcess(serve_env(tmp_path, test_secret), workers=2) as server:
        client = UrlClient(server.url)
        assert all(client.request("GET", "/healthz").status == 200 for _ in range(10))
