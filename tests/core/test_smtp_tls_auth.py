"""The SMTP backend against a relay that requires STARTTLS and AUTH (aiosmtpd with a self-signed
certificate made with ``cryptography``): the message arrives over TLS after the login; a wrong
password is a permanent failure (``provider_auth``), tried once and never again, and no log line
carries the password; a relay whose certificate is not trusted gets nothing."""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import uuid
from collections.abc import Iterator

import pytest

from octotp_core import FrozenClock
from octotp_core.delivery import Message, PermanentFailure
from octotp_core.delivery.smtp import SmtpBackend
from octotp_core.testing.mailbox import Mailbox

from ..outbox_runs import run_due, run_out_leftover_jobs
from .conftest import MakeOctotp

USER = "octotp-relay"


@pytest.fixture
def password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def relay(password: str) -> Iterator[Mailbox]:
    box = Mailbox(tls=True, auth=(USER, password)).start()
    yield box
    box.stop()


def _message(to: str) -> Message:
    return Message(channel="email", to=to, code="123456", subject="Your code", body="Code: 123456", locale="en")


def _backend(box: Mailbox, **overrides: object) -> SmtpBackend:
    options: dict[str, object] = {**box.delivery_settings["delivery_options"]["smtp"], "timeout": 5}
    options.update(overrides)
    return SmtpBackend(**options)  # type: ignore[arg-type]


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def test_the_message_arrives_over_starttls_after_the_login(relay: Mailbox, password: str) -> None:
    backend = _backend(relay)
    assert (backend.starttls, backend.username, backend.password) == (True, USER, password)
    to = _email()
    backend.send(_message(to))
    assert relay.code_for(to) == "123456"
    assert relay.failed_logins == 0
    assert password not in repr(backend)


def test_the_relay_requires_tls_and_a_login(relay: Mailbox) -> None:
    to = _email()
    with pytest.raises(PermanentFailure) as no_tls:  # 530 Must issue a STARTTLS command first
        _backend(relay, starttls=False, username=None).send(_message(to))
    assert no_tls.value.reason == "rejected"
    assert isinstance(no_tls.value.__cause__, smtplib.SMTPResponseException)
    assert no_tls.value.__cause__.smtp_code == 530
    with pytest.raises(PermanentFailure) as no_login:  # 530 Authentication required
        _backend(relay, username=None).send(_message(to))
    assert no_login.value.__cause__.smtp_code == 530  # type: ignore[union-attr]
    assert relay.to(to) == []


def test_a_wrong_password_is_a_permanent_provider_auth_failure(relay: Mailbox, password: str) -> None:
    with pytest.raises(PermanentFailure) as failure:
        _backend(relay, password="not-" + password).send(_message(_email()))
    assert failure.value.reason == "provider_auth"
    assert isinstance(failure.value.__cause__, smtplib.SMTPAuthenticationError)
    assert failure.value.__cause__.smtp_code == 535
    assert relay.failed_logins == 1
    assert relay.messages == []


def test_an_untrusted_certificate_gets_nothing(relay: Mailbox) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _backend(relay, ca_file=None).send(_message(_email()))  # the system's CAs do not know it
    assert relay.messages == []
    assert relay.failed_logins == 0  # the password was never sent


def test_the_outbox_sends_through_the_relay_and_stops_at_a_wrong_password(
    make_octotp: MakeOctotp, relay: Mailbox, password: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = make_octotp(delivery_mode="queue", **relay.delivery_settings)
    run_out_leftover_jobs(good)
    project = good.accounts.create_project("Relay").project.id
    to = _email()
    created = good.tokens.create(project, email=to, send=True)
    run_due(good)
    assert relay.code_for(to) == created.code

    settings = relay.delivery_settings
    settings["delivery_options"]["smtp"]["password"] = "wrong-" + password
    bad = make_octotp(delivery_mode="queue", **settings)
    other = _email()
    failed = bad.tokens.create(project, email=other, send=True)
    run_due(bad)
    job = bad.store.get_token_job(failed.id)
    assert job is not None
    assert (job.state, job.reason, job.attempts) == ("failed", "provider_auth", 1)
    assert relay.failed_logins == 1
    clock.advance(60)
    run_due(bad)
    again = bad.store.get_token_job(failed.id)
    assert again is not None
    assert (again.state, again.attempts) == ("failed", 1)  # never tried again
    assert relay.to(other) == []
    assert "reason=provider_auth" in caplog.text
    assert password not in caplog.text
    assert failed.code not in caplog.text
