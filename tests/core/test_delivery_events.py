"""Delivery events and the dispatch hook (``delivery_mode="queue"``), through a real SMTP server
(aiosmtpd): the outbox tells ``delivery.sent`` / ``delivery.failed`` once the job's outcome is
stored, to the same listeners as the token events, with the masked recipient and never the code;
``delivery_dispatch`` hands each new job to a host's queue, whose task sends it with ``send_job``
exactly once, however often it runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from octotp_core import Octotp, TokenEvent
from octotp_core.testing.mailbox import Mailbox

from ..outbox_runs import run_due, run_out_leftover_jobs
from .conftest import MakeOctotp

handed: list[str] = []
"""The job ids ``hand_over`` was given (the stand-in for a host's task queue)."""


def hand_over(job_id: str) -> None:
    """A ``delivery_dispatch`` target: a host would ``task.delay(job_id)`` here."""
    handed.append(job_id)


inline: list[Octotp] = []
"""The octotp whose jobs ``send_at_once`` sends."""


def send_at_once(job_id: str) -> None:
    """A ``delivery_dispatch`` target whose task runs in this process, at once (Celery's eager mode)."""
    inline[0].outbox.send_job(job_id, "inline")


def broken_queue(job_id: str) -> None:
    """A ``delivery_dispatch`` target whose broker is down."""
    raise ConnectionRefusedError("broker unreachable")


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _queued(make_octotp: MakeOctotp, box: Mailbox, **settings: object) -> tuple[Octotp, str, list[TokenEvent]]:
    octotp = make_octotp(delivery_mode="queue", **box.delivery_settings, **settings)
    run_out_leftover_jobs(octotp)
    events: list[TokenEvent] = []
    octotp.tokens.listeners.append(events.append)
    return octotp, octotp.accounts.create_project("Events project").project.id, events


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def test_a_sent_job_tells_delivery_sent_to_the_token_listeners(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project, events = _queued(make_octotp, mailbox)
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True, purpose="login")
    assert [e.kind for e in events] == ["created"]
    run_due(octotp)
    assert mailbox.code_for(to) == created.code
    sent = [e for e in events if e.kind == "delivery.sent"]
    assert len(sent) == 1
    event = sent[0]
    assert (event.project_id, event.token_id, event.purpose, event.reason) == (project, created.id, "login", None)
    assert event.recipient_hint == octotp.store.get_token(created.id).recipient_hint  # type: ignore[union-attr]
    assert to not in repr(event)
    assert created.code is not None
    assert created.code not in repr(event)
    assert octotp.outbox.listeners is octotp.tokens.listeners


def test_a_permanent_refusal_tells_delivery_failed_with_its_reason(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project, events = _queued(make_octotp, mailbox)
    mailbox.refusals = ["550 5.1.1 No such user"]
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    run_due(octotp)
    failed = [e for e in events if e.kind == "delivery.failed"]
    assert [(e.token_id, e.reason) for e in failed] == [(created.id, "rejected")]
    assert not [e for e in events if e.kind == "delivery.sent"]
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert (job.state, job.reason) == ("failed", "rejected")  # stored before it was told


def test_a_cancelled_code_tells_delivery_failed_token_closed(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project, events = _queued(make_octotp, mailbox)
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    octotp.tokens.cancel(project, created.id)
    run_due(octotp)
    assert mailbox.to(to) == []
    assert [(e.kind, e.reason) for e in events if e.kind.startswith("delivery.")] == [
        ("delivery.failed", "token_closed")
    ]


def test_a_listener_that_raises_leaves_the_sent_job_sent(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project, events = _queued(make_octotp, mailbox)

    def broken(event: TokenEvent) -> None:
        raise RuntimeError("listener bug")

    octotp.tokens.listeners.insert(0, broken)
    created = octotp.tokens.create(project, email=_email(), send=True)
    run_due(octotp)
    assert octotp.store.get_token_job(created.id).state == "sent"  # type: ignore[union-attr]
    assert [e.kind for e in events] == ["created", "delivery.sent"]


def test_dispatch_hands_each_new_job_to_the_hook_and_send_job_sends_it_once(
    make_octotp: MakeOctotp, mailbox: Mailbox
) -> None:
    octotp, project, events = _queued(make_octotp, mailbox, delivery_dispatch=f"{__name__}.hand_over")
    handed.clear()
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert handed == [job.id]
    assert octotp.outbox.send_job(job.id, "task-1") is True
    assert mailbox.code_for(to) == created.code
    # The task runs again (a broker redelivery), or races a polling worker: nothing more is sent.
    assert octotp.outbox.send_job(job.id, "task-2") is False
    assert octotp.outbox.run_once("poller") == 0
    assert len(mailbox.to(to)) == 1
    assert [e.kind for e in events] == ["created", "delivery.sent"]
    assert octotp.outbox.send_job("not-a-job-id", "task-3") is False
    assert octotp.outbox.send_job(str(uuid.uuid4()), "task-3") is False


def test_send_job_leaves_a_job_another_worker_holds(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project, _ = _queued(make_octotp, mailbox)
    created = octotp.tokens.create(project, email=_email(), send=True)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    now = octotp.clock.now()
    held = octotp.store.claim_job(job.id, "poller", now, now + octotp.outbox.lease)
    assert held is not None
    assert (held.state, held.claimed_by, held.attempts) == ("sending", "poller", 1)
    assert octotp.outbox.send_job(job.id, "task") is False
    assert octotp.store.get_job(job.id).claimed_by == "poller"  # type: ignore[union-attr]


def test_a_dispatch_that_fails_leaves_the_job_to_the_polling_worker(
    make_octotp: MakeOctotp, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    octotp, project, _ = _queued(make_octotp, mailbox, delivery_dispatch=f"{__name__}.broken_queue")
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)  # the create still answers
    assert "delivery dispatch failed" in caplog.text
    assert "ConnectionRefusedError" in caplog.text
    assert to not in caplog.text
    run_due(octotp)
    assert mailbox.code_for(to) == created.code


def test_a_task_run_at_once_tells_created_before_delivery_sent(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project, events = _queued(make_octotp, mailbox, delivery_dispatch=f"{__name__}.send_at_once")
    inline[:] = [octotp]
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    assert mailbox.code_for(to) == created.code  # sent before create returned
    assert [(e.kind, e.token_id) for e in events] == [("created", created.id), ("delivery.sent", created.id)]
