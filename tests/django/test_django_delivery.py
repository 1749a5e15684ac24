"""``send=True`` through Django's mail framework: a real SMTP server (aiosmtpd), a closed port, and
the console backend that the failure's log line suggests for development (issue 13, trap 4)."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client, override_settings

import octotp_django
from octotp_core import DeliveryFailed, Octotp

pytestmark = pytest.mark.django_db(databases="__all__")

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def _free_port() -> int:
    """A local TCP port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content.decode())
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on 127.0.0.1: (port, inbox)."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def project(django_octotp: Octotp) -> tuple[str, str]:
    created = django_octotp.accounts.create_project("delivery")
    return created.project.id, created.api_key.secret


def _failure_line(caplog: pytest.LogCaptureFixture) -> str:
    messages = [r.getMessage() for r in caplog.records if r.name == "octotp.tokens"]
    [line] = [m for m in messages if m.startswith("delivery failed")]
    return line


def test_djangos_smtp_backend_delivers_a_code_that_validates(
    project: tuple[str, str], smtp_server: tuple[int, Inbox]
) -> None:
    port, inbox = smtp_server
    project_id, _key = project
    with override_settings(EMAIL_BACKEND=SMTP_BACKEND, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_TIMEOUT=5):
        token = octotp_django.create_token(project_id, email="user@example.com", send=True)
    assert token.sent
    [message] = inbox.messages
    [code] = set(re.findall(r"\b\d{6}\b", message))  # in the subject and the body: one code
    assert octotp_django.validate_token(project_id, email="user@example.com", code=code).is_valid


def test_a_closed_smtp_port_names_djangos_backend_host_and_port_and_suggests_the_console(
    project: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    project_id, key = project
    caplog.set_level(logging.WARNING, logger="octotp")
    with override_settings(EMAIL_BACKEND=SMTP_BACKEND, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_TIMEOUT=5):
        with pytest.raises(DeliveryFailed):
            octotp_django.create_token(project_id, email="user@example.com", send=True)
        line = _failure_line(caplog)
        caplog.clear()
        # Over HTTP the contract's answer (DESIGN §4): 502 problem JSON, with the same log line.
        response = Client().post(
            "/api/tokens",
            json.dumps({"projectId": project_id, "recipientEmail": "user@example.com", "send": True}),
            content_type="application/json",
            headers={"X-Api-Key": key},
        )
    assert f"backend=django ({SMTP_BACKEND} to 127.0.0.1:{port})" in line
    assert "error=ConnectionRefusedError (Connection refused)" in line
    assert f"set EMAIL_BACKEND = {CONSOLE_BACKEND!r}" in line
    assert "user@example.com" not in line
    assert response.status_code == 502
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "delivery_failed"
    assert _failure_line(caplog).startswith("delivery failed id=")


def test_the_hint_names_the_octotp_option_when_that_chose_the_backend(
    project: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    project_id, _key = project
    caplog.set_level(logging.WARNING, logger="octotp")
    octotp = {"DELIVERY_OPTIONS": {"django": {"backend": SMTP_BACKEND}}}
    with (
        override_settings(OCTOTP=octotp, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_TIMEOUT=5),
        pytest.raises(DeliveryFailed),
    ):
        octotp_django.create_token(project_id, email="user@example.com", send=True)
    line = _failure_line(caplog)
    assert f"to 127.0.0.1:{port}" in line
    assert f"set OCTOTP['DELIVERY_OPTIONS']['django']['backend'] = {CONSOLE_BACKEND!r}" in line


def test_the_suggested_console_backend_works(project: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    project_id, _key = project
    with override_settings(EMAIL_BACKEND=CONSOLE_BACKEND):
        token = octotp_django.create_token(project_id, email="user@example.com", send=True)
    assert token.sent
    assert token.code is not None
    assert token.code in capsys.readouterr().out


def test_an_email_backend_that_cannot_be_imported_is_a_delivery_failure(
    project: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    project_id, _key = project
    caplog.set_level(logging.WARNING, logger="octotp")
    octotp = {"DELIVERY_OPTIONS": {"django": {"backend": "nowhere.EmailBackend"}}}
    with override_settings(OCTOTP=octotp), pytest.raises(DeliveryFailed):
        octotp_django.create_token(project_id, email="user@example.com", send=True)
    line = _failure_line(caplog)
    assert "backend=django error=ModuleNotFoundError;" in line
    assert "OCTOTP['DELIVERY_OPTIONS']['django']['backend']" in line
