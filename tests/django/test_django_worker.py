"""``manage.py octotp worker`` in a fresh ``startproject``: the DjangoStore's queued codes
(``OCTOTP["DELIVERY_MODE"] = "queue"``) are sent through Django's SMTP email backend to a real SMTP
server by the worker process, and SIGTERM ends it cleanly; on PostgreSQL the worker closes its
connection after each batch as ``CONN_MAX_AGE`` says (``close_old_connections``, as around a request)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from octotp_core.testing.databases import service_url
from octotp_core.testing.mailbox import Mailbox

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("django-worker")]

CREATE = """
import json
from octotp_django import get_octotp
octotp = get_octotp()
project = octotp.accounts.create_project("Django worker").project.id
created = octotp.tokens.create(project, email={to!r}, send=True)
job = octotp.store.get_token_job(created.id)
print(json.dumps({{"project": project, "token": created.id, "job": job.state}}))
"""

VALIDATE = """
import json
from octotp_django import get_octotp
octotp = get_octotp()
job = octotp.store.get_token_job({token!r})
result = octotp.tokens.validate({project!r}, email={to!r}, code=input())
print(json.dumps({{"job": job.state, "job_id": job.id, "status": result.status}}))
"""


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("OCTOTP_")}
    env["PYTHONPATH"] = ""
    return env


def _site(root: Path, smtp_port: int, extra_settings: str = "") -> Path:
    """``django-admin startproject mysite`` with octotp in queue mode, mailing over SMTP, migrated."""
    env = _env()
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite"], cwd=root, env=env, check=True)
    site = root / "mysite"
    with (site / "mysite" / "settings.py").open("a") as settings:
        settings.write(
            '\nINSTALLED_APPS += ["octotp_django"]\n'
            'OCTOTP = {"HASHER": "hmac", "DELIVERY_MODE": "queue"}\n'
            'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
            f'EMAIL_HOST = "127.0.0.1"\nEMAIL_PORT = {smtp_port}\n' + extra_settings
        )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=site, env=env, check=True)
    return site


def _shell(site: Path, script: str, stdin: str = "") -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=site,
        env=_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    parsed: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_manage_py_octotp_worker_sends_the_queued_code(tmp_path: Path, mailbox: Mailbox) -> None:
    site = _site(tmp_path, mailbox.port)
    to = f"user-{uuid.uuid4().hex[:8]}@example.com"
    created = _shell(site, CREATE.format(to=to))
    assert created["job"] == "queued"
    assert mailbox.to(to) == []  # create only queued it

    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        cmd = [sys.executable, "manage.py", "octotp", "worker", "--poll", "0.1"]
        worker = subprocess.Popen(cmd, cwd=site, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            mailbox.wait_for(to, timeout=30)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0, log_path.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert "sending queued deliveries" in log_path.read_text()
    assert len(mailbox.to(to)) == 1
    code = mailbox.code_for(to)
    assert code not in log_path.read_text()
    validated = _shell(site, VALIDATE.format(token=created["token"], project=created["project"], to=to), code + "\n")
    assert (validated["job"], validated["status"]) == ("sent", "approved")
    # The Message-ID is the job's, the same on a re-send (a worker killed after the server accepted it).
    assert str(mailbox.wait_for(to)["Message-ID"]).startswith(f"<{validated['job_id']}@")


@pytest.fixture
def postgres_database() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database of its own (Django's ``DATABASES`` entry for it), dropped after."""
    url = make_url(service_url("postgres"))
    name = f"octotp_worker_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.host or "",
            "PORT": str(url.port or ""),
        }
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _backends(database: dict[str, str], application: str) -> int:
    """How many connections the worker has open."""
    engine = create_engine(service_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :db AND application_name = :app"),
                {"db": database["NAME"], "app": application},
            ).all()
        return len(rows)
    finally:
        engine.dispose()


def _held(database: dict[str, str], application: str, want: int, timeout: float) -> int:
    """The worker's connections, once they number ``want`` or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while (held := _backends(database, application)) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return held


def test_the_worker_closes_its_connection_between_batches_as_conn_max_age_says(
    tmp_path: Path, mailbox: Mailbox, postgres_database: dict[str, str]
) -> None:
    # CONN_MAX_AGE = 0 (Django's default): a connection lasts one request, and for the worker one batch,
    # so a database restarted while the worker waits leaves it no dead connection to fail on.
    database = {**postgres_database, "CONN_MAX_AGE": 0}
    site = _site(tmp_path, mailbox.port, f"DATABASES = {{'default': {database!r}}}\n")
    application = f"octotp-worker-{uuid.uuid4().hex[:8]}"
    first, second = (f"user-{uuid.uuid4().hex[:8]}@example.com" for _ in range(2))
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        cmd = [sys.executable, "manage.py", "octotp", "worker", "--poll", "5"]
        env = _env() | {"PGAPPNAME": application}  # libpq names the worker's connections
        worker = subprocess.Popen(cmd, cwd=site, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _shell(site, CREATE.format(to=first))
            mailbox.wait_for(first, timeout=30)
            # The batch is over (it waits 5 s for the next): its connection is closed, not kept.
            assert _held(postgres_database, application, 0, timeout=2.5) == 0, log_path.read_text()
            _shell(site, CREATE.format(to=second))
            mailbox.wait_for(second, timeout=30)
            assert _held(postgres_database, application, 0, timeout=2.5) == 0, log_path.read_text()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0, log_path.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert (len(mailbox.to(first)), len(mailbox.to(second))) == (1, 1)
