"""A failed delivery's log line says which backend, where it tried, what went wrong and what to do
in development (issue 13), and still never a recipient, a code or a credential."""

from __future__ import annotations

import logging
import socket
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from octotp_core import DeliveryFailed
from octotp_core.delivery.failure import describe_error, describe_failure, origin

from .conftest import MakeOctotp

SMTP = "octotp_core.delivery.smtp.SmtpBackend"


def _free_port() -> int:
    """A local TCP port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Refusing:
    """An aiosmtpd handler that refuses every recipient, or accepts them and refuses the data."""

    def __init__(self, at: str) -> None:
        self.at = at

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.at == "rcpt":
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "554 5.7.1 message refused"


@pytest.fixture(params=["rcpt", "data"])
def refusing_smtp(request: pytest.FixtureRequest) -> Iterator[tuple[int, str]]:
    """A real SMTP server on 127.0.0.1 that refuses at the RCPT or the DATA step; yields (port, step)."""
    port = _free_port()
    controller = Controller(Refusing(str(request.param)), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, str(request.param)
    finally:
        controller.stop()


def _failure_line(caplog: pytest.LogCaptureFixture) -> str:
    messages = [r.getMessage() for r in caplog.records if r.name == "octotp.tokens"]
    [line] = [m for m in messages if m.startswith("delivery failed")]
    return line


def test_a_closed_smtp_port_is_named_with_the_console_backend_as_the_way_out(
    make_octotp: MakeOctotp, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    octotp = make_octotp(delivery_email_backend=SMTP, delivery_options={"smtp": {"host": "127.0.0.1", "port": port}})
    project = octotp.accounts.create_project("closed port").project
    caplog.set_level(logging.WARNING, logger="octotp")
    with pytest.raises(DeliveryFailed):
        octotp.create_token(project.id, email="user@example.com", send=True)
    line = _failure_line(caplog)
    assert f"backend=smtp (127.0.0.1:{port})" in line
    assert "error=ConnectionRefusedError (Connection refused)" in line
    assert "OCTOTP_DELIVERY_EMAIL_BACKEND" in line
    assert "octotp_core.delivery.console.ConsoleBackend" in line
    assert "user@example.com" not in line


def test_an_smtp_server_that_refuses_is_named_by_its_reply_not_its_text(
    make_octotp: MakeOctotp, refusing_smtp: tuple[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    """SMTPRecipientsRefused quotes the recipient in its text: the line gives the type (and the
    reply code where smtplib keeps one), never that text."""
    port, step = refusing_smtp
    octotp = make_octotp(delivery_email_backend=SMTP, delivery_options={"smtp": {"host": "127.0.0.1", "port": port}})
    project = octotp.accounts.create_project("refusing server").project
    caplog.set_level(logging.WARNING, logger="octotp")
    with pytest.raises(DeliveryFailed):
        octotp.create_token(project.id, email="carol@example.com", send=True)
    line = _failure_line(caplog)
    assert f"backend=smtp (127.0.0.1:{port})" in line
    expected = "error=SMTPRecipientsRefused;" if step == "rcpt" else "error=SMTPDataError (SMTP reply 554);"
    assert expected in line, line
    assert "carol" not in line
    assert "mailbox unavailable" not in line
    assert "message refused" not in line


def test_a_webhook_is_named_by_its_origin_only(make_octotp: MakeOctotp, caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hooks/octotp?token=not-for-logs"
    octotp = make_octotp(
        delivery_email_backend="octotp_core.delivery.webhook.WebhookBackend",
        delivery_options={"webhook": {"url": url, "secret": "webhook signing secret", "timeout": 5}},
    )
    project = octotp.accounts.create_project("webhook").project
    caplog.set_level(logging.WARNING, logger="octotp")
    with pytest.raises(DeliveryFailed):
        octotp.create_token(project.id, email="user@example.com", send=True)
    line = _failure_line(caplog)
    refused = "error=URLError (ConnectionRefusedError (Connection refused))"
    assert f"backend=webhook (http://127.0.0.1:{port}) {refused}" in line
    assert "not-for-logs" not in line
    assert "/hooks" not in line
    assert "signing secret" not in line


def test_twilio_names_its_api_and_the_console_backend() -> None:
    from octotp_core.delivery.twilio import TwilioSmsBackend

    backend = TwilioSmsBackend("AC123", "auth token", from_number="+15005550006", api_base="https://api.twilio.com/")
    text = describe_failure(backend, urllib.error.HTTPError("https://api.twilio.com/x", 401, "no", {}, None))  # type: ignore[arg-type]
    assert text.startswith("backend=twilio (https://api.twilio.com) error=HTTPError (HTTP 401); ")
    assert "OCTOTP_DELIVERY_SMS_BACKEND" in text
    assert "AC123" not in text
    assert "auth token" not in text


def test_an_arbitrary_exception_is_named_by_its_type_only() -> None:
    class Custom:
        name = "custom"

    leaky = ValueError("to bob@example.com with key sk_live_x")
    assert describe_failure(Custom(), leaky) == "backend=custom error=ValueError"
    assert describe_error(TimeoutError("timed out")) == "TimeoutError"
    assert describe_error(TimeoutError()) == "TimeoutError"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@hooks.example.com/path?token=x", "https://hooks.example.com"),
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:8080"),
        ("http://[::1]:9000/a", "http://[::1]:9000"),
    ],
)
def test_origin_keeps_only_scheme_host_and_port(url: str, expected: str) -> None:
    assert origin(url) == expected


def test_a_backend_whose_description_fails_is_still_named() -> None:
    class Broken:
        name = "broken"

        @property
        def destination(self) -> str:
            raise ImportError("no such email backend")

    assert describe_failure(Broken(), ConnectionRefusedError(111, "Connection refused")) == (
        "backend=broken error=ConnectionRefusedError (Connection refused)"
    )
