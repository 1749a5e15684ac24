"""A FastAPI host cannot see its server's worker count (uvicorn --workers, gunicorn): outside debug,
a per-process rate-limit storage is a logged warning, as in Flask; a shared one is silent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from octotp_core import Octotp, Settings
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_fastapi import install


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "octotp.fastapi" and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("storage", "debug", "warned"),
    [("memory://", False, True), ("memory://", True, False), ("database://", False, False)],
)
def test_install_warns_only_when_limits_are_per_process_outside_debug(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    storage: str,
    debug: bool,
    warned: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="octotp.fastapi")
    octotp = Octotp(make_settings(database_url=migrated_sqlite_url(tmp_path / "host.db"), rate_limit_storage=storage))
    try:
        install(FastAPI(debug=debug), octotp, prefix="/octotp")
    finally:
        octotp.close()
    messages = _warnings(caplog)
    assert len(messages) == int(warned)
    if warned:
        assert "counts in each process" in messages[0]
        assert "database://" in messages[0]
        assert "OCTOTP_RATE_LIMIT_STORAGE" in messages[0]
