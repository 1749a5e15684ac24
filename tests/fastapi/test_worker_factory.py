"""``app_from_env``, the factory each ``octotp serve`` worker runs: what it leaves the worker with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import gc, logging
from octotp_fastapi.app import app_from_env
assert gc.get_freeze_count() == 0
app = app_from_env()
print(gc.get_freeze_count(), logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
"""


def test_the_worker_heap_is_frozen_and_records_skip_unused_names(tmp_path: Path, test_secret: str) -> None:
    env = {
        **os.environ,
        "OCTOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'octotp.db'}",
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, *switches = done.stdout.split()
    # Everything the app was built from is out of the collector's view: a full collection in a
    # request walks only what requests allocated (tens of thousands of objects fewer).
    assert int(frozen) > 10_000
    assert switches == ["False", "False", "False"]
