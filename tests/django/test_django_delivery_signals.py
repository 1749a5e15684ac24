"""``delivery_sent`` / ``delivery_failed``: the outbox's events as Django signals
(``"DELIVERY_MODE": "queue"``, a real SMTP server through Django's mail framework), and
``delivery_dispatch`` waiting for the host's transaction to commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import router, transaction
from django.test import override_settings

import octotp_django
from octotp_core import TokenEvent
from octotp_core.testing.mailbox import Mailbox
from octotp_django import signals
from octotp_django.models import Job, Token

from ..outbox_runs import run_out_leftover_jobs

pytestmark = pytest.mark.django_db(databases="__all__")

handed: list[str] = []


def hand_over(job_id: str) -> None:
    """A ``delivery_dispatch`` target standing in for a host's ``task.delay``."""
    handed.append(job_id)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _email_settings(box: Mailbox) -> dict[str, Any]:
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    return {"EMAIL_BACKEND": smtp, "EMAIL_HOST": box.host, "EMAIL_PORT": box.port, "EMAIL_TIMEOUT": 5}


def test_delivery_signals_carry_the_masked_recipient_and_the_reason(octotp_db: str, mailbox: Mailbox) -> None:
    received: list[tuple[str, Any, dict[str, Any]]] = []

    def receiver(name: str) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            received.append((name, sender, kwargs))

        return receive

    sent, failed = receiver("sent"), receiver("failed")
    signals.delivery_sent.connect(sent)
    signals.delivery_failed.connect(failed)
    try:
        with override_settings(OCTOTP={"DELIVERY_MODE": "queue"}, **_email_settings(mailbox)):
            octotp = octotp_django.get_octotp()
            run_out_leftover_jobs(octotp)
            project = octotp.accounts.create_project("signals").project.id
            to, cancelled = f"u-{uuid.uuid4().hex[:8]}@example.com", f"r-{uuid.uuid4().hex[:8]}@example.com"
            token = octotp_django.create_token(project, email=to, send=True)
            assert received == []
            assert octotp.outbox.run_once("worker") == 1
            assert mailbox.code_for(to) == token.code
            bad = octotp_django.create_token(project, email=cancelled, send=True)
            octotp_django.cancel_token(project, bad.id)  # before its job ran: never sent
            octotp.outbox.run_once("worker")
            assert mailbox.to(cancelled) == []
    finally:
        signals.delivery_sent.disconnect(sent)
        signals.delivery_failed.disconnect(failed)

    assert [(name, sender) for name, sender, _ in received] == [("sent", Token), ("failed", Token)]
    first, second = received[0][2], received[1][2]
    assert (first["token_id"], first["project_id"], first["reason"], first["status"]) == (token.id, project, None, None)
    assert first["recipient_hint"] == f"{to[0]}***@example.com"
    assert isinstance(first["event"], TokenEvent)
    assert (second["token_id"], second["event"].kind) == (bad.id, "delivery.failed")
    assert second["reason"] == "token_closed"
    for _, _, kwargs in received:
        for value in [*kwargs.values(), *vars(kwargs["event"]).values()]:
            assert to not in str(value)
            assert token.code is not None
            assert token.code not in str(value)
    assert {"delivery_sent", "delivery_failed"} <= set(octotp_django.__all__)


def test_dispatch_waits_for_the_hosts_transaction_to_commit(
    octotp_db: str, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    settings = {"DELIVERY_MODE": "queue", "DELIVERY_DISPATCH": f"{__name__}.hand_over"}
    with override_settings(OCTOTP=settings, **_email_settings(mailbox)):
        octotp = octotp_django.get_octotp()
        project = octotp.accounts.create_project("dispatch").project.id
        handed.clear()
        to = f"d-{uuid.uuid4().hex[:8]}@example.com"
        alias = router.db_for_write(Job)  # octotp's models' database (the test routes them)
        with django_capture_on_commit_callbacks(using=alias, execute=True), transaction.atomic(using=alias):
            token = octotp_django.create_token(project, email=to, send=True)
            assert handed == []  # not committed yet: a task could not find the job
        job = octotp.store.get_token_job(token.id)
        assert job is not None
        assert handed == [job.id]
        assert octotp.outbox.send_job(job.id, "task") is True
        assert octotp.outbox.send_job(job.id, "task") is False
        assert mailbox.code_for(to) == token.code
        assert len(mailbox.to(to)) == 1
