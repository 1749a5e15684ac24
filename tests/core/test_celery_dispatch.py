"""``delivery_dispatch`` with a real Celery worker on RabbitMQ (``OCTOTP_TEST_AMQP_URL``): codes
created with ``send=True`` go to the host's task queue at once, a ``celery worker`` process sends
each through ``Outbox.send_job`` to a real SMTP server (aiosmtpd), every one arrives exactly once,
and a task delivered again (as after a lost acknowledgement) sends nothing more."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from octotp_core.testing.databases import service_url
from octotp_core.testing.mailbox import Mailbox

from ..conftest import unavailable
from ..outbox_runs import run_out_leftover_jobs
from . import celery_host
from .conftest import MakeOctotp

ROOT = Path(__file__).resolve().parents[2]
CODES = 5

pytestmark = [pytest.mark.one_database, pytest.mark.xdist_group("processes")]


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The test RabbitMQ, checked to answer."""
    try:
        url = service_url("amqp")
        from kombu import Connection

        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        unavailable(exc)
    return url


@pytest.fixture
def celery_queue(amqp_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A queue of this test's own on the broker, deleted afterwards."""
    name = f"octotp-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("OCTOTP_TEST_CELERY_QUEUE", name)
    celery_host.app.conf.broker_url = amqp_url
    yield name
    with celery_host.app.connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _start_worker(queue: str, environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "tests.core.celery_host", "worker", "--pool=solo"]
    command += ["-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]
    env = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()  # a warm shutdown
    try:
        worker.wait(20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(5)


def test_a_celery_worker_sends_each_dispatched_code_exactly_once(
    make_octotp: MakeOctotp,
    database_url: str,
    test_secret: str,
    tmp_path: Path,
    mailbox: Mailbox,
    celery_queue: str,
    amqp_url: str,
) -> None:
    octotp = make_octotp(
        delivery_mode="queue", delivery_dispatch="tests.core.celery_host.dispatch", **mailbox.delivery_settings
    )
    project = octotp.accounts.create_project("Celery host").project.id
    environment = {
        "OCTOTP_DATABASE_URL": database_url,
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_DELIVERY_MODE": "queue",
        "OCTOTP_TEST_AMQP_URL": amqp_url,
        **mailbox.delivery_environment,
    }
    run_out_leftover_jobs(octotp)
    with mailbox.lock:
        mailbox.messages.clear()
    log = tmp_path / "celery.log"
    worker = _start_worker(celery_queue, environment, log)
    try:
        recipients = [f"celery-{uuid.uuid4().hex[:8]}@example.com" for _ in range(CODES)]
        created = {to: octotp.tokens.create(project, email=to, send=True) for to in recipients}
        for to, token in created.items():
            mailbox.wait_for(to, timeout=60)  # the worker process starts, then takes the queued tasks
            assert mailbox.code_for(to) == token.code
        # The SMTP server has a message a moment before the worker records it sent: wait for that.
        deadline = time.monotonic() + 30
        while True:
            jobs = [octotp.store.get_token_job(token.id) for token in created.values()]
            if all(job is not None and job.state == "sent" for job in jobs) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [(job.state, job.attempts) for job in jobs if job] == [("sent", 1)] * CODES
        # The broker hands a task over again (a lost acknowledgement): the job is done, nothing is sent.
        again = [celery_host.send_job.apply_async(args=[job.id], queue=celery_queue) for job in jobs if job]
        assert [result.get(timeout=30) for result in again] == [False] * CODES
        assert octotp.outbox.run_once("poller") == 0  # nothing left for a polling worker either
        assert sorted(len(mailbox.to(to)) for to in recipients) == [1] * CODES
        assert len(mailbox.messages) == CODES
    finally:
        _stop(worker)
    output = log.read_text(errors="replace")
    assert "octotp_test_host.send_job" in output  # the worker ran the tasks
    for token in created.values():
        assert token.code is not None
        assert token.code not in output
    for to in recipients:
        assert to not in output
