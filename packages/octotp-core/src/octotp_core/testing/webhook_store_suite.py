"""Store conformance for event webhooks: a project's endpoints (``octotp_webhook_endpoints``) and
their logs (``kind="webhook"`` jobs), kept to their project, their event kept for a re-send.
Mixed into ``StoreSuite`` (its helper: ``make_project``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from ..store import Job, Project, Store, WebhookEndpoint


def endpoint_for(project: Project, now: dt.datetime, **fields: Any) -> WebhookEndpoint:
    """An enabled endpoint of ``project`` (not yet inserted) receiving every event type."""
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "project_id": project.id,
        "url": "https://hooks.example.com/octotp",
        "secret_sealed": "sealed-stand-in",
        "events": "",
        "enabled": True,
        "created_at": now,
        "description": "",
    }
    values.update(fields)
    return WebhookEndpoint(**values)


def webhook_job(endpoint: WebhookEndpoint, now: dt.datetime, event_type: str = "token.created") -> Job:
    """A queued event webhook for ``endpoint`` (its payload an opaque stand-in)."""
    return Job(
        id=str(uuid.uuid4()),
        kind="webhook",
        project_id=endpoint.project_id,
        token_id=None,
        state="queued",
        attempts=0,
        due_at=now,
        expires_at=now + dt.timedelta(days=1),
        payload="sealed-event",
        created_at=now,
        endpoint_id=endpoint.id,
        event_type=event_type,
    )


class WebhookStoreSuite:
    """The webhook endpoints' store methods, as every store must answer them."""

    make_project: Any

    def test_endpoints_are_stored_listed_and_changed_within_their_project(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        first = endpoint_for(project, now, events="token.created delivery.failed", description="billing")
        second = endpoint_for(project, now + dt.timedelta(seconds=1), enabled=False)
        for endpoint in (first, second, endpoint_for(other, now)):
            store.create_webhook_endpoint(endpoint)
        assert store.list_webhook_endpoints(project.id) == [first, second]
        assert store.get_webhook_endpoint(second.id) == second
        assert store.get_webhook_endpoint(str(uuid.uuid4())) is None
        changed = dataclasses.replace(first, url="https://other.example.com/h", enabled=False, events="")
        assert store.update_webhook_endpoint(changed) is True
        assert store.get_webhook_endpoint(first.id) == changed
        # An endpoint is changed and deleted only through its own project.
        assert store.update_webhook_endpoint(dataclasses.replace(changed, project_id=other.id)) is False
        assert store.delete_webhook_endpoint(first.id, other.id) is False
        assert store.get_webhook_endpoint(first.id) == changed

    def test_an_endpoints_log_is_newest_first_and_goes_with_it(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        endpoint, kept = endpoint_for(project, now), endpoint_for(project, now)
        store.create_webhook_endpoint(endpoint)
        store.create_webhook_endpoint(kept)
        jobs = [webhook_job(endpoint, now + dt.timedelta(seconds=i)) for i in range(3)]
        for job in [*jobs, webhook_job(kept, now)]:
            store.insert_job(job)
        assert [j.id for j in store.list_endpoint_jobs(endpoint.id)] == [j.id for j in reversed(jobs)]
        assert [j.id for j in store.list_endpoint_jobs(endpoint.id, limit=1)] == [jobs[-1].id]
        assert store.list_endpoint_jobs(endpoint.id)[0].event_type == "token.created"
        assert store.delete_webhook_endpoint(endpoint.id, project.id) is True
        assert store.get_webhook_endpoint(endpoint.id) is None
        assert store.list_endpoint_jobs(endpoint.id) == []
        assert all(store.get_job(j.id) is None for j in jobs)
        assert len(store.list_endpoint_jobs(kept.id)) == 1

    def test_a_sent_webhook_keeps_its_event_and_can_be_queued_again(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        endpoint = endpoint_for(project, now)
        store.create_webhook_endpoint(endpoint)
        job = webhook_job(endpoint, now)
        store.insert_job(job)
        assert store.requeue_job(job.id, now, now + dt.timedelta(days=1)) is False  # still queued
        assert store.claim_job(job.id, "w1", now, now + dt.timedelta(seconds=10)) is not None
        assert store.finish_job(job.id, "w1", "failed", reason="http_503") is True
        failed = store.get_job(job.id)
        assert failed is not None
        assert (failed.state, failed.payload, failed.reason) == ("failed", "sealed-event", "http_503")
        later = now + dt.timedelta(hours=2)
        assert store.requeue_job(job.id, later, later + dt.timedelta(days=1)) is True
        again = store.get_job(job.id)
        assert again is not None
        assert (again.state, again.attempts, again.reason, again.due_at, again.payload) == (
            "queued",
            0,
            None,
            later,
            "sealed-event",
        )
        assert again.expires_at == later + dt.timedelta(days=1)

    def test_a_project_goes_with_its_endpoints(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        endpoint = endpoint_for(project, now)
        store.create_webhook_endpoint(endpoint)
        job = webhook_job(endpoint, now)
        store.insert_job(job)
        assert store.delete_project(project.id) is True
        assert store.get_webhook_endpoint(endpoint.id) is None
        assert store.get_job(job.id) is None
