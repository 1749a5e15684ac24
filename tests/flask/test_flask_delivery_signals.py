"""``delivery_sent`` / ``delivery_failed``: the outbox's events as Flask signals
(``OCTOTP_DELIVERY_MODE = "queue"``, a real SMTP server), sent from the app even when the job is
sent outside any app context (a worker thread, a task queue)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

import octotp_flask
from octotp_core import TokenEvent
from octotp_core.testing.mailbox import Mailbox
from octotp_flask import signals


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def test_delivery_signals_carry_the_masked_recipient_and_the_reason(
    make_app: Callable[..., Flask], sqlite_url: str, mailbox: Mailbox
) -> None:
    config = {f"OCTOTP_{name.upper()}": value for name, value in mailbox.delivery_settings.items()}
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_DELIVERY_MODE="queue", **config)
    received: list[tuple[str, Any, dict[str, Any]]] = []

    def receiver(name: str) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            received.append((name, sender, kwargs))

        return receive

    sent, failed = receiver("sent"), receiver("failed")
    signals.delivery_sent.connect(sent, app)
    signals.delivery_failed.connect(failed, app)
    try:
        to, refused = f"u-{uuid.uuid4().hex[:8]}@example.com", f"r-{uuid.uuid4().hex[:8]}@example.com"
        with app.app_context():
            project = octotp_flask.get_octotp().accounts.create_project("signals").project.id
            token = octotp_flask.create_token(project, email=to, send=True)
        assert received == []  # queued: nothing sent inside the create
        core = app.extensions["octotp"]
        assert core.outbox.run_once("worker-thread") == 1  # no app context, as in a worker thread
        assert mailbox.code_for(to) == token.code
        mailbox.refusals = ["550 5.1.1 No such user"]
        with app.app_context():
            bad = octotp_flask.create_token(project, email=refused, send=True)
        core.outbox.run_once("worker-thread")
    finally:
        signals.delivery_sent.disconnect(sent)
        signals.delivery_failed.disconnect(failed)

    assert [(name, sender) for name, sender, _ in received] == [("sent", app), ("failed", app)]
    first, second = received[0][2], received[1][2]
    assert (first["token_id"], first["project_id"], first["reason"]) == (token.id, project, None)
    assert first["recipient_hint"] == f"{to[0]}***@example.com"
    assert isinstance(first["event"], TokenEvent)
    assert first["event"].kind == "delivery.sent"
    assert (second["token_id"], second["reason"]) == (bad.id, "rejected")
    for _, _, kwargs in received:
        assert "code" not in kwargs
        for value in [*kwargs.values(), *vars(kwargs["event"]).values()]:
            assert to not in str(value)
            assert token.code is not None
            assert token.code not in str(value)
    assert {"delivery_sent", "delivery_failed"} <= set(octotp_flask.__all__)
