"""``Outbox``: makes a code's delivery job, and sends due jobs: claimed by one worker at a time
(``Store.claim_jobs``), retried with backoff and jitter after a transient failure until the code
expires, stopped at once by a permanent one (``delivery.PermanentFailure``). Nothing is sent after
its code expires, nor for a code that was cancelled or replaced meanwhile.

Once a job's outcome is stored, the listeners are told ``delivery.sent`` or ``delivery.failed``
(``TokenEvent``: the masked recipient and the reason, never the code). With
``Settings.delivery_dispatch`` each new job is also handed to the host's task queue, whose task
sends it with ``send_job``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence

from ..clock import Clock
from ..delivery import DeliveryBackend, Send, plain_send, render
from ..delivery.failure import describe_failure
from ..delivery.outcomes import PermanentFailure
from ..events import notify
from ..ids import is_uuid
from ..projects import message_overrides
from ..settings import Settings
from ..store import Job, NewToken, Store, Token
from ..tokens import EventKind, TokenEvent
from .payload import seal, unseal

log = logging.getLogger("octotp.outbox")

MAX_RETRY_SECONDS = 60.0
MAX_WEBHOOK_RETRY_SECONDS = 3600.0
"""An event webhook waits longer between tries than a code (its endpoint may be down for hours)."""


def backoff(attempt: int, first: float, rng: random.Random | None = None, cap: float = MAX_RETRY_SECONDS) -> float:
    """Seconds before try ``attempt + 1`` after ``attempt`` failed: ``first`` doubling per attempt up
    to ``cap`` (a minute), times a jitter factor in [0.5, 1.5) so that failed jobs do not retry in step."""
    base: float = min(cap, first * 2.0 ** max(0, attempt - 1))
    jitter = (rng or random).random()  # spreading retries out: not a secret
    return base * (0.5 + jitter)


class Outbox:
    """Jobs for one ``Octotp``: ``code_job`` when a token is created, ``run_once`` in a worker."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        backends: Mapping[str, DeliveryBackend],
        secrets: Sequence[bytes],
        listeners: list[Callable[[TokenEvent], None]] | None = None,
    ) -> None:
        """``listeners``: told ``delivery.sent`` / ``delivery.failed`` (``Octotp`` shares the list
        with ``TokenService``, so one listener hears every event)."""
        self.store, self.settings, self.clock, self.backends = store, settings, clock, backends
        self._secrets = list(secrets)
        self.lease = dt.timedelta(seconds=settings.delivery_lease_seconds)
        self.listeners: list[Callable[[TokenEvent], None]] = [] if listeners is None else listeners
        self.after_commit: Callable[[Callable[[], None]], None] = _at_once
        """How ``dispatch`` waits for the create's transaction to commit: at once for core's stores
        (each create commits its own); the Django adapter sets ``transaction.on_commit``, since a
        host's ``atomic()`` block may hold the create's writes until it ends."""
        self._dispatcher: Callable[[str], object] | None = None
        self.send_webhook: Callable[[Job], object] | None = None
        """Sends a claimed ``kind="webhook"`` job (``Octotp`` sets ``WebhookEndpoints.send``)."""
        self.send: Send = plain_send
        """Hands a code's message to its backend (``Octotp`` counts and traces it when metrics or
        tracing are on)."""

    def code_job(
        self, token: NewToken, to: str, code: str, project_name: str, expires_in: int, locale: str | None
    ) -> Job:
        """The job that sends ``token``'s code, to be stored with the token (``insert_token_with_job``).

        The payload holds what only this code has (recipient, code, lifetime, locale). The project's
        message overrides are read when the job is sent (``Project.message_overrides``), not copied
        in: they may be 100 kB of HTML, which would be sealed into every job of the project's (and
        overflow a MySQL TEXT payload); they are not secret; and a template fixed meanwhile applies
        to a job still being retried. A message therefore says what the project set when it is sent
        (at most the code's lifetime after it was made)."""
        job_id = str(uuid.uuid4())
        payload = {"to": to, "code": code, "project": project_name, "expires_in": expires_in, "locale": locale}
        return Job(
            id=job_id,
            kind="code",
            project_id=token.project_id,
            token_id=token.id,
            state="queued",
            attempts=0,
            due_at=token.created_at,
            expires_at=token.expires_at,
            payload=seal(self._secrets[0], job_id, payload),
            created_at=token.created_at,
        )

    # -- a host's task queue (Settings.delivery_dispatch) ------------------------------------
    def dispatch(self, job_id: str) -> None:
        """Hand the job ``job_id`` to ``Settings.delivery_dispatch`` once its create has committed
        (nothing without the setting). Never raises: a dispatch that fails is logged, and the job
        waits in the queue for a polling worker."""
        if self.settings.delivery_dispatch is None:
            return
        self.after_commit(lambda: self._dispatch(job_id))

    def _dispatch(self, job_id: str) -> None:
        try:
            if self._dispatcher is None:
                self._dispatcher = load_dispatch(self.settings.delivery_dispatch or "")
            self._dispatcher(job_id)
        except Exception as exc:
            log.warning("delivery dispatch failed job=%s %s; a polling worker will send it", job_id, type(exc).__name__)

    def send_job(self, job_id: str, worker: str) -> bool:
        """Claim the job ``job_id`` for ``worker`` and send it (what a host's task calls with the id
        ``delivery_dispatch`` handed over; ``worker``: who holds it, e.g. ``worker_name()``). False,
        doing nothing, when the job is not due: already claimed by another worker, waiting for a
        retry, or done, so a task run twice (or racing a polling worker) never sends twice."""
        if not is_uuid(job_id):
            return False
        now = self.clock.now()
        job = self.store.claim_job(job_id, worker, now, now + self.lease)
        if job is None:
            return False
        self._run(job, worker)
        return True

    def run_once(self, worker: str, limit: int = 20) -> int:
        """Claim up to ``limit`` due jobs for ``worker`` and send each while half the lease is left;
        how many were claimed."""
        now = self.clock.now()
        lease_until = now + self.lease
        jobs = self.store.claim_jobs(worker, now, lease_until, limit)
        for done, job in enumerate(jobs):
            # The lease covers the whole batch: a job still unsent when it ends may be claimed by another
            # worker, and sending it here too would send it twice. So a job is only started while half the
            # lease is left; the rest of the batch is claimed again (by any worker) when the lease ends.
            if self.clock.now() >= lease_until - self.lease / 2:
                log.info("outbox lease running out worker=%s: %s claimed jobs left for later", worker, len(jobs) - done)
                break
            self._run(job, worker)
        return len(jobs)

    # -- one job -----------------------------------------------------------------------------
    def _run(self, job: Job, worker: str) -> None:
        if job.kind == "webhook":
            self._run_webhook(job, worker)
            return
        now = self.clock.now()
        token = self.store.get_token(job.token_id) if job.token_id else None
        if now >= job.expires_at:
            self._fail(job, token, worker, "expired")
            return
        if job.kind == "code" and (token is None or token.closed_at is not None):
            self._fail(job, token, worker, "token_closed", close=False)  # cancelled or replaced: never sent
            return
        payload = unseal(self._secrets, job.id, job.payload or "")
        if payload is None or token is None:
            self._fail(job, token, worker, "unreadable")
            return
        # The project's overrides are read now, not sealed into the payload: see ``code_job``.
        project = self.store.get_project(job.project_id)
        message = render(
            token.channel,
            payload["to"],
            payload["code"],
            payload["project"],
            payload["expires_in"],
            payload["locale"],
            overrides=message_overrides(project) if project is not None else None,
        )
        message = dataclasses.replace(message, delivery_id=job.id)  # the same Message-ID on every attempt
        backend = self.backends[token.channel]
        try:
            provider_id = self.send(backend, token.channel, message)
        except PermanentFailure as exc:
            log.warning("delivery failed job=%s token=%s reason=%s", job.id, job.token_id, exc.reason)
            self._fail(job, token, worker, exc.reason)
            return
        except Exception as exc:
            self._retry(job, token, worker, describe_failure(backend, exc), type(exc).__name__)
            return
        sent = self.store.finish_job(
            job.id,
            worker,
            "sent",
            provider_id=provider_id if isinstance(provider_id, str) else None,
            sent_at=self.clock.now(),
        )
        log.info("delivery sent job=%s token=%s attempt=%s recorded=%s", job.id, job.token_id, job.attempts, sent)
        if sent:
            self._tell("delivery.sent", job, token)

    def _run_webhook(self, job: Job, worker: str) -> None:
        """Send one event webhook: ``sent`` on a 2xx, retried with backoff on anything else until the
        job expires, ``failed`` at once for what cannot succeed (``PermanentFailure``)."""
        if self.clock.now() >= job.expires_at or self.send_webhook is None:
            self._fail(job, None, worker, "expired" if self.send_webhook else "no_sender")
            return
        try:
            self.send_webhook(job)
        except PermanentFailure as exc:
            log.warning("webhook failed job=%s endpoint=%s reason=%s", job.id, job.endpoint_id, exc.reason)
            self._fail(job, None, worker, exc.reason)
            return
        except Exception as exc:
            reason = getattr(exc, "reason", None)
            reason = reason if isinstance(reason, str) else type(exc).__name__
            self._retry(job, None, worker, f"endpoint={job.endpoint_id} reason={reason}", reason)
            return
        sent = self.store.finish_job(job.id, worker, "sent", sent_at=self.clock.now())
        log.info("webhook sent job=%s endpoint=%s attempt=%s recorded=%s", job.id, job.endpoint_id, job.attempts, sent)

    def _retry(self, job: Job, token: Token | None, worker: str, described: str, reason: str) -> None:
        cap = MAX_WEBHOOK_RETRY_SECONDS if job.kind == "webhook" else MAX_RETRY_SECONDS
        due = self.clock.now() + dt.timedelta(
            seconds=backoff(job.attempts, self.settings.delivery_retry_seconds, cap=cap)
        )
        if due >= job.expires_at:
            log.warning("delivery failed job=%s token=%s %s; it expires first", job.id, job.token_id, described)
            self._fail(job, token, worker, "expired")
            return
        log.info(
            "delivery will be retried job=%s token=%s attempt=%s %s", job.id, job.token_id, job.attempts, described
        )
        self.store.retry_job(job.id, worker, due, reason[:64])

    def _fail(self, job: Job, token: Token | None, worker: str, reason: str, *, close: bool = True) -> None:
        if not self.store.finish_job(job.id, worker, "failed", reason=reason):
            return  # no longer this worker's job: its new holder tells the outcome
        if close and job.token_id:
            # No usable code is left behind a delivery that failed (as with a synchronous one).
            self.store.close_token(job.token_id, self.clock.now(), "delivery_failed")
        self._tell("delivery.failed", job, token, reason)

    def _tell(self, kind: EventKind, job: Job, token: Token | None, reason: str | None = None) -> None:
        """Tell the listeners a code job's stored outcome: the token's masked recipient, never the code
        (a token purged meanwhile leaves the hint and purpose empty)."""
        if job.kind != "code":
            return
        hint, purpose = (token.recipient_hint, token.purpose) if token is not None else ("", "")
        notify(self.listeners, TokenEvent(kind, job.project_id, job.token_id, hint, purpose, reason=reason))


def _at_once(callback: Callable[[], None]) -> None:
    callback()


def load_dispatch(dotted_path: str) -> Callable[[str], object]:
    """The callable ``Settings.delivery_dispatch`` names (``package.module.function``)."""
    module_name, _, attr = dotted_path.rpartition(".")
    dispatch = getattr(importlib.import_module(module_name), attr)
    if not callable(dispatch):
        raise TypeError(f"delivery_dispatch {dotted_path} is not callable")
    return dispatch  # type: ignore[no-any-return]
