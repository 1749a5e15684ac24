"""``octotp db backup`` of a live SQLite database under a steady write load, restored as
docs/operations/backups.md says, and a code issued before the backup validated after the restore."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from octotp_core.cli import main
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess, clean_environment

from .load import CreateLoad, load_environment, load_octotp


def test_backup_under_traffic_restores_and_validates_a_code_issued_before(tmp_path: Path, test_secret: str) -> None:
    data_dir = tmp_path / "data"
    env = load_environment(data_dir, test_secret)
    setup = load_octotp(data_dir, test_secret)
    try:
        setup.migrate()
        created = setup.accounts.create_project("backed up")
    finally:
        setup.close()
    project, key = created.project.id, created.api_key.secret
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    backup = tmp_path / "backups" / "octotp-backup.db"
    backup.parent.mkdir()

    with ServeProcess(env) as server:
        client = UrlClient(server.url)
        issued = client.request(
            "POST",
            "/api/tokens",
            headers=headers,
            body=json.dumps({"projectId": project, "recipientEmail": "kept@example.com"}).encode(),
        )
        assert issued.status == 201, issued.body
        code = issued.json()["code"]
        load = CreateLoad(server.url, project, key)
        load.thread.start()
        load.wait_for(20)  # the server is writing
        taken = subprocess.run(
            [sys.executable, "-m", "octotp_core.cli", "db", "backup", str(backup), "--json"],
            env=clean_environment(env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        load.wait_for(20)  # and kept writing while and after the backup ran
        load.done.set()
        load.thread.join(timeout=60)
    assert taken.returncode == 0, taken.stderr
    report = json.loads(taken.stdout)
    assert report["integrityCheck"] == "ok"
    assert Path(report["path"]) == backup.resolve()
    assert set(load.statuses) == {201}, load.statuses
    assert backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        in_backup = check.execute("SELECT count(*) FROM octotp_tokens").fetchone()[0]
    # A snapshot from the middle of the load: the code issued first, not the creates made after it.
    assert 21 <= in_backup < 1 + len(load.statuses)

    # Restore as the docs say: server stopped, the database and its -wal and -shm files replaced.
    database = data_dir / "octotp.db"
    for stale in (database, database.with_name("octotp.db-wal"), database.with_name("octotp.db-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(backup, database)
    database.chmod(0o600)
    with ServeProcess(env) as server:
        answer = UrlClient(server.url).request(
            "POST",
            "/api/tokens/validate",
            headers=headers,
            body=json.dumps({"projectId": project, "recipientEmail": "kept@example.com", "code": code}).encode(),
        )
    assert answer.status == 200, answer.body
    assert answer.json() == {"isValid": True, "status": "approved"}


def test_backup_refuses_other_databases_with_the_tool_to_use(tmp_path: Path) -> None:
    # Refused from the URL alone, before any connection: nothing listens on port 1.
    env = {
        "OCTOTP_DATA_DIR": str(tmp_path / "data"),
        "OCTOTP_DATABASE_URL": "postgresql+psycopg://octotp@127.0.0.1:1/octotp",
    }
    done = CliRunner().invoke(main, ["db", "backup", str(tmp_path / "x.db")], env=env)
    assert done.exit_code == 1
    assert "pg_dump" in done.stderr
    assert "mariadb-dump" in done.stderr
    assert "docs/operations/backups.md" in done.stderr
    assert not (tmp_path / "x.db").exists()
