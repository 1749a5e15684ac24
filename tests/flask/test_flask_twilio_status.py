"""Twilio's status callbacks over real HTTP to a Flask host app with octotp at its root (the
standard library's WSGI server), signed by the test Twilio for the public URL, and octotp's own
worker sending the code (``Octotp.start_worker``, what ``octotp worker`` runs)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from octotp_core.testing.servers import ThreadedWsgi
from octotp_core.testing.twilio_callbacks import STATUS_PATH, check_status_callbacks
from octotp_core.testing.twilio_server import TwilioServer


def test_status_callbacks_reach_a_flask_host(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    twilio = TwilioServer().start()
    settings = twilio.delivery_settings(status_callback_url="https://shop.example.com" + STATUS_PATH)
    app = make_app(
        OCTOTP_DATABASE_URL=sqlite_url,
        OCTOTP_DELIVERY_MODE="queue",
        **{f"OCTOTP_{name.upper()}": value for name, value in settings.items()},
    )
    core = app.extensions["octotp"]
    worker = core.start_worker()
    try:
        with ThreadedWsgi(app) as server:
            check_status_callbacks(server.url, core, twilio, "+14155550121")
    finally:
        worker.stop()
        twilio.stop()
