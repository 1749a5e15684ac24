"""Twilio's status callbacks over real HTTP to the Django test project (octotp under ``/octotp``,
Django's ``WSGIHandler`` on the standard library's server): the signed URL carries the prefix, the
API view is CSRF-exempt, octotp's own worker sends the code; the recorded ``delivered`` report is
the ``delivery_delivered`` signal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from octotp_core.testing.servers import ThreadedWsgi
from octotp_core.testing.twilio_callbacks import STATUS_PATH, check_status_callbacks
from octotp_core.testing.twilio_server import TwilioServer
from octotp_django import delivery_delivered
from octotp_django.api import get_octotp, reset_octotp
from octotp_django.models import Token

from . import django_project_settings as project_settings

# transaction=True: the server's threads must see the project this test creates.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    server = TwilioServer().start()
    settings = server.delivery_settings(status_callback_url="https://shop.example.com/octotp" + STATUS_PATH)
    options = {**project_settings.OCTOTP, "DELIVERY_MODE": "queue", **{k.upper(): v for k, v in settings.items()}}
    with override_settings(OCTOTP=options):
        reset_octotp()
        yield server
    reset_octotp()
    server.stop()


def test_status_callbacks_reach_the_django_project(twilio: TwilioServer) -> None:
    core = get_octotp()
    received: list[tuple[Any, dict[str, Any]]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append((sender, kwargs))

    delivery_delivered.connect(receive)
    worker = core.start_worker()
    try:
        with ThreadedWsgi(WSGIHandler()) as server:
            check_status_callbacks(server.url + "/octotp", core, twilio, "+14155550122")
    finally:
        delivery_delivered.disconnect(receive)
        worker.stop()
    [(sender, kwargs)] = received
    assert sender is Token
    assert kwargs["event"].kind == "delivery.delivered"
    token = core.store.get_token(kwargs["token_id"])
    assert token is not None
    assert (kwargs["recipient_hint"], kwargs["project_id"]) == (token.recipient_hint, token.project_id)
    assert kwargs["reason"] is None
