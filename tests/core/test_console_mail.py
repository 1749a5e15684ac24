"""The console's emails (``octotp_core.console.mail``) as a real SMTP server (aiosmtpd) receives
them, and a link message through the webhook backend; none of them shows its code, link or address
in a repr or a log line."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from octotp_core import DeliveryFailed, Octotp
from octotp_core.console.mail import ConsoleMail
from octotp_core.delivery import Message
from octotp_core.testing.mailbox import Mailbox

from .conftest import MakeOctotp


def body(message: EmailMessage) -> str:
    """A received message's plain-text body, with the line ends it was written with."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


LINK = "https://console.example.com/dashboard/invitations/accept?token=inv-secret-0123456789"
EXPIRES = dt.datetime(2030, 5, 6, 7, 8, tzinfo=dt.timezone.utc)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def mail(make_octotp: MakeOctotp, mailbox: Mailbox) -> ConsoleMail:
    return ConsoleMail(make_octotp(**mailbox.delivery_settings))


def test_the_verification_code(mail: ConsoleMail, mailbox: Mailbox) -> None:
    mail.verification_code("lee@example.com", "042917", 600)
    [(recipients, received)] = mailbox.messages
    assert recipients == ["lee@example.com"]
    assert received["Subject"] == "Your octotp verification code"
    assert body(received).startswith("Your octotp verification code is 042917. It expires in 10 minutes.")
    assert mailbox.code_for("LEE@example.com") == "042917"


def test_the_password_reset_code(mail: ConsoleMail, mailbox: Mailbox) -> None:
    mail.password_reset_code("lee@example.com", "123456", 300)
    received = mailbox.wait_for("lee@example.com")
    assert received["Subject"] == "Your octotp password reset code"
    assert "Your octotp password reset code is 123456. It expires in 5 minutes." in body(received)
    assert "Every session of your account ends" in body(received)


def test_the_invitation_carries_its_link_and_expiry(mail: ConsoleMail, mailbox: Mailbox) -> None:
    # A project name is the owner's free text: a newline in it cannot add a header.
    mail.invitation("kim@example.com", "Shop\r\nBcc: evil@example.com", "lee@example.com", LINK, EXPIRES)
    received = mailbox.wait_for("kim@example.com")
    assert [recipients for recipients, _ in mailbox.messages] == [["kim@example.com"]]  # no Bcc was smuggled in
    assert received["Subject"] == "lee@example.com invited you to Shop Bcc: evil@example.com on octotp"
    assert f"\n{LINK}\n" in body(received)
    assert "until 2030-05-06 07:08 UTC" in body(received)
    assert "lee@example.com invited you to the project Shop Bcc: evil@example.com on octotp." in body(received)


def test_the_signup_attempt_notice(mail: ConsoleMail, mailbox: Mailbox) -> None:
    mail.signup_attempt("lee@example.com")
    plain = mailbox.wait_for("lee@example.com")
    assert plain["Subject"] == "Someone tried to sign up to octotp with your address"
    assert "No account was created and nothing about yours changed." in body(plain)
    assert "reset your password if you forgot it." in body(plain)
    mail.signup_attempt("lee@example.com", sign_in_link="https://console.example.com/dashboard/login")
    assert "forgot it:\nhttps://console.example.com/dashboard/login\n" in body(mailbox.wait_for("lee@example.com"))


def test_a_failed_mail_raises_and_logs_without_the_address(
    make_octotp: MakeOctotp, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Mailbox().delivery_settings  # never started: connections are refused
    mail = ConsoleMail(make_octotp(**settings))
    caplog.set_level(logging.INFO, logger="octotp")
    with pytest.raises(DeliveryFailed, match="the invitation email could not be sent"):
        mail.invitation("kim.secret@example.com", "Shop", "lee@example.com", LINK, EXPIRES)
    [line] = [r.getMessage() for r in caplog.records if r.name == "octotp.console"]
    assert line.startswith("console invitation mail failed to=k***@example.com backend=smtp")
    assert "kim.secret" not in line
    assert LINK not in line


def test_a_message_repr_hides_code_link_and_address() -> None:
    message = Message("email", "kim@example.com", "", "subject", f"body {LINK}", "en", link=LINK)
    assert repr(message) == "Message(channel='email', locale='en')"
    assert Message("email", "kim@example.com", "042917", "s", "b", "en").link is None


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_link_message_through_the_webhook_names_the_link(make_octotp: MakeOctotp) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        octotp: Octotp = make_octotp(
            delivery_email_backend="octotp_core.delivery.webhook.WebhookBackend",
            delivery_options={
                "webhook": {"url": f"http://127.0.0.1:{server.server_port}/hook", "secret": "webhook signing secret"}
            },
        )
        ConsoleMail(octotp).invitation("kim@example.com", "Shop", "lee@example.com", LINK, EXPIRES)
        ConsoleMail(octotp).password_reset_code("kim@example.com", "123456", 300)
    finally:
        server.shutdown()
        server.server_close()
    invitation, reset = (json.loads(body) for body in _Receiver.bodies)
    assert (invitation["link"], invitation["code"], invitation["to"]) == (LINK, "", "kim@example.com")
    assert LINK in invitation["body"]
    # A code message has the same members as before links existed.
    assert sorted(reset) == ["body", "channel", "code", "locale", "subject", "to"]
    assert reset["code"] == "123456"
