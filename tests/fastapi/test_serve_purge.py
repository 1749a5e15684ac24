"""``octotp serve --purge-every``: the scheduled purge in a real server process, once however many workers."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from octotp_core import Octotp, Settings
from octotp_core.store import Project
from octotp_core.testing.servers import ServeProcess
from octotp_core.testing.store_suite import StoreSuite

from .conftest import serve_env


def _expired_token(octotp: Octotp, project: Project, now: dt.datetime) -> str:
    """A token of ``project`` that expired 55 minutes before ``now``, written straight to the store."""
    token = StoreSuite.make_token(project, now - dt.timedelta(hours=1))
    octotp.store.insert_token(token)
    return token.id


def test_scheduled_purge_deletes_expired_tokens_in_one_process(tmp_path: Path, test_secret: str) -> None:
    data_dir = tmp_path / "data"
    octotp = Octotp(Settings(data_dir=data_dir, secret_key=test_secret))
    try:
        octotp.migrate()
        project = octotp.accounts.create_project("scheduled purge").project
        now = dt.datetime.now(dt.timezone.utc)
        expired = [_expired_token(octotp, project, now) for _ in range(7)]
        live = octotp.create_token(project.id, email="live@example.com", expires_in=600)
        env = serve_env(data_dir, test_secret, OCTOTP_PURGE_BATCH_SIZE="3")
        with ServeProcess(env, workers=2, args=("--purge-every", "1")) as server:
            deadline = time.monotonic() + 60
            while any(octotp.store.get_token(i) is not None for i in expired) and time.monotonic() < deadline:
                time.sleep(0.2)
            # A token expiring while the server runs goes at a later round.
            later = _expired_token(octotp, project, now)
            while octotp.store.get_token(later) is not None and time.monotonic() < deadline:
                time.sleep(0.2)
            output = server.output()
        assert [octotp.store.get_token(i) for i in [*expired, later]] == [None] * 8, output
        assert octotp.store.get_token(live.id) is not None
        # Scheduled once, in the supervisor, not in each of the two workers; the counts are logged.
        assert output.count("purging every 1 s (3 rows per transaction)") == 1, output
        assert "scheduled purge deleted tokens=7 " in output, output
        assert "scheduled purge deleted tokens=1 " in output, output
        assert live.code not in output
    finally:
        octotp.close()
