"""A Flask host app under gunicorn with 2 workers: the plan limit holds across both (Redis)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from octotp_core import Octotp, Settings
from octotp_core.migrate import upgrade
from octotp_core.store import make_engine
from octotp_core.testing.http_clients import HttpResult, UrlClient

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("flask-gunicorn")]

PLANS = {"free": {"creates_per_minute": 60}, "tiny": {"creates_per_minute": 5}}

HOST_APP = """
import json, os

from flask import Flask

from octotp_flask import Octotp

octotp = Octotp()


def create_app():
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ["HOST_SECRET_KEY"],
        OCTOTP_DATABASE_URL=os.environ["HOST_DATABASE_URL"],
        OCTOTP_RATE_LIMIT_STORAGE=os.environ["HOST_REDIS_URL"],
        OCTOTP_PLANS=json.loads(os.environ["HOST_PLANS"]),
        OCTOTP_URL_PREFIX="/octotp",
    )
    octotp.init_app(app)

    @app.after_request
    def tell_worker(response):
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gunicorn_app(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, test_secret: str
) -> Iterator[tuple[UrlClient, Octotp]]:
    """The host app under ``gunicorn -w 2`` on a free port, and an ``Octotp`` on the same database."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    database_url = f"sqlite:///{tmp_path / 'gunicorn.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    (tmp_path / "hostapp.py").write_text(textwrap.dedent(HOST_APP))
    port = free_port()
    env = {
        **os.environ,
        "HOST_SECRET_KEY": test_secret,
        "HOST_DATABASE_URL": database_url,
        "HOST_REDIS_URL": redis_url,
        "HOST_PLANS": json.dumps(PLANS),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path)]
    cmd += ["--no-control-socket", "hostapp:create_app()"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    client = UrlClient(f"http://127.0.0.1:{port}/octotp", timeout=30)
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret, database_url=database_url, plans=PLANS))
    try:
        wait_until_both_workers_answer(proc, f"http://127.0.0.1:{port}/octotp", tmp_path / "gunicorn.log")
        yield client, octotp
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        octotp.close()


def wait_until_both_workers_answer(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 90) -> None:
    """Poll /healthz until both workers have answered (booting is slow on a busy machine)."""
    client = UrlClient(url, timeout=5)
    pids: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(pids) < 2:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn workers did not all answer ({pids}): {log.read_text()}")
        try:
            r = client.request("GET", "/healthz")
            if r.status == 200:
                pids.add(r.headers["x-worker-pid"])
        except OSError:
            time.sleep(0.1)


def test_plan_limit_holds_across_two_workers(gunicorn_app: tuple[UrlClient, Octotp]) -> None:
    client, octotp = gunicorn_app
    project = octotp.accounts.create_project("gunicorn", plan="tiny")
    headers = {"Content-Type": "application/json", "X-Api-Key": project.api_key.secret}
    start = threading.Barrier(12)

    def create(i: int) -> HttpResult:
        body = {"projectId": project.project.id, "recipientEmail": f"burst-{i}-{uuid.uuid4().hex[:6]}@example.com"}
        start.wait()
        return client.request("POST", "/api/tokens", headers=headers, body=json.dumps(body).encode())

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(create, range(12)))

    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 5 + [429] * 7, [(r.status, r.body[:200]) for r in results]
    assert len({r.headers["x-worker-pid"] for r in results}) == 2  # both workers answered
    for r in results:
        if r.status == 429:
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["ratelimit-limit"] == "5"


def test_a_code_validates_once_across_workers(gunicorn_app: tuple[UrlClient, Octotp]) -> None:
    client, octotp = gunicorn_app
    project = octotp.accounts.create_project("gunicorn-validate")
    created = octotp.create_token(project.project.id, email="once@example.com")
    body = json.dumps({"projectId": project.project.id, "recipientEmail": "once@example.com", "code": created.code})
    headers = {"Content-Type": "application/json", "X-Api-Key": project.api_key.secret}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(
                lambda _: client.request("POST", "/api/tokens/validate", headers=headers, body=body.encode()), range(6)
            )
        )
    assert sorted(r.json()["status"] for r in results) == ["approved"] + ["not_found"] * 5
