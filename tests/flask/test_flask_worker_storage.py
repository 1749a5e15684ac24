"""Flask cannot see its server's worker count: outside debug and testing, a per-process rate-limit
storage is a logged warning; a shared one (database:// on octotp's store, redis://) is silent."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask import Flask

WARNING = "counts in each process"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "octotp.flask" and r.levelno == logging.WARNING]


def test_per_process_storage_in_production_is_a_warning(
    make_app: Callable[..., Flask], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="octotp.flask")
    make_app(OCTOTP_DATABASE_URL=sqlite_url, TESTING=False)
    (message,) = _warnings(caplog)
    assert WARNING in message
    assert "database://" in message
    assert "redis://" in message
    assert "OCTOTP_RATE_LIMIT_STORAGE" in message


@pytest.mark.parametrize("config", [{"TESTING": True}, {"TESTING": False, "DEBUG": True}])
def test_no_warning_in_debug_or_testing(
    make_app: Callable[..., Flask], sqlite_url: str, caplog: pytest.LogCaptureFixture, config: dict[str, bool]
) -> None:
    caplog.set_level(logging.WARNING, logger="octotp.flask")
    make_app(OCTOTP_DATABASE_URL=sqlite_url, **config)
    assert _warnings(caplog) == []


def test_database_storage_is_shared_and_silent(
    make_app: Callable[..., Flask], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="octotp.flask")
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_RATE_LIMIT_STORAGE="database://", TESTING=False)
    assert _warnings(caplog) == []
    core = app.extensions["octotp"]
    other = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_RATE_LIMIT_STORAGE="database://")
    project = core.accounts.create_project("shared", plan="free").project
    # Two apps on one database (as two gunicorn workers): one plan between them.
    admitted = [
        app_.extensions["octotp"].limits.admit_create(project.id, 3, f"r{n}")
        for n, app_ in enumerate([app, other, app])
    ]
    assert [state.remaining for state in admitted] == [2, 1, 0]
