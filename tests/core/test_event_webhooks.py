"""Event webhooks end to end: a project's endpoint (a real HTTP receiver on 127.0.0.1 verifying each
request with the ``standardwebhooks`` package, as a user's endpoint would) gets the project's token,
delivery and plan events from the outbox's worker, signed with the endpoint's own secret, retried
with the same ``webhook-id`` until it answers 2xx, logged, and sent again on demand. Never a code."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import event
from standardwebhooks import Webhook, WebhookVerificationError

from octotp_core import FrozenClock, InvalidInput, NotFound, Octotp
from octotp_core.console.operators import OperatorActions
from octotp_core.testing.mailbox import Mailbox
from octotp_core.webhooks.endpoints import CACHE_SECONDS

from ..outbox_runs import run_due, run_out_leftover_jobs
from ..webhook_receiver import Verify, WebhookReceiver, running
from .conftest import MakeOctotp


def verified_by(secret: str) -> Verify:
    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return Webhook(secret).verify(body, dict(headers))

    return verify


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def _octotp(make_octotp: MakeOctotp, **settings: Any) -> Octotp:
    return make_octotp(webhook_private_addresses=True, **settings)


def _events(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    assert all(r.error is None for r in receiver.received), [r.error for r in receiver.received]
    return [r.result for r in receiver.received]


def test_token_events_reach_the_endpoint_signed_and_masked(
    make_octotp: MakeOctotp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    octotp = _octotp(make_octotp)
    run_out_leftover_jobs(octotp)
    project = octotp.accounts.create_project("Hooks").project.id
    endpoint, secret = octotp.webhooks.create(project, "http://127.0.0.1:9/unused")
    with running(verified_by(secret)) as receiver:
        octotp.webhooks.update(project, endpoint.id, url=receiver.url)
        to = _email()
        created = octotp.tokens.create(project, email=to)
        wrong = "000000" if created.code != "000000" else "111111"
        assert octotp.tokens.validate(project, code=wrong, email=to).status == "incorrect"
        assert octotp.tokens.validate(project, code=created.code, email=to).status == "approved"
        run_due(octotp)
    # (One at a time, not in order: as Standard Webhooks says, a receiver orders by the timestamps.)
    events = {e["type"]: e for e in _events(receiver)}
    assert sorted(events) == ["token.approved", "token.created", "token.failed"]
    first = events["token.created"]["data"]
    assert first["projectId"] == project
    assert first["tokenId"] == created.id
    assert first["recipientHint"].endswith("@example.com")
    assert "*" in first["recipientHint"]
    for request in receiver.received:
        assert created.code not in request.body.decode()
        assert to not in request.body.decode()
    # webhook-id is the job's id: the endpoint's log names the same messages.
    log = octotp.webhooks.log(project, endpoint.id)
    assert {j.id for j in log} == {r.headers["webhook-id"] for r in receiver.received}
    assert {(j.state, j.attempts) for j in log} == {("sent", 1)}
    assert created.code not in caplog.text
    assert secret not in caplog.text


def test_an_endpoint_gets_only_the_types_it_chose_and_nothing_when_disabled(make_octotp: MakeOctotp) -> None:
    octotp = _octotp(make_octotp)
    run_out_leftover_jobs(octotp)
    project = octotp.accounts.create_project("Chosen").project.id
    endpoint, secret = octotp.webhooks.create(project, "http://127.0.0.1:9/x", events=["token.approved"])
    with running(verified_by(secret)) as receiver:
        octotp.webhooks.update(project, endpoint.id, url=receiver.url)
        to = _email()
        created = octotp.tokens.create(project, email=to)
        octotp.tokens.validate(project, code=created.code, email=to)
        run_due(octotp)
        assert [e["type"] for e in _events(receiver)] == ["token.approved"]
        octotp.webhooks.update(project, endpoint.id, enabled=False)
        again = octotp.tokens.create(project, email=to)
        octotp.tokens.validate(project, code=again.code, email=to)
        run_due(octotp)
        assert len(receiver.received) == 1


def test_a_down_endpoint_is_retried_with_the_same_id_until_it_answers(
    make_octotp: MakeOctotp, clock: FrozenClock
) -> None:
    octotp = _octotp(make_octotp, delivery_retry_seconds=1.0)
    run_out_leftover_jobs(octotp)
    project = octotp.accounts.create_project("Retried").project.id
    endpoint, secret = octotp.webhooks.create(project, "http://127.0.0.1:9/x", events=["token.created"])
    with running(verified_by(secret), answers=[503, 500]) as receiver:
        octotp.webhooks.update(project, endpoint.id, url=receiver.url)
        octotp.tokens.create(project, email=_email())
        run_due(octotp)
        (job,) = octotp.webhooks.log(project, endpoint.id)
        assert (job.state, job.attempts, job.reason) == ("queued", 1, "http_503")
        for _ in range(2):
            clock.advance(3)  # past the backoff (1 s, then 2 s, times a jitter below 1.5)
            run_due(octotp)
    assert [r.status for r in receiver.received] == [503, 500, 204]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    (job,) = octotp.webhooks.log(project, endpoint.id)
    assert (job.state, job.attempts, job.reason) == ("sent", 3, None)
    assert job.id == receiver.received[0].headers["webhook-id"]


def test_a_gone_endpoint_fails_at_once_and_a_resend_delivers_it_again(make_octotp: MakeOctotp) -> None:
    octotp = _octotp(make_octotp)
    run_out_leftover_jobs(octotp)
    project = octotp.accounts.create_project("Gone").project.id
    endpoint, secret = octotp.webhooks.create(project, "http://127.0.0.1:9/x", events=["token.created"])
    with running(verified_by(secret), answers=[410]) as receiver:
        octotp.webhooks.update(project, endpoint.id, url=receiver.url)
        octotp.tokens.create(project, email=_email())
        run_due(octotp)
        (job,) = octotp.webhooks.log(project, endpoint.id)
        assert (job.state, job.reason) == ("failed", "endpoint_gone")
        queued = octotp.webhooks.resend(project, job.id)
        assert (queued.state, queued.attempts) == ("queued", 0)
        run_due(octotp)
    assert [r.status for r in receiver.received] == [410, 204]
    assert receiver.received[0].body == receiver.received[1].body
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"] == job.id
    (done,) = octotp.webhooks.log(project, endpoint.id)
    assert done.state == "sent"
    with pytest.raises(NotFound):
        octotp.webhooks.resend(octotp.accounts.create_project("Other").project.id, job.id)


def test_a_rotated_secret_signs_from_then_on(make_octotp: MakeOctotp) -> None:
    octotp = _octotp(make_octotp)
    run_out_leftover_jobs(octotp)
    project = octotp.accounts.create_project("Rotated").project.id
    endpoint, old = octotp.webhooks.create(project, "http://127.0.0.1:9/x", events=["token.created"])
    new = octotp.webhooks.rotate_secret(project, endpoint.id)
    assert new != old
    assert new.startswith("whsec_")
    with running(verified_by(new)) as receiver:
        octotp.webhooks.update(project, endpoint.id, url=receiver.url)
        octotp.tokens.create(project, email=_email())
        run_due(octotp)
    (request,) = receiver.received
    assert request.error is None
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_delivery_and_plan_events(make_octotp: MakeOctotp) -> None:
    box = Mailbox(refuse=["550 5.1.1 No such user"]).start()
    try:
        octotp = _octotp(make_octotp, delivery_mode="queue", **box.delivery_settings)
        run_out_leftover_jobs(octotp)
        project = octotp.accounts.create_project("Delivery events").project.id
        types = ["delivery.failed", "project.plan_changed"]
        endpoint, secret = octotp.webhooks.create(project, "http://127.0.0.1:9/x", events=types)
        with running(verified_by(secret)) as receiver:
            octotp.webhooks.update(project, endpoint.id, url=receiver.url)
            created = octotp.tokens.create(project, email=_email(), send=True)
            run_due(octotp)  # the code's job fails (550), which queues the event, which the next batch sends
            run_due(octotp)
            plans = list(octotp.settings.plans)
            OperatorActions(octotp).set_plan(project, next(p for p in plans if p != "free"), actor=None)
            run_due(octotp)
    finally:
        box.stop()
    events = _events(receiver)
    assert [e["type"] for e in events] == ["delivery.failed", "project.plan_changed"]
    assert events[0]["data"]["tokenId"] == created.id
    assert events[0]["data"]["reason"]
    assert events[1]["data"]["previousPlan"] == "free"


def test_endpoints_refuse_bad_urls_events_and_the_servers_own_network(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp()
    project = octotp.accounts.create_project("Refused").project.id
    for url in (
        "ftp://example.com/x",
        "https://user:pw@example.com/x",
        "https://",
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "https://example.com/" + "a" * 2100,
    ):
        with pytest.raises(InvalidInput) as refused:
            octotp.webhooks.create(project, url)
        assert refused.value.errors[0].field == "url", url
    with pytest.raises(InvalidInput) as refused:
        octotp.webhooks.create(project, "https://hooks.example.com/x", events=["token.created", "token.exploded"])
    assert refused.value.errors[0].field == "events"
    assert "token.exploded" in refused.value.errors[0].reason
    with pytest.raises(NotFound):
        octotp.webhooks.create(str(uuid.uuid4()), "https://hooks.example.com/x")
    assert octotp.webhooks.for_project(project) == []
    endpoint, _ = octotp.webhooks.create(project, "https://hooks.example.com/x")
    with pytest.raises(NotFound):
        octotp.webhooks.get(octotp.accounts.create_project("Another").project.id, endpoint.id)


def test_a_name_that_resolves_to_the_servers_own_network_is_not_called(make_octotp: MakeOctotp) -> None:
    """A host name's addresses are checked again when each request is sent (its DNS may have
    changed since the URL was saved): one that resolves to loopback is never called."""
    octotp = make_octotp()
    run_out_leftover_jobs(octotp)
    project = octotp.accounts.create_project("Resolved").project.id
    endpoint, secret = octotp.webhooks.create(project, "https://hooks.example.com/x", events=["token.created"])
    with running(verified_by(secret)) as receiver:
        # As if hooks.example.com now pointed at this machine: the saved URL names a loopback host.
        local = dataclasses.replace(endpoint, url=receiver.url.replace("127.0.0.1", "localhost"))
        assert octotp.store.update_webhook_endpoint(local)
        octotp.tokens.create(project, email=_email())
        run_due(octotp)
    (job,) = octotp.webhooks.log(project, endpoint.id)
    assert receiver.received == []
    assert (job.state, job.reason) == ("failed", "private_address")


def test_a_create_whose_project_has_no_endpoint_reads_none_after_the_first(make_octotp: MakeOctotp) -> None:
    """A project's endpoints are cached for a few seconds: the create path does not query them per create."""
    octotp = make_octotp()
    project = octotp.accounts.create_project("Cached").project.id
    assert octotp.engine is not None
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "octotp_webhook_endpoints" in statement:
            statements.append(statement)

    event.listen(octotp.engine, "before_cursor_execute", seen)
    try:
        for _ in range(5):
            octotp.tokens.create(project, email=_email())
    finally:
        event.remove(octotp.engine, "before_cursor_execute", seen)
    assert len(statements) == 1
    assert CACHE_SECONDS <= 10  # what the docs promise: a change applies within seconds


def test_a_synchronous_send_tells_delivery_sent_after_created(make_octotp: MakeOctotp) -> None:
    box = Mailbox().start()
    try:
        octotp = _octotp(make_octotp, **box.delivery_settings)
        assert octotp.settings.delivery_mode == "sync"
        heard: list[tuple[str, str | None]] = []
        octotp.tokens.listeners.append(lambda event: heard.append((event.kind, event.token_id)))
        created = octotp.tokens.create(
            octotp.accounts.create_project("Sync events").project.id, email=_email(), send=True
        )
        unsent = octotp.tokens.create(octotp.accounts.create_project("Not sent").project.id, email=_email())
    finally:
        box.stop()
    assert heard == [("created", created.id), ("delivery.sent", created.id), ("created", unsent.id)]
