"""Twilio's status callbacks over real HTTP to a Flask host app with octotp at its root (the
standard library's WSGI server), signed by the test Twilio for the public URL, and octotp's own
worker sending the code (``Octotp.start_worker``, what ``octotp worker`` runs); the recorded
``delivered`` report is the ``delivery_delivered`` signal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from octotp_core.testing.servers import ThreadedWsgi
from octotp_core.testing.twilio_callbacks import STATUS_PATH, check_status_callbacks
from octotp_core.testing.twilio_server import TwilioServer
from octotp_flask import delivery_delivered


def test_status_callbacks_reach_a_flask_host(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    twilio = TwilioServer().start()
    settings = twilio.delivery_settings(status_callback_url="https://shop.example.com" + STATUS_PATH)
    app = make_app(
        OCTOTP_DATABASE_URL=sqlite_url,
        OCTOTP_DELIVERY_MODE="queue",
        **{f"OCTOTP_{name.upper()}": value for name, value in settings.items()},
    )
    core = app.extensions["octotp"]
    received: list[tuple[Any, dict[str, Any]]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append((sender, kwargs))

    delivery_delivered.connect(receive, app)
    worker = core.start_worker()
    try:
        with ThreadedWsgi(app) as server:
            check_status_callbacks(server.url, core, twilio, "+14155550121")
    finally:
        delivery_delivered.disconnect(receive)
        worker.stop()
        twilio.stop()
    [(sender, kwargs)] = received
    assert sender is app
    assert kwargs["event"].kind == "delivery.delivered"
    token = core.store.get_token(kwargs["token_id"])
    assert token is not None
    assert (kwargs["recipient_hint"], kwargs["project_id"]) == (token.recipient_hint, token.project_id)
    assert kwargs["reason"] is None
