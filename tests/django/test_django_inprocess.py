"""The in-process API (``create_token`` / ``validate_token`` / ``cancel_token``), signals and email."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings

import octotp_django
from octotp_core import DeliveryFailed, NotFound, Octotp, TokenEvent
from octotp_core.delivery import render
from octotp_django import models
from octotp_django.mail import DjangoEmailBackend

pytestmark = pytest.mark.django_db(databases="__all__")

EMAIL = "Someone@Example.com"


@pytest.fixture
def project_id(django_octotp: Octotp) -> str:
    return django_octotp.accounts.create_project("in-process").project.id


@pytest.fixture
def received() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every octotp signal sent during the test, with its keyword arguments."""
    calls: list[tuple[str, dict[str, Any]]] = []
    names = ("token_created", "token_approved", "token_failed", "token_locked")

    def make(name: str) -> Any:
        def receiver(sender: Any, **kwargs: Any) -> None:
            calls.append((name, {"sender": sender, **kwargs}))

        return receiver

    receivers = {name: make(name) for name in names}
    for name, receiver in receivers.items():
        getattr(octotp_django, name).connect(receiver)
    yield calls
    for name, receiver in receivers.items():
        getattr(octotp_django, name).disconnect(receiver)


def test_public_names_match_every_adapter() -> None:
    for name in ("get_octotp", "create_token", "validate_token", "cancel_token"):
        assert callable(getattr(octotp_django, name))
    assert {"token_created", "token_approved", "token_failed", "token_locked"} <= set(octotp_django.__all__)


def test_get_octotp_is_built_once_on_the_django_store(django_octotp: Octotp) -> None:
    from octotp_django.store import DjangoStore

    assert octotp_django.get_octotp() is django_octotp
    assert isinstance(django_octotp.store, DjangoStore)
    assert django_octotp.engine is None


def test_round_trip_and_signals_without_code(project_id: str, received: list[tuple[str, dict[str, Any]]]) -> None:
    token = octotp_django.create_token(project_id, email=EMAIL, purpose="login")
    assert token.code is not None
    wrong = "0" * len(token.code) if token.code != "0" * len(token.code) else "1" * len(token.code)
    assert octotp_django.validate_token(project_id, email=EMAIL, code=wrong, purpose="login").status == "incorrect"
    result = octotp_django.validate_token(project_id, email=EMAIL.lower(), code=token.code, purpose="login")
    assert (result.is_valid, result.status) == (True, "approved")
    assert octotp_django.validate_token(project_id, email=EMAIL, code=token.code, purpose="login").status == "not_found"

    assert [name for name, _ in received] == ["token_created", "token_failed", "token_approved", "token_failed"]
    for _, kwargs in received:
        assert kwargs["sender"] is models.Token
        assert isinstance(kwargs["event"], TokenEvent)
        assert kwargs["project_id"] == project_id
        assert kwargs["recipient_hint"] == "s***@example.com"
        assert kwargs["purpose"] == "login"
        assert token.code not in repr(kwargs)
    assert received[0][1]["token_id"] == token.id
    assert received[2][1]["status"] == "approved"


def test_locked_signal_after_the_attempt_cap(project_id: str, received: list[tuple[str, dict[str, Any]]]) -> None:
    token = octotp_django.create_token(project_id, email=EMAIL)
    assert token.code is not None
    wrong = "1" * 6 if token.code != "1" * 6 else "2" * 6
    statuses = [octotp_django.validate_token(project_id, email=EMAIL, code=wrong).status for _ in range(6)]
    assert statuses == ["incorrect"] * 5 + ["locked"]
    assert received[-1][0] == "token_locked"


def test_a_raising_receiver_cannot_change_the_outcome(project_id: str) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    octotp_django.token_approved.connect(broken)
    try:
        token = octotp_django.create_token(project_id, email=EMAIL)
        assert token.code is not None
        assert octotp_django.validate_token(project_id, email=EMAIL, code=token.code).is_valid
    finally:
        octotp_django.token_approved.disconnect(broken)


def test_cancel(project_id: str) -> None:
    token = octotp_django.create_token(project_id, email=EMAIL)
    octotp_django.cancel_token(project_id, token.id)
    octotp_django.cancel_token(project_id, token.id)  # idempotent
    assert token.code is not None
    assert octotp_django.validate_token(project_id, email=EMAIL, code=token.code).status == "not_found"
    used = octotp_django.create_token(project_id, email=EMAIL)
    assert used.code is not None
    assert octotp_django.validate_token(project_id, email=EMAIL, code=used.code).is_valid
    with pytest.raises(NotFound):
        octotp_django.cancel_token(project_id, used.id)


def test_works_inside_the_hosts_transaction(project_id: str, octotp_db: str) -> None:
    with transaction.atomic(using=octotp_db):
        token = octotp_django.create_token(project_id, email=EMAIL)
        assert token.code is not None
        assert octotp_django.validate_token(project_id, email=EMAIL, code=token.code).is_valid


def test_send_uses_djangos_mail_framework_by_default(project_id: str) -> None:
    token = octotp_django.create_token(project_id, email=EMAIL, send=True, locale="de")
    assert token.sent
    [message] = mail.outbox
    assert message.to == ["someone@example.com"]
    assert message.from_email == "octotp@example.com"
    assert token.code is not None
    assert token.code in message.body
    assert "Bestätigungscode" in message.subject


def test_django_email_backend_options_and_failure() -> None:
    message = render("email", "user@example.com", "123456", "Shop", 300, None)
    DjangoEmailBackend(from_email="codes@example.com").send(message)
    assert mail.outbox[-1].from_email == "codes@example.com"
    with override_settings(EMAIL_PORT=1, EMAIL_TIMEOUT=2), pytest.raises(ConnectionRefusedError):
        DjangoEmailBackend(backend="django.core.mail.backends.smtp.EmailBackend").send(message)


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=1, EMAIL_TIMEOUT=2)
def test_failed_delivery_leaves_no_usable_code(django_octotp: Octotp) -> None:
    project = django_octotp.accounts.create_project("failing mail").project
    with pytest.raises(DeliveryFailed):
        octotp_django.create_token(project.id, email=EMAIL, send=True)
    [token] = django_octotp.store.list_tokens(project.id)
    assert token.closed_reason == "delivery_failed"
