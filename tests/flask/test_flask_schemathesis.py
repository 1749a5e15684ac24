"""schemathesis against a Flask host app with octotp at the root, on a real HTTP server (one thread per request)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.fuzz import FUZZ_SETTINGS, FuzzTarget, run_schemathesis
from octotp_core.testing.servers import ThreadedWsgi
from octotp_flask import Octotp, get_octotp


def test_flask_host_passes_schemathesis(tmp_path: Path, test_secret: str) -> None:
    app = Flask("fuzz_host", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY=test_secret, OCTOTP_DATABASE_URL=migrated_sqlite_url(tmp_path / "fuzz.db"))
    app.config.update({f"OCTOTP_{k.upper()}": v for k, v in FUZZ_SETTINGS.items()})
    Octotp(app)
    try:
        with app.app_context():
            created = get_octotp().accounts.create_project("fuzz")
        with ThreadedWsgi(app) as server:
            report = run_schemathesis(FuzzTarget(server.url, created.project.id, created.api_key.secret))
    finally:
        app.extensions["octotp"].close()
    print(f"\nschemathesis (Flask): {report.cases} requests, {dict(report.statuses)}")
    assert report.cases >= 1_000
    assert report.server_errors == 0
