"""No code, API key or full recipient ever reaches a log record, whatever happens (DESIGN §4, §5)."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable

import pytest

from octotp_core import (
    AuthenticationFailed,
    DeliveryFailed,
    InvalidInput,
    Octotp,
    Plan,
    RateLimited,
    Settings,
)
from octotp_core.delivery.smtp import SmtpBackend
from octotp_core.store import Project


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write for this record: message, raw args, exception and stack."""
    parts = [record.getMessage(), str(record.msg), repr(record.args)]
    formatter = logging.Formatter()
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    parts.extend(f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES)  # `extra=`
    return "\n".join(parts)


def test_no_secret_reaches_a_log_record(
    database_url: str,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 10-digit codes cannot turn up by coincidence inside an id or a timestamp.
    settings = make_settings(
        database_url=database_url,
        code_length=10,
        recipient_send_budget="2/10 minutes",
        default_phone_region="GB",
        plans={"bulk": Plan(creates_per_minute=1000)},
        default_plan="bulk",
    )
    octotp = Octotp(settings)
    caplog.set_level(logging.DEBUG)  # everything, from every logger
    secrets: list[str] = []
    tag = uuid.uuid4().hex[:8]
    email, other_email = f"alice.{tag}@example.com", f"bob.{tag}@example.com"
    phone_national = "07400 " + str(uuid.uuid4().int % 10**6).zfill(6)
    phone = "+44" + phone_national[1:].replace(" ", "")
    secrets += [email, email.upper(), other_email, phone, phone_national, phone_national.replace(" ", "")]
    try:
        created = octotp.accounts.create_project(f"leaks {tag}")
        project = created.project
        key = created.api_key.secret
        extra_key = octotp.accounts.create_api_key(project.id, "second").secret
        secrets += [key, key[len("octotp_") :], extra_key]
        octotp.accounts.authenticate(key)
        tampered = key[:-1] + ("0" if key[-1] != "0" else "1")
        secrets.append(tampered)
        with pytest.raises(AuthenticationFailed):
            octotp.accounts.authenticate(tampered)

        # Create, fail, resend, succeed, re-use: for an email and a phone.
        for kwargs in ({"email": email.upper()}, {"phone": phone_national}):
            first = octotp.create_token(project.id, purpose="login", **kwargs)
            assert first.code is not None
            secrets.append(first.code)
            octotp.validate_token(project.id, code=_wrong(first.code), purpose="login", **kwargs)
            second = octotp.create_token(project.id, purpose="login", **kwargs)
            assert second.code is not None
            secrets.append(second.code)
            octotp.validate_token(project.id, code=first.code, purpose="login", **kwargs)
            octotp.validate_token(project.id, code=second.code, purpose="login", **kwargs)
            octotp.validate_token(project.id, code=second.code, purpose="login", **kwargs)
            with pytest.raises(RateLimited):
                octotp.create_token(project.id, purpose="login", **kwargs)

        # A cancelled code, a code for nobody, malformed input.
        cancelled = octotp.create_token(project.id, email=other_email)
        assert cancelled.code is not None
        secrets.append(cancelled.code)
        octotp.cancel_token(project.id, cancelled.id)
        octotp.validate_token(project.id, email=other_email, code=cancelled.code)
        with pytest.raises(InvalidInput):
            octotp.create_token(project.id, email=f"broken.{tag}@@example.com")
        secrets.append(f"broken.{tag}")

        # Delivery: the console backend prints the code (its purpose), a dead SMTP server fails.
        deliver_only = Project(str(uuid.uuid4()), "deliver only", None, "bulk", octotp.clock.now(), deliver_only=True)
        octotp.store.create_project(deliver_only)
        octotp.create_token(deliver_only, email=other_email)
        printed = capsys.readouterr().out
        secrets += [word for word in printed.replace(".", " ").split() if word.isdigit() and len(word) == 10]
        octotp.tokens.backends["email"] = SmtpBackend(host="127.0.0.1", port=_closed_port(), timeout=5)
        failed_recipient = f"carol.{tag}@example.com"
        secrets.append(failed_recipient)
        with pytest.raises(DeliveryFailed):
            octotp.create_token(project.id, email=failed_recipient, send=True)
    finally:
        octotp.close()

    records = caplog.records
    octotp_messages = [r.getMessage() for r in records if r.name.startswith("octotp")]
    # The scan is only meaningful if the events were logged at all, with their masked hints.
    assert any("token created" in m for m in octotp_messages)
    assert any("token approved" in m for m in octotp_messages)
    assert any("status=incorrect" in m for m in octotp_messages)
    assert any("delivery failed" in m for m in octotp_messages)
    assert any("rate limited" in m for m in octotp_messages)
    assert any("a***@example.com" in m for m in octotp_messages)
    assert any("+44*******" in m for m in octotp_messages)
    assert len([s for s in secrets if s.isdigit() and len(s) == 10]) == 6  # 5 returned codes + 1 delivered
    for record in records:
        text = _record_text(record).lower()
        for secret in secrets:
            assert secret.lower() not in text, f"{record.name} logged a secret: {record.getMessage()!r}"
