"""A small Flask host app with octotp mounted under ``/octotp`` and its console open to sign-ups: the
host the console journey runs on (``test_console_journey.py``) besides ``octotp serve``.

It is what a Flask developer writes: an app with a page of its own, ``Octotp().init_app(app)``, and
``OCTOTP_*`` keys in ``app.config``. Serve it with any WSGI server (the test uses a thread).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from octotp_flask import Octotp


def create_host_app(*, database_url: str, secret_key: str, data_dir: Path, mail: dict[str, Any]) -> Flask:
    """The host app: its own ``/``, octotp's API and console under ``/octotp``, email through
    ``mail`` (settings such as ``Mailbox.delivery_settings``), its tables created at start-up."""
    app = Flask("console_journey_host", instance_path=str(data_dir / "instance"))
    app.config.update(
        SECRET_KEY=secret_key,
        OCTOTP_DATABASE_URL=database_url,
        OCTOTP_AUTO_MIGRATE=True,
        OCTOTP_DATA_DIR=str(data_dir),
        OCTOTP_URL_PREFIX="/octotp",
        OCTOTP_DASHBOARD_SIGNUP="open",
        OCTOTP_API_KEY_CACHE_SECONDS=0,
        OCTOTP_RATE_LIMIT_STORAGE="database://",  # shared by every worker, as a host should
        **{f"OCTOTP_{name.upper()}": value for name, value in mail.items()},
    )

    @app.get("/")
    def home() -> str:
        return "<!doctype html><title>Shop</title><h1>A shop that verifies its customers</h1>"

    Octotp().init_app(app)
    return app
