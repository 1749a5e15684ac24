"""SMTP refusals through Django's mail framework map as core's SMTP backend maps them
(``delivery.outcomes.smtp_permanent_failure``): a 5xx is a ``PermanentFailure`` (``invalid_recipient``,
``provider_auth``, ``rejected``) that a queued delivery never retries, a 4xx stays transient. A real
SMTP server (``Mailbox``) refuses as asked."""

from __future__ import annotations

import smtplib
import uuid
from typing import Any

import pytest
from django.test import override_settings

import octotp_django
from octotp_core.delivery import Message, PermanentFailure
from octotp_core.delivery.outcomes import smtp_permanent_failure
from octotp_core.testing.mailbox import Mailbox
from octotp_django.mail import DjangoEmailBackend

from ..outbox_runs import run_out_leftover_jobs

pytestmark = pytest.mark.django_db(databases="__all__")

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _email_settings(box: Mailbox, **extra: Any) -> dict[str, Any]:
    return {"EMAIL_BACKEND": SMTP_BACKEND, "EMAIL_HOST": box.host, "EMAIL_PORT": box.port, "EMAIL_TIMEOUT": 5} | extra


def _message(to: str) -> Message:
    return Message(channel="email", to=to, code="123456", subject="Your code", body="Your code is 123456", locale="en")


def _send(box: Mailbox, to: str, **extra: Any) -> None:
    box.start()
    try:
        with override_settings(**_email_settings(box, **extra)):
            DjangoEmailBackend(from_email="octotp@example.com").send(_message(to))
    finally:
        box.stop()


@pytest.mark.parametrize(
    ("box", "to", "reason"),
    [
        (lambda: Mailbox(refuse=["550 5.7.1 Message rejected as spam"]), "user@example.com", "rejected"),
        (lambda: Mailbox(unknown=["nobody@example.com"]), "nobody@example.com", "invalid_recipient"),
    ],
    ids=["data-550", "rcpt-550"],
)
def test_a_5xx_refusal_is_a_permanent_failure(box: Any, to: str, reason: str) -> None:
    with pytest.raises(PermanentFailure) as failure:
        _send(box(), to)
    assert failure.value.reason == reason
    assert isinstance(failure.value.__cause__, smtplib.SMTPException)


def test_a_refused_login_is_provider_auth() -> None:
    box = Mailbox(auth=("relay-user", "right-password"))
    with pytest.raises(PermanentFailure) as failure:
        _send(box, "user@example.com", EMAIL_HOST_USER="relay-user", EMAIL_HOST_PASSWORD="wrong-password")
    assert failure.value.reason == "provider_auth"
    assert box.failed_logins == 1
    assert "wrong-password" not in repr(failure.value)


def test_a_4xx_refusal_stays_transient() -> None:
    box = Mailbox(refuse=["451 4.3.0 Try again later"])
    with pytest.raises(smtplib.SMTPDataError) as failure:
        _send(box, "user@example.com")
    assert failure.value.smtp_code == 451
    assert not isinstance(failure.value, PermanentFailure)


def test_a_refused_sender_maps_by_its_code() -> None:
    # Mailbox takes every MAIL FROM: the rule itself, on the errors smtplib raises.
    refused = smtp_permanent_failure(smtplib.SMTPSenderRefused(553, b"5.7.1 Not our domain", "a@b.c"))
    assert refused is not None
    assert refused.reason == "rejected"
    assert smtp_permanent_failure(smtplib.SMTPSenderRefused(451, b"4.3.0 Busy", "a@b.c")) is None
    assert smtp_permanent_failure(smtplib.SMTPServerDisconnected("gone")) is None
    mixed = smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no"), "d@e.f": (450, b"later")})
    assert smtp_permanent_failure(mixed) is None


def test_a_queued_delivery_refused_with_a_5xx_fails_at_once(octotp_db: str) -> None:
    box = Mailbox(refuse=["554 5.7.1 Rejected"]).start()
    try:
        with override_settings(OCTOTP={"DELIVERY_MODE": "queue"}, **_email_settings(box)):
            octotp = octotp_django.get_octotp()
            run_out_leftover_jobs(octotp)
            project = octotp.accounts.create_project("refused").project.id
            token = octotp_django.create_token(project, email=f"r-{uuid.uuid4().hex[:8]}@example.com", send=True)
            assert octotp.outbox.run_once("worker") == 1
            job = octotp.store.get_token_job(token.id)
            assert job is not None
            assert (job.state, job.reason, job.attempts) == ("failed", "rejected", 1)
            octotp.outbox.run_once("worker")
            assert octotp.store.get_token_job(token.id) == job  # never retried
    finally:
        box.stop()
    assert box.refused == 1
