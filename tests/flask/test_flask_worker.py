"""``flask octotp worker``: a host app's own worker process sends its queued codes
(``OCTOTP_DELIVERY_MODE="queue"``) through a real SMTP server, and SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.mailbox import Mailbox
from octotp_flask import get_octotp

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("flask-worker")]

HOST_APP = """
import os

from flask import Flask

from octotp_flask import Octotp

octotp = Octotp()


def create_app():
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ["HOST_SECRET_KEY"],
        OCTOTP_DATABASE_URL=os.environ["HOST_DATABASE_URL"],
        OCTOTP_DELIVERY_MODE="queue",
        OCTOTP_DELIVERY_EMAIL_BACKEND="octotp_core.delivery.smtp.SmtpBackend",
        OCTOTP_DELIVERY_OPTIONS={"smtp": {"host": "127.0.0.1", "port": int(os.environ["HOST_SMTP_PORT"])}},
    )
    octotp.init_app(app)
    return app
"""


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def test_flask_octotp_worker_sends_the_hosts_queued_code(
    make_app: Callable[..., Flask], tmp_path: Path, test_secret: str, mailbox: Mailbox
) -> None:
    database_url = migrated_sqlite_url(tmp_path / "host.db")
    (tmp_path / "hostapp.py").write_text(textwrap.dedent(HOST_APP))
    # The host app itself, in this process: it queues the code with its token and sends nothing.
    app = make_app(
        OCTOTP_DATABASE_URL=database_url,
        OCTOTP_DELIVERY_MODE="queue",
        **{f"OCTOTP_{name.upper()}": value for name, value in mailbox.delivery_settings.items()},
    )
    to = f"user-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        octotp = get_octotp()
        project = octotp.accounts.create_project("Flask worker").project.id
        created = octotp.tokens.create(project, email=to, send=True)
    assert mailbox.to(to) == []

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OCTOTP_")},
        "HOST_SECRET_KEY": test_secret,
        "HOST_DATABASE_URL": database_url,
        "HOST_SMTP_PORT": str(mailbox.port),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        cmd = [sys.executable, "-m", "flask", "--app", "hostapp:create_app", "octotp", "worker", "--poll", "0.1"]
        worker = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            mailbox.wait_for(to, timeout=30)
            assert mailbox.code_for(to) == created.code
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0, log_path.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    output = log_path.read_text()
    assert "octotp worker" in output
    assert "sending queued deliveries" in output
    assert created.code is not None
    assert created.code not in output
    assert len(mailbox.to(to)) == 1
    with app.app_context():
        job = get_octotp().store.get_token_job(created.id)
        assert job is not None
        assert job.state == "sent"
        assert mailbox.wait_for(to)["Message-ID"] == f"<{job.id}@localhost>"  # the job's: the same on a re-send
        assert get_octotp().tokens.validate(project, email=to, code=created.code).status == "approved"
