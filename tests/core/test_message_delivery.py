"""Branded messages as they arrive: a real SMTP server (aiosmtpd, ``Mailbox``) receives the
multipart/alternative email with the project's sender name and Reply-To; the webhook receives the
HTML part; a code created with ``send=True`` arrives in the requested language and validates."""

from __future__ import annotations

import email.utils
import http.server
import json
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from octotp_core import Octotp
from octotp_core.delivery import render
from octotp_core.delivery.console import ConsoleBackend
from octotp_core.delivery.smtp import SmtpBackend
from octotp_core.delivery.webhook import WebhookBackend
from octotp_core.testing.mailbox import Mailbox, text_of

from .conftest import MakeOctotp

OWN = {
    "sender_name": "Bäckerei Müller",
    "reply_to": "hilfe@baeckerei.example",
    "webotp_domain": "login.baeckerei.example",
}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _parts(received: EmailMessage) -> list[tuple[str, str]]:
    """(content type, decoded content) of each leaf part, in order."""
    return [(part.get_content_type(), str(part.get_content())) for part in received.walk() if not part.is_multipart()]


def test_an_email_arrives_as_text_and_html_from_the_projects_sender(mailbox: Mailbox) -> None:
    backend = SmtpBackend(host=mailbox.host, port=mailbox.port, from_addr="codes@baeckerei.example")
    message = render("email", "kunde@example.com", "318204", "Bäckerei Müller", 600, "de-AT", overrides=OWN)
    backend.send(message)
    received = mailbox.wait_for("kunde@example.com")

    assert received.get_content_type() == "multipart/alternative"
    (plain_type, plain), (html_type, html) = _parts(received)
    # Plain text first, HTML last: a client shows the last part it can.
    assert (plain_type, html_type) == ("text/plain", "text/html")
    assert plain.replace("\r\n", "\n").strip() == message.body
    assert html.replace("\r\n", "\n").strip() == message.html
    assert '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">318204 ist Ihr' in html
    assert all(part.get_content_charset() == "utf-8" for part in received.walk() if not part.is_multipart())

    # The headers, decoded as a mail client decodes them (RFC 2047 for the umlauts).
    assert received["Subject"] == "318204 ist Ihr Bestätigungscode für Bäckerei Müller"
    assert received["From"].addresses[0].display_name == "Bäckerei Müller"
    assert received["From"].addresses[0].addr_spec == "codes@baeckerei.example"
    assert received["Reply-To"].addresses[0].addr_spec == "hilfe@baeckerei.example"
    assert received["Message-ID"].endswith("@baeckerei.example>")
    assert email.utils.parsedate_to_datetime(received["Date"]) is not None
    # What a test (or a person) reads first is the code.
    assert mailbox.code_for("kunde@example.com") == "318204"


def test_a_text_only_email_is_one_plain_part_from_the_backends_address(mailbox: Mailbox) -> None:
    backend = SmtpBackend(host=mailbox.host, port=mailbox.port, from_addr="Shop <shop@example.com>")
    message = render("email", "user@example.com", "4821", "Shop", 300, "en", overrides={"text": "Code: {{ code }}"})
    backend.send(message)
    received = mailbox.wait_for("user@example.com")
    assert received.get_content_type() == "text/plain"
    assert str(received.get_content()).strip() == "Code: 4821"
    assert str(received["From"]) == "Shop <shop@example.com>"
    assert received["Reply-To"] is None


def test_a_sender_name_replaces_the_display_name_of_from_addr(mailbox: Mailbox) -> None:
    backend = SmtpBackend(host=mailbox.host, port=mailbox.port, from_addr='"Old Name" <codes@example.com>')
    backend.send(
        render("email", "user@example.com", "4821", "Shop", 300, "en", overrides={"sender_name": 'Shop "Best" <Co>'})
    )
    sender = mailbox.wait_for("user@example.com")["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ('Shop "Best" <Co>', "codes@example.com")


@pytest.mark.one_database
@pytest.mark.parametrize("locale", ["en", "fr", "ja", "pl"])
def test_a_code_created_with_send_arrives_in_the_requested_language_and_validates(
    make_octotp: MakeOctotp, mailbox: Mailbox, locale: str
) -> None:
    octotp: Octotp = make_octotp(**mailbox.delivery_settings)
    project = octotp.accounts.create_project(f"Shop {locale}").project
    address = f"buyer-{locale}@example.com"
    created = octotp.create_token(project.id, email=address, send=True, locale=locale)
    assert created.sent
    received = mailbox.wait_for(address)
    assert received.get_content_type() == "multipart/alternative"
    expected = render("email", address, "000000", f"Shop {locale}", 300, locale)
    assert received["Subject"].split(" ", 1)[1] == expected.subject.split(" ", 1)[1]
    code = mailbox.code_for(address)
    assert received["Subject"].startswith(code)
    assert code in _parts(received)[1][1]  # the HTML part has it too
    assert octotp.validate_token(project.id, email=address, code=code).is_valid


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_webhook_payload_carries_the_html_and_the_sender() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        backend = WebhookBackend(f"http://127.0.0.1:{server.server_port}/hook", "webhook signing secret")
        email_message = render("email", "a@example.com", "123456", "Acme", 300, "it", overrides=OWN)
        backend.send(email_message)
        backend.send(render("sms", "+15550100", "123456", "Acme", 300, "it", overrides=OWN))
    finally:
        server.shutdown()
        server.server_close()
    mail, sms = (json.loads(body) for body in _Receiver.bodies)
    assert mail["html"] == email_message.html
    assert (mail["sender_name"], mail["reply_to"], mail["locale"]) == (
        "Bäckerei Müller",
        "hilfe@baeckerei.example",
        "it",
    )
    assert mail["subject"].startswith("123456 è il tuo codice")
    # An SMS has the members it always had; its body ends with the WebOTP line.
    assert sorted(sms) == ["body", "channel", "code", "locale", "subject", "to"]
    assert sms["body"].endswith("\n\n@login.baeckerei.example #123456")


def test_the_console_backend_prints_the_text_body(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleBackend().send(render("email", "a@example.com", "123456", "Acme", 300, "nl"))
    out = capsys.readouterr().out
    assert "123456" in out
    assert "Je verificatiecode voor Acme is:" in out
    assert "<html" not in out


def test_text_of_reads_the_plain_part_of_a_multipart_message(mailbox: Mailbox) -> None:
    SmtpBackend(host=mailbox.host, port=mailbox.port).send(
        render("email", "t@example.com", "987654", "Acme", 300, "es")
    )
    text = text_of(mailbox.wait_for("t@example.com"))
    assert text.startswith("987654 es tu código de verificación de Acme\n")
    assert "<p" not in text
