"""``WebhookEndpoints``: a project's event webhook endpoints, and the jobs that send them events.

An event (``token.created``, ``delivery.failed``, ``project.plan_changed``...) becomes one
``kind="webhook"`` job per enabled endpoint of its project that takes its type, sent by the outbox's
workers like a code's delivery: claimed by one worker at a time, retried with backoff (up to an
hour between tries) for ``Settings.webhook_retry_seconds`` until the endpoint answers 2xx. A job's id
is its ``webhook-id``, the same on every retry and on a manual re-send, so a receiver can drop
repeats. The job keeps its event (masked, never a code) until it is purged, as the endpoint's
delivery log, so a failed one can be sent again (``resend``).

Endpoints are read per event from a short per-process cache (``CACHE_SECONDS``): a create whose
project has no endpoint costs no query, and a change made in another process applies within
seconds. Each endpoint has its own ``whsec_`` secret, stored sealed with the server secret and
shown once (``create``, ``rotate_secret``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ..clock import Clock
from ..delivery.outcomes import PermanentFailure
from ..errors import FieldError, InvalidInput, NotFound
from ..ids import is_uuid
from ..outbox.payload import seal, unseal
from ..settings import Settings
from ..store import Job, Store, WebhookEndpoint
from .events import EVENT_TYPES, WebhookEvent, from_token_event
from .sender import post_event, url_problem
from .signing import new_secret

if TYPE_CHECKING:
    from ..tokens import TokenEvent

log = logging.getLogger("octotp.webhooks")

CACHE_SECONDS = 5.0
"""How long a process trusts the endpoints it read for a project."""
MAX_ENDPOINTS = 10
"""Endpoints one project may have."""
MAX_DESCRIPTION = 200


class WebhookEndpoints:
    """The endpoints of every project, for one ``Octotp`` (``octotp.webhooks``)."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, secrets: Sequence[bytes]) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self._secrets = list(secrets)
        self._cache: dict[str, tuple[float, list[WebhookEndpoint]]] = {}
        self._lock = threading.Lock()
        self.dispatch: Callable[[str], None] | None = None
        """Set by ``Octotp``: the outbox's ``dispatch`` (a new job to the host's task queue)."""

    # -- managing endpoints ----------------------------------------------------------------------
    def create(
        self, project_id: str, url: str, events: Iterable[str] = (), description: str = ""
    ) -> tuple[WebhookEndpoint, str]:
        """A new enabled endpoint of the project receiving ``events`` (empty: every type), and its
        signing secret, shown this once. ``InvalidInput`` names the field that is wrong."""
        self._get_project(project_id)
        if len(self.store.list_webhook_endpoints(project_id)) >= MAX_ENDPOINTS:
            raise InvalidInput(FieldError("url", f"a project can have at most {MAX_ENDPOINTS} webhook endpoints"))
        endpoint_id = str(uuid.uuid4())
        secret = new_secret()
        endpoint = WebhookEndpoint(
            id=endpoint_id,
            project_id=project_id,
            url=self._checked_url(url),
            secret_sealed=self._seal(endpoint_id, secret),
            events=_checked_events(events),
            enabled=True,
            created_at=self.clock.now(),
            description=_checked_description(description),
        )
        self.store.create_webhook_endpoint(endpoint)
        self._forget(project_id)
        log.info("webhook endpoint created project=%s endpoint=%s", project_id, endpoint_id)
        return endpoint, secret

    def for_project(self, project_id: str) -> list[WebhookEndpoint]:
        """The project's endpoints, oldest first."""
        return self.store.list_webhook_endpoints(project_id)

    def get(self, project_id: str, endpoint_id: str) -> WebhookEndpoint:
        """The project's endpoint ``endpoint_id``; ``NotFound`` when the project has no such endpoint."""
        endpoint = self.store.get_webhook_endpoint(endpoint_id) if is_uuid(endpoint_id) else None
        if endpoint is None or endpoint.project_id != project_id:
            raise NotFound("no such webhook endpoint")
        return endpoint

    def update(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Iterable[str] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> WebhookEndpoint:
        """Change what is given; the endpoint as stored."""
        endpoint = self.get(project_id, endpoint_id)
        changes: dict[str, object] = {}
        if url is not None:
            changes["url"] = self._checked_url(url)
        if events is not None:
            changes["events"] = _checked_events(events)
        if enabled is not None:
            changes["enabled"] = bool(enabled)
        if description is not None:
            changes["description"] = _checked_description(description)
        changed = dataclasses.replace(endpoint, **changes)  # type: ignore[arg-type]
        if not self.store.update_webhook_endpoint(changed):
            raise NotFound("no such webhook endpoint")
        self._forget(project_id)
        return changed

    def rotate_secret(self, project_id: str, endpoint_id: str) -> str:
        """A new signing secret for the endpoint, shown this once; the old one stops signing at once."""
        endpoint = self.get(project_id, endpoint_id)
        secret = new_secret()
        if not self.store.update_webhook_endpoint(
            dataclasses.replace(endpoint, secret_sealed=self._seal(endpoint.id, secret))
        ):
            raise NotFound("no such webhook endpoint")
        self._forget(project_id)
        log.info("webhook endpoint secret rotated project=%s endpoint=%s", project_id, endpoint_id)
        return secret

    def delete(self, project_id: str, endpoint_id: str) -> None:
        """Delete the endpoint and its log (jobs still queued for it are never sent)."""
        self.get(project_id, endpoint_id)
        self.store.delete_webhook_endpoint(endpoint_id, project_id)
        self._forget(project_id)

    def log(self, project_id: str, endpoint_id: str, limit: int = 50) -> list[Job]:
        """What was sent to the endpoint, newest first (state, attempts, reason, sent_at)."""
        self.get(project_id, endpoint_id)
        return self.store.list_endpoint_jobs(endpoint_id, limit)

    def resend(self, project_id: str, job_id: str) -> Job:
        """Send a finished event again (the same ``webhook-id``), retried as a new one would be;
        ``NotFound`` for a job that is not the project's, or is still being sent."""
        job = self.store.get_job(job_id) if is_uuid(job_id) else None
        if job is None or job.project_id != project_id or job.kind != "webhook":
            raise NotFound("no such webhook message")
        now = self.clock.now()
        if not self.store.requeue_job(job.id, now, now + dt.timedelta(seconds=self.settings.webhook_retry_seconds)):
            raise NotFound("this webhook message is still being sent")
        self._dispatch(job.id)
        log.info("webhook re-sent project=%s job=%s", project_id, job.id)
        queued = self.store.get_job(job.id)
        return queued if queued is not None else job

    # -- events ----------------------------------------------------------------------------------
    def on_token_event(self, event: TokenEvent) -> None:
        """A ``TokenService``/outbox listener: each token and delivery event to the project's endpoints."""
        self.emit(event.project_id, from_token_event(event, self.clock.now()))

    def emit(self, project_id: str, event: WebhookEvent) -> list[Job]:
        """Queue ``event`` for every enabled endpoint of the project that takes its type; the jobs."""
        endpoints = [e for e in self._endpoints(project_id) if e.enabled and _takes(e, event.type)]
        if not endpoints:
            return []
        now = self.clock.now()
        body = event.body().decode()
        jobs = []
        for endpoint in endpoints:
            job_id = str(uuid.uuid4())
            job = Job(
                id=job_id,
                kind="webhook",
                project_id=project_id,
                token_id=None,
                state="queued",
                attempts=0,
                due_at=now,
                expires_at=now + dt.timedelta(seconds=self.settings.webhook_retry_seconds),
                payload=seal(self._secrets[0], job_id, {"body": body}),
                created_at=now,
                endpoint_id=endpoint.id,
                event_type=event.type,
            )
            self.store.insert_job(job)
            self._dispatch(job.id)
            jobs.append(job)
        return jobs

    def send(self, job: Job) -> int:
        """Send one claimed webhook job (what the outbox's worker calls); the endpoint's 2xx status.
        Raises ``PermanentFailure`` when it can never be sent (its endpoint deleted or disabled,
        its payload unreadable, a private address, 410 Gone), anything else to be retried."""
        endpoint = self.store.get_webhook_endpoint(job.endpoint_id or "")
        if endpoint is None:
            raise PermanentFailure("endpoint_deleted")
        if not endpoint.enabled:
            raise PermanentFailure("endpoint_disabled")
        payload = unseal(self._secrets, job.id, job.payload or "")
        secret = unseal(self._secrets, endpoint.id, endpoint.secret_sealed)
        if payload is None or secret is None or not isinstance(payload.get("body"), str):
            raise PermanentFailure("unreadable")
        return post_event(
            endpoint.url,
            str(secret["secret"]),
            payload["body"].encode(),
            message_id=job.id,
            now=self.clock.now(),
            timeout=self.settings.webhook_timeout_seconds,
            private_allowed=self.settings.webhook_private_addresses,
        )

    # -- server secret rotation --------------------------------------------------------------------
    def reseal_secrets(self) -> tuple[int, int]:
        """Re-seal, under the current server secret, every endpoint signing secret sealed under a
        fallback (``octotp secret rotate`` and ``retire``): endpoints live longer than any fallback
        is kept. Returns (re-sealed, still unreadable: sealed under a secret no longer known)."""
        resealed = unreadable = 0
        for project in self.store.list_projects():
            for endpoint in self.store.list_webhook_endpoints(project.id):
                if unseal(self._secrets[:1], endpoint.id, endpoint.secret_sealed) is not None:
                    continue
                opened = unseal(self._secrets, endpoint.id, endpoint.secret_sealed)
                if opened is None:
                    unreadable += 1
                    continue
                sealed = self._seal(endpoint.id, str(opened["secret"]))
                self.store.update_webhook_endpoint(dataclasses.replace(endpoint, secret_sealed=sealed))
                self._forget(project.id)
                resealed += 1
        if resealed:
            log.info("webhook endpoint secrets re-sealed under the current server secret count=%d", resealed)
        return resealed, unreadable

    # -- internals -------------------------------------------------------------------------------
    def _endpoints(self, project_id: str) -> list[WebhookEndpoint]:
        now = time.monotonic()
        cached = self._cache.get(project_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        endpoints = self.store.list_webhook_endpoints(project_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[project_id] = (now + CACHE_SECONDS, endpoints)
        return endpoints

    def _forget(self, project_id: str) -> None:
        self._cache.pop(project_id, None)

    def _dispatch(self, job_id: str) -> None:
        if self.dispatch is not None:
            self.dispatch(job_id)

    def _seal(self, endpoint_id: str, secret: str) -> str:
        return seal(self._secrets[0], endpoint_id, {"secret": secret})

    def _get_project(self, project_id: str) -> None:
        if not is_uuid(project_id) or self.store.get_project(project_id) is None:
            raise NotFound("no such project")

    def _checked_url(self, url: str) -> str:
        url = url.strip()
        problem = url_problem(url, private_allowed=self.settings.webhook_private_addresses)
        if problem is not None:
            raise InvalidInput(FieldError("url", problem))
        return url


def _takes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.events or event_type in endpoint.events.split()


def _checked_events(events: Iterable[str]) -> str:
    chosen = list(dict.fromkeys(e.strip() for e in events if e.strip()))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        allowed = ", ".join(EVENT_TYPES)
        raise InvalidInput(FieldError("events", f"unknown event type {unknown[0][:40]!r}; choose from {allowed}"))
    return " ".join(chosen)


def _checked_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(FieldError("description", f"must be at most {MAX_DESCRIPTION} characters"))
    return description
