"""`octotp serve` on a fresh machine (no data directory yet, umask 022): what it creates is private."""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
from pathlib import Path

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import clean_environment, free_port, wait_until_healthy


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_serve_creates_its_data_dir_0700_and_its_files_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "xdg" / "octotp"
    port = free_port()
    log = tmp_path / "serve.log"
    command = f"umask 022 && exec {shlex.quote(sys.executable)} -m octotp_core.cli serve --port {port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            env=clean_environment({"XDG_DATA_HOME": str(tmp_path / "xdg")}),  # the default data dir
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
        # /readyz uses the database, and the pooled connection keeps SQLite's -wal and -shm in place.
        assert UrlClient(f"http://127.0.0.1:{port}", timeout=10).request("GET", "/readyz").status == 200
        created = {p.name: _mode(p) for p in data_dir.iterdir()}
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert _mode(data_dir) == 0o700
    assert created == {"secret_key": 0o600, "octotp.db": 0o600, "octotp.db-wal": 0o600, "octotp.db-shm": 0o600}
