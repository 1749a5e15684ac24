"""A CI-sized ``benchmarks/purge_under_load.py``: ``octotp purge`` deletes 20,000 expired tokens in
batches while ``octotp serve`` takes creates on the same SQLite file. Asserts behaviour only (all
purged, every create answered 201, creates went on during the purge), never a time."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select

from octotp_core import Octotp, Settings
from octotp_core.store.sql import tokens
from octotp_core.testing.servers import ServeProcess, clean_environment

from .load import CreateLoad, load_environment, load_octotp

TOKENS = 20_000


def test_purge_of_many_tokens_while_the_server_creates(tmp_path: Path, test_secret: str) -> None:
    data_dir = tmp_path / "data"
    env = load_environment(data_dir, test_secret)
    setup = load_octotp(data_dir, test_secret)
    try:
        setup.migrate()
        created = setup.accounts.create_project("purged under load")
        assert setup.engine is not None
        now = dt.datetime.now(dt.timezone.utc)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "project_id": created.project.id,
                "recipient_digest": secrets.token_hex(32),
                "recipient_hint": "f***@example.com",
                "channel": "email",
                "purpose": "",
                "code_hash": "unused",
                "created_at": now - dt.timedelta(hours=2),
                "expires_at": now - dt.timedelta(hours=1, milliseconds=i),
                "attempts": 0,
                "max_attempts": 5,
            }
            for i in range(TOKENS)
        ]
        with setup.engine.begin() as conn:
            conn.execute(insert(tokens), rows)
    finally:
        setup.close()

    with ServeProcess(env) as server:
        load = CreateLoad(server.url, created.project.id, created.api_key.secret)
        load.thread.start()
        load.wait_for(5)
        before = len(load.statuses)
        purge = subprocess.run(
            [sys.executable, "-m", "octotp_core.cli", "purge", "--json"],
            env=clean_environment({**env, "OCTOTP_PURGE_BATCH_SIZE": "1000"}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        during = len(load.statuses) - before
        load.wait_for(5)
        load.done.set()
        load.thread.join(timeout=60)
    assert purge.returncode == 0, purge.stderr
    assert json.loads(purge.stdout)["deleted"] == TOKENS
    assert set(load.statuses) == {201}, load.statuses
    assert during > 0  # the server kept creating while the purge ran
    check = Octotp(Settings(data_dir=data_dir, secret_key=test_secret))
    try:
        assert check.engine is not None
        with check.engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(tokens)).scalar_one()
        assert left == len(load.statuses)  # only the creates' own tokens, all alive
    finally:
        check.close()
