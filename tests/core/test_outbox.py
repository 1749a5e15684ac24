"""The outbox (``delivery_mode="queue"``): a code's delivery is a job written with its token and sent
by a worker, through a real SMTP server (aiosmtpd) that can be slow or refuse: retried until sent
exactly once, stopped by a permanent refusal, never sent after expiry or for a closed code, taken
over after a crashed worker's lease, visible in the API; the payload at rest holds no code."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator

import pytest

from octotp_core import DeliveryFailed, FrozenClock, Octotp
from octotp_core.http import ApiHandler, Request
from octotp_core.outbox import backoff
from octotp_core.testing.mailbox import Mailbox

from ..outbox_runs import run_due, run_out_leftover_jobs
from .conftest import MakeOctotp


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _queued(
    make_octotp: MakeOctotp, box: Mailbox, refuse: list[str] | None = None, **settings: object
) -> tuple[Octotp, str]:
    """An octotp in queue mode mailing ``box``, and a project of it. Jobs other tests left in the
    session's database are run out first (``run_out_leftover_jobs``), so that ``refuse`` (the box's
    next replies) meets this test's."""
    octotp = make_octotp(delivery_mode="queue", **box.delivery_settings, **settings)
    run_out_leftover_jobs(octotp)
    box.refusals = list(refuse or [])
    return octotp, octotp.accounts.create_project("Outbox project").project.id


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def test_create_answers_before_sending_and_the_worker_sends_it_once(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project = _queued(make_octotp, mailbox)
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    assert mailbox.to(to) == []  # nothing sent inside the request
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert (job.state, job.attempts) == ("queued", 0)
    run_due(octotp)
    assert mailbox.code_for(to) == created.code
    run_due(octotp)  # nothing due any more
    assert len(mailbox.to(to)) == 1
    sent = octotp.store.get_token_job(created.id)
    assert sent is not None
    assert (sent.state, sent.attempts, sent.payload) == ("sent", 1, None)
    assert octotp.tokens.validate(project, email=to, code=created.code or "").status == "approved"


def test_the_payload_at_rest_holds_neither_the_code_nor_the_recipient(
    make_octotp: MakeOctotp, mailbox: Mailbox
) -> None:
    octotp, project = _queued(make_octotp, mailbox)
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert job.payload
    assert created.code not in job.payload
    assert to not in job.payload
    assert to.split("@")[0] not in job.payload


def test_transient_refusals_are_retried_with_backoff_and_the_code_arrives_once(
    make_octotp: MakeOctotp, clock: FrozenClock
) -> None:
    box = Mailbox().start()
    try:
        octotp, project = _queued(make_octotp, box, ["451 4.3.0 Try again later"] * 2, delivery_retry_seconds=2.0)
        to = _email()
        created = octotp.tokens.create(project, email=to, send=True)
        run_due(octotp)
        first = octotp.store.get_token_job(created.id)
        assert first is not None
        assert (first.state, first.attempts, first.reason) == ("queued", 1, "SMTPDataError")
        assert 1.0 <= (first.due_at - clock.now()).total_seconds() < 3.0  # 2 s, with jitter
        run_due(octotp)  # not due yet
        assert octotp.store.get_token_job(created.id).attempts == 1  # type: ignore[union-attr]
        clock.advance(3)
        run_due(octotp)
        second = octotp.store.get_token_job(created.id)
        assert second is not None
        assert (second.state, second.attempts) == ("queued", 2)
        assert 2.0 <= (second.due_at - clock.now()).total_seconds() < 6.0  # doubled
        clock.advance(6)
        run_due(octotp)
        assert box.refused == 2
        assert len(box.to(to)) == 1
        assert box.code_for(to) == created.code
        assert octotp.store.get_token_job(created.id).state == "sent"  # type: ignore[union-attr]
    finally:
        box.stop()


def test_a_permanent_refusal_stops_at_once_and_leaves_no_usable_code(make_octotp: MakeOctotp) -> None:
    box = Mailbox().start()
    try:
        octotp, project = _queued(make_octotp, box, ["550 5.1.1 No such user"])
        to = _email()
        created = octotp.tokens.create(project, email=to, send=True)
        run_due(octotp)
        job = octotp.store.get_token_job(created.id)
        assert job is not None
        assert (job.state, job.reason, job.attempts, job.payload) == ("failed", "rejected", 1, None)
        assert octotp.store.get_token(created.id).closed_reason == "delivery_failed"  # type: ignore[union-attr]
        assert octotp.tokens.validate(project, email=to, code=created.code or "").status != "approved"
        run_due(octotp)
        assert box.refused == 1
    finally:
        box.stop()


def test_nothing_is_sent_after_the_code_expires(make_octotp: MakeOctotp, mailbox: Mailbox, clock: FrozenClock) -> None:
    octotp, project = _queued(make_octotp, mailbox)
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True, expires_in=60)
    clock.advance(61)
    run_due(octotp)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert (job.state, job.reason) == ("failed", "expired")
    assert mailbox.to(to) == []


def test_retries_stop_when_the_next_would_come_after_expiry(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    box = Mailbox().start()
    try:
        octotp, project = _queued(make_octotp, box, ["451 4.3.0 Try again later"] * 10, delivery_retry_seconds=20.0)
        created = octotp.tokens.create(project, email=_email(), send=True, expires_in=30)
        run_due(octotp)  # fails; the next try would be 10-30 s later, the code lives 30 s
        clock.advance(31)
        run_due(octotp)
        job = octotp.store.get_token_job(created.id)
        assert job is not None
        assert (job.state, job.reason) == ("failed", "expired")
    finally:
        box.stop()


def test_a_cancelled_or_replaced_code_is_never_sent(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, project = _queued(make_octotp, mailbox)
    cancelled_to, replaced_to = _email(), _email()
    cancelled = octotp.tokens.create(project, email=cancelled_to, send=True)
    octotp.tokens.cancel(project, cancelled.id)
    first = octotp.tokens.create(project, email=replaced_to, send=True)
    second = octotp.tokens.create(project, email=replaced_to, send=True)
    run_due(octotp)
    assert mailbox.to(cancelled_to) == []
    assert mailbox.code_for(replaced_to) == second.code
    assert len(mailbox.to(replaced_to)) == 1
    for token_id in (cancelled.id, first.id):
        job = octotp.store.get_token_job(token_id)
        assert job is not None
        assert (job.state, job.reason) == ("failed", "token_closed")


def test_a_crashed_workers_job_is_taken_over_after_its_lease(
    make_octotp: MakeOctotp, mailbox: Mailbox, clock: FrozenClock
) -> None:
    octotp, project = _queued(make_octotp, mailbox, delivery_lease_seconds=30.0)
    to = _email()
    created = octotp.tokens.create(project, email=to, send=True)
    now = clock.now()
    held = [j for j in octotp.store.claim_jobs("dead", now, now + dt.timedelta(seconds=30), 100)]
    assert created.id in {j.token_id for j in held}  # claimed, then the worker dies without a word
    run_due(octotp, "alive")  # still leased: not sent
    assert mailbox.to(to) == []
    clock.advance(31)
    run_due(octotp, "alive")
    assert len(mailbox.to(to)) == 1
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert (job.state, job.attempts) == ("sent", 2)
    assert octotp.store.finish_job(job.id, "dead", "sent") is False  # the dead one's late word counts for nothing


def test_the_api_shows_the_delivery_state_never_the_code(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp, _ = _queued(make_octotp, mailbox)
    created_project = octotp.accounts.create_project("API view")
    key, project = created_project.api_key.secret, created_project.project.id
    api = ApiHandler(octotp)
    headers = {"Host": "testserver", "Content-Type": "application/json", "X-Api-Key": key}
    body = json.dumps({"projectId": project, "recipientEmail": _email(), "send": True}).encode()
    created = json.loads(api.handle(Request("POST", "/api/tokens", headers, body)).body)

    def delivery() -> dict[str, object]:
        answer = api.handle(Request("GET", f"/api/tokens/{created['id']}", headers, b""))
        assert answer.status == 200
        assert created["code"] not in answer.body.decode()
        state: dict[str, object] = json.loads(answer.body)["delivery"]
        return state

    assert delivery() == {"state": "queued", "reason": None, "attempts": 0, "sentAt": None, "deliveredAt": None}
    run_due(octotp)
    sent = delivery()
    assert (sent["state"], sent["attempts"]) == ("sent", 1)
    assert isinstance(sent["sentAt"], str)
    assert sent["sentAt"].endswith("Z")


def test_a_worker_thread_sends_on_the_real_clock(make_settings: object, database_url: str, mailbox: Mailbox) -> None:
    from octotp_core import Settings

    settings = Settings(
        database_url=database_url,
        secret_key="x" * 43,
        delivery_mode="queue",
        **mailbox.delivery_settings,  # type: ignore[arg-type]
    )
    octotp = Octotp(settings)
    worker = octotp.start_worker()
    try:
        project = octotp.accounts.create_project("Threaded").project.id
        to = _email()
        created = octotp.tokens.create(project, email=to, send=True)
        assert mailbox.code_for(to) == created.code  # waits for the worker's send
    finally:
        worker.stop()
        octotp.close()


def test_sync_mode_keeps_the_502_behaviour(make_octotp: MakeOctotp) -> None:
    box = Mailbox(refuse=["451 4.3.0 Try again later"]).start()
    try:
        octotp = make_octotp(**box.delivery_settings)
        assert octotp.settings.delivery_mode == "sync"
        project = octotp.accounts.create_project("Sync").project.id
        with pytest.raises(DeliveryFailed):
            octotp.tokens.create(project, email=_email(), send=True)
    finally:
        box.stop()


def test_backoff_doubles_up_to_a_minute_with_jitter() -> None:
    import random

    rng = random.Random(7)
    waits = [backoff(attempt, 2.0, rng) for attempt in range(1, 10)]
    for attempt, wait in enumerate(waits, start=1):
        base = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert 0.5 * base <= wait < 1.5 * base
    assert len({round(w, 6) for w in waits}) == len(waits)
