"""Batched purges: each batch is a transaction of its own (counted with SQLAlchemy's events), on
every database, and ``octotp purge``'s two outputs (a progress bar on a terminal, JSON otherwise)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.purge import purge_all
from octotp_core.store import SqlAlchemyStore, make_engine
from octotp_core.testing.servers import clean_environment
from octotp_core.testing.store_suite import StoreSuite


def _expired_tokens(octotp: Octotp, count: int, at: dt.datetime) -> list[str]:
    """``count`` tokens of a new project that expired an hour before ``at`` (written straight to the store)."""
    project = octotp.accounts.create_project("purge batches").project
    ids = []
    for i in range(count):
        token = StoreSuite.make_token(project, at - dt.timedelta(hours=2, seconds=i))  # expired 5 min later
        octotp.store.insert_token(token)
        ids.append(token.id)
    return ids


def test_each_batch_commits_its_own_transaction(database_url: str, make_settings: Any) -> None:
    """10 expired tokens, batches of 3: four deleting transactions (3, 3, 3, 1), each committed
    before the next batch is read, so no lock is held across the purge."""
    engine = make_engine(database_url)
    clock = FrozenClock(dt.datetime(1993, 6, 1, tzinfo=dt.timezone.utc))  # an era of this test's own
    octotp = Octotp(make_settings(database_url=database_url, purge_batch_size=3), engine=engine, clock=clock)
    try:
        ids = _expired_tokens(octotp, 10, clock.now())
        events: list[str] = []

        def on_commit(conn: Any) -> None:
            events.append("commit")

        def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            verb = statement.lstrip().split(None, 1)[0].upper()
            if "octotp_tokens" in statement and verb in ("SELECT", "DELETE"):
                events.append(verb.lower())

        event.listen(engine, "commit", on_commit)
        event.listen(engine, "before_cursor_execute", on_execute)
        assert isinstance(octotp.store, SqlAlchemyStore)
        batches: list[int] = []
        deleted = octotp.store.purge_tokens(clock.now(), batch_size=3, on_batch=batches.append)
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        assert (deleted, batches) == (10, [3, 3, 3, 1])
        # Each batch: read its keys, delete them, commit; the short fourth batch ends the purge.
        assert events == ["select", "delete", "commit"] * 4
        assert [octotp.store.get_token(i) for i in ids] == [None] * 10
    finally:
        octotp.close()


def test_purge_all_counts_every_kind_with_the_batch_size_setting(database_url: str, make_settings: Any) -> None:
    clock = FrozenClock(dt.datetime(1994, 6, 1, tzinfo=dt.timezone.utc))
    octotp = Octotp(make_settings(database_url=database_url, purge_batch_size=4), clock=clock)
    try:
        ids = _expired_tokens(octotp, 9, clock.now())
        progress: list[tuple[str, int]] = []
        counts = purge_all(octotp.store, octotp.settings, clock, on_progress=lambda kind, n: progress.append((kind, n)))
        assert counts.tokens == 9
        assert [n for kind, n in progress if kind == "tokens"] == [4, 4, 1]
        assert all(octotp.store.get_token(i) is None for i in ids)
    finally:
        octotp.close()


def _cli_env(tmp_path: Path) -> dict[str, str]:
    return clean_environment(
        {
            "OCTOTP_DATA_DIR": str(tmp_path / "data"),
            "OCTOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'purge.db'}",
            "OCTOTP_PURGE_BATCH_SIZE": "4",
        }
    )


def _seed(tmp_path: Path, count: int) -> list[str]:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'purge.db'}")
    octotp = Octotp(settings)
    try:
        octotp.migrate()
        return _expired_tokens(octotp, count, dt.datetime.now(dt.timezone.utc))
    finally:
        octotp.close()


def test_purge_prints_json_counts_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    _seed(tmp_path, 10)
    done = subprocess.run(
        [sys.executable, "-m", "octotp_core.cli", "purge"],
        env=_cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["deleted"] == 10
    assert "Purging" not in done.stderr


def test_purge_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    _seed(tmp_path, 10)
    leader, follower = pty.openpty()  # stderr is a terminal; stdout stays a pipe
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "octotp_core.cli", "purge"],
            env={**_cli_env(tmp_path), "COLUMNS": "100", "TERM": "xterm"},
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
        )
        os.close(follower)
        stdout, _ = proc.communicate(timeout=60)
        stderr = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            stderr += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0, stderr
    assert "Purging" in stderr.decode()
    assert "10/10" in stderr.decode()  # the bar's position over its length: every purgeable row
    assert stdout.startswith("Deleted 10 expired tokens, 0 finished jobs, 0 idempotency records,")
