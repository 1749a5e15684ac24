"""``TokenService``: issuing and checking one-time codes (DESIGN §5).

Single use holds under any concurrency because every state change is a conditional UPDATE whose
row count decides the winner: reserve an attempt (open, unexpired, under the cap), verify the hash,
then consume (still open). No decision is ever taken on a value read earlier.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .clock import Clock
from .codes import generate_code, looks_like_code
from .delivery import DeliveryBackend, Send, plain_send, render
from .delivery.failure import describe_failure
from .errors import DeliveryFailed, FieldError, InvalidInput, NotFound, RateLimited
from .events import notify
from .hashing import CodeHasher
from .ids import is_uuid
from .projects import TokenPolicy, message_overrides, token_policy
from .ratelimit import LimitState, RateLimits
from .recipients import Recipient, recipient_from
from .settings import Settings
from .states import CLOSED_STATES, token_state
from .store import Job, NewToken, Project, Store, Token, UsageDay
from .usage import UsageMeter

if TYPE_CHECKING:
    from .outbox.queue import Outbox

log = logging.getLogger("octotp.tokens")

Status = Literal["approved", "incorrect", "expired", "locked", "not_found"]
EventKind = Literal["created", "approved", "failed", "locked", "delivery.sent", "delivery.delivered", "delivery.failed"]
PURPOSE_PATTERN = r"^[A-Za-z0-9_.:-]{0,64}$"
"""What a purpose may be: up to 64 letters, digits and ``_ . : -`` (``""``, like None, is no purpose).
The OpenAPI document states the same pattern."""
_PURPOSE = re.compile(PURPOSE_PATTERN)
CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class CreatedToken:
    """The result of ``create``. ``code`` is None when the project is deliver-only."""

    id: str
    code: str | None
    expires_at: dt.datetime
    channel: str
    sent: bool
    limit: LimitState | None = None

    def __repr__(self) -> str:  # never show the code in a log or traceback
        return f"CreatedToken(id={self.id!r}, expires_at={self.expires_at.isoformat()!r}, sent={self.sent})"


@dataclass(frozen=True)
class Validation:
    """The result of ``validate``: ``is_valid`` is True only for ``approved``."""

    is_valid: bool
    status: Status


@dataclass(frozen=True)
class TokenEvent:
    """Told to listeners (Flask/Django signals, see ``octotp_core.events``) once the outcome is stored;
    carries no code and no full recipient (``recipient_hint`` is masked).

    ``status``: the validation's status (``failed``, ``locked``, ``approved``). ``reason``: why a
    delivery failed (``delivery.failed``: ``expired``, ``token_closed``, ``unreadable``, the
    backend's ``PermanentFailure`` reason such as ``invalid_recipient``, or ``twilio_<code>`` when
    Twilio reports a sent message failed or undelivered); None otherwise."""

    kind: EventKind
    project_id: str
    token_id: str | None
    recipient_hint: str
    purpose: str
    status: Status | None = None
    reason: str | None = None

    def signal_kwargs(self) -> dict[str, Any]:
        """The keyword arguments every adapter's signals send: the event and each of its fields
        (``reason`` for the delivery events only, so receivers written with the token events' exact
        keywords keep working)."""
        kwargs = {
            "event": self,
            "project_id": self.project_id,
            "token_id": self.token_id,
            "recipient_hint": self.recipient_hint,
            "purpose": self.purpose,
            "status": self.status,
        }
        if self.kind.startswith("delivery."):
            kwargs["reason"] = self.reason
        return kwargs


class TokenService:
    """Creates, validates and cancels tokens for projects."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        hasher: CodeHasher,
        limits: RateLimits,
        clock: Clock,
        secret: bytes,
        backends: dict[str, DeliveryBackend],
        fallback_secrets: list[bytes] | None = None,
        outbox: Outbox | None = None,
        listeners: list[Callable[[TokenEvent], None]] | None = None,
    ) -> None:
        """``outbox``: where ``send`` puts a code's delivery with ``delivery_mode="queue"``;
        ``listeners``: the list told every ``TokenEvent`` (``Octotp`` shares one with its outbox)."""
        self.store, self.settings, self.hasher, self.limits, self.clock = store, settings, hasher, limits, clock
        self.outbox = outbox
        self._secret = secret
        self._fallback_secrets = fallback_secrets or []
        self.backends = backends
        self.send: Send = plain_send  # Octotp counts and traces it when metrics or tracing are on
        self.meter = UsageMeter(store, settings.usage_flush_seconds)
        self.listeners: list[Callable[[TokenEvent], None]] = [] if listeners is None else listeners

    # -- helpers -----------------------------------------------------------------------------
    def _emit(self, event: TokenEvent) -> None:
        # Told after the outcome is stored: a failing listener is logged and cannot change it.
        notify(self.listeners, event)

    def _project(self, project: Project | str) -> Project:
        if isinstance(project, Project):
            return project
        found = self.store.get_project(project) if is_uuid(project) else None
        if found is None:
            raise NotFound(f"no project {project}")
        return found

    @staticmethod
    def _purpose(purpose: str | None) -> str:
        if purpose is None or purpose == "":
            return ""
        if not _PURPOSE.fullmatch(purpose):  # not match(): "$" also matches before a final newline
            raise InvalidInput(FieldError("purpose", "must be 1-64 characters of letters, digits and _ . : -"))
        return purpose

    # -- create ------------------------------------------------------------------------------
    def create(
        self,
        project: Project | str,
        *,
        email: str | None = None,
        phone: str | None = None,
        expires_in: int | None = None,
        purpose: str | None = None,
        send: bool = False,
        channel: str | None = None,
        locale: str | None = None,
    ) -> CreatedToken:
        """Issue a code for (project, recipient, purpose), superseding any earlier one.

        Raises ``InvalidInput``, ``RateLimited`` (plan limit or the recipient's send budget; checked
        before any hashing), ``DeliveryFailed`` (no usable code is left behind) or ``NotFound``.
        """
        project = self._project(project)
        # Within the operator's bounds whatever the project row holds, so no stored value can overflow
        # the expiry arithmetic below or ask for an impossible code length.
        policy = token_policy(project, self.settings)
        expires_in = self._expiry(policy, expires_in)
        purpose_value = self._purpose(purpose)
        recipient = self._recipient(project, email, phone, channel)
        send = send or project.deliver_only
        digest = recipient.digest(self._secret)
        now = self.clock.now()

        plan = self.settings.plans.get(project.plan) or self.settings.plans[self.settings.default_plan]
        try:
            # A refused create spends neither the plan nor the recipient's budget (see admit_create).
            limit = self.limits.admit_create(project.id, plan.creates_per_minute, digest)
        except RateLimited:
            self.meter.count(project.id, now.date(), "rate_limited")
            log.info("token create rate limited project=%s recipient=%s", project.id, recipient.hint)
            raise

        code = generate_code(policy.code_length)
        token = NewToken(
            id=str(uuid.uuid4()),
            project_id=project.id,
            recipient_digest=digest,
            recipient_hint=recipient.hint,
            channel=recipient.channel,
            purpose=purpose_value,
            code_hash=self.hasher.hash(code),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=expires_in),
            max_attempts=self.settings.max_attempts,
        )
        queued = send and self.outbox is not None and self.settings.delivery_mode == "queue"
        if queued:
            assert self.outbox is not None
            job = self.outbox.code_job(token, recipient.value, code, project.name, expires_in, locale)
            self.store.insert_token_with_job(token, job)  # one transaction: the outbox
        else:
            self.store.insert_token(token)
        self.meter.count(project.id, now.date(), "created")
        if send and not queued:
            self._deliver(token, recipient, code, project, expires_in, locale)
        log.info("token created id=%s project=%s recipient=%s sent=%s", token.id, project.id, recipient.hint, send)
        self._emit(TokenEvent("created", project.id, token.id, recipient.hint, purpose_value))
        if send and not queued:  # sent in this request (a failure raised DeliveryFailed above)
            self._emit(TokenEvent("delivery.sent", project.id, token.id, recipient.hint, purpose_value))
        if queued:
            # To the host's task queue, if it has one (delivery_dispatch): after "created" is told, so
            # listeners hear a code's events in order even when the task runs in this process.
            assert self.outbox is not None
            self.outbox.dispatch(job.id)
        return CreatedToken(
            token.id, None if project.deliver_only else code, token.expires_at, token.channel, send, limit
        )

    @staticmethod
    def _expiry(policy: TokenPolicy, expires_in: int | None) -> int:
        """The requested lifetime, or the project's default; ``InvalidInput`` outside the bounds."""
        low, high = policy.expiry_min, policy.expiry_max
        if expires_in is None:
            return policy.expiry_default
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not low <= expires_in <= high:
            raise InvalidInput(FieldError("expires_in", f"must be an integer from {low} to {high} seconds"))
        return expires_in

    def _recipient(self, project: Project, email: str | None, phone: str | None, channel: str | None) -> Recipient:
        """The normalised recipient, checked against the requested channel."""
        recipient = recipient_from(email, phone, project.default_phone_region or self.settings.default_phone_region)
        if channel is not None and channel != recipient.channel:
            if channel not in CHANNELS:
                raise InvalidInput(FieldError("channel", f"must be one of {', '.join(CHANNELS)}"))
            raise InvalidInput(FieldError("channel", f"{channel} cannot reach a {recipient.kind} recipient"))
        return recipient

    def _deliver(
        self, token: NewToken, recipient: Recipient, code: str, project: Project, expires_in: int, locale: str | None
    ) -> None:
        overrides = message_overrides(project)
        message = render(
            recipient.channel, recipient.value, code, project.name, expires_in, locale, overrides=overrides
        )
        backend = self.backends[recipient.channel]
        try:
            provider_id = self.send(backend, recipient.channel, message)
        except Exception as exc:
            self.store.close_token(token.id, self.clock.now(), "delivery_failed")
            log.warning(
                "delivery failed id=%s channel=%s %s", token.id, recipient.channel, describe_failure(backend, exc)
            )
            raise DeliveryFailed(f"the {recipient.channel} could not be delivered; no code was issued") from None
        self._record_sent(token, provider_id if isinstance(provider_id, str) else None)

    def _record_sent(self, token: NewToken, provider_id: str | None) -> None:
        """Store a synchronous send as a finished job, as the outbox would have left it (``sent``, one
        attempt, no payload), so the API's ``delivery``, the dashboard and the provider's status
        callbacks (which name ``provider_id``) work in sync mode too. The message is already out: a
        store that fails here is logged, and the create still succeeds."""
        now = self.clock.now()
        job = Job(
            id=str(uuid.uuid4()),
            kind="code",
            project_id=token.project_id,
            token_id=token.id,
            state="sent",
            attempts=1,
            due_at=now,
            expires_at=token.expires_at,
            payload=None,
            created_at=token.created_at,
            provider_id=provider_id,
            sent_at=now,
        )
        try:
            self.store.insert_job(job)
        except Exception as exc:
            log.warning("delivery sent but not recorded id=%s %s", token.id, type(exc).__name__)

    # -- validate ----------------------------------------------------------------------------
    def validate(
        self,
        project: Project | str,
        *,
        code: str,
        email: str | None = None,
        phone: str | None = None,
        purpose: str | None = None,
    ) -> Validation:
        """Check a code. ``approved`` happens at most once per token, whatever the concurrency."""
        project = self._project(project)
        purpose_value = self._purpose(purpose)
        recipient = recipient_from(email, phone, project.default_phone_region or self.settings.default_phone_region)
        if not isinstance(code, str) or not looks_like_code(code):
            raise InvalidInput(FieldError("code", "must be a string of 4-10 digits"))
        now = self.clock.now()
        digest = budget_digest = recipient.digest(self._secret)
        # The failure budget is spent before the code is checked, so concurrent guesses can never
        # pass it; the entry is given back below unless the code was checked and wrong. It is kept
        # under the current secret's digest whatever secret finds the token.
        spent = self.limits.spend_failure(project.id, budget_digest)
        if spent is None:
            return self._result(project.id, None, recipient, purpose_value, "locked", now)
        wrong = False
        try:
            # The usual case in one statement; anything else (no token, closed, expired, locked,
            # issued under an older secret, or replaced just now) takes the closer look below.
            token = self.store.reserve_latest(project.id, digest, purpose_value, now)
            if token is None:
                token, digest = self._find(project.id, recipient, purpose_value)
                if token is None:
                    return self._result(project.id, None, recipient, purpose_value, "not_found", now)
                if not self.store.reserve_attempt(token.id, now):
                    status = self._why_closed(token.id, now)
                    return self._result(project.id, token.id, recipient, purpose_value, status, now)
            if not self.hasher.verify(token.code_hash, code):
                wrong = True
                return self._result(project.id, token.id, recipient, purpose_value, "incorrect", now)
            if not self.store.consume_token(token.id, now):
                # Someone else approved it between our reservation and now.
                return self._result(project.id, token.id, recipient, purpose_value, "not_found", now)
        finally:
            if not wrong:
                self.limits.refund_failure(project.id, budget_digest, spent)
        self.meter.count(project.id, now.date(), "approved")
        log.info("token approved id=%s project=%s recipient=%s", token.id, project.id, recipient.hint)
        self._emit(TokenEvent("approved", project.id, token.id, recipient.hint, purpose_value, "approved"))
        return Validation(True, "approved")

    def _find(self, project_id: str, recipient: Recipient, purpose: str) -> tuple[Token | None, str]:
        digest = recipient.digest(self._secret)
        token = self.store.latest_token(project_id, digest, purpose)
        for old_secret in self._fallback_secrets:  # tokens issued just before a secret rotation
            if token is not None:
                break
            digest = recipient.digest(old_secret)
            token = self.store.latest_token(project_id, digest, purpose)
        return token, digest

    def _why_closed(self, token_id: str, now: dt.datetime) -> Status:
        """The verdict for a token whose attempt could not be reserved, read from its state."""
        token = self.store.get_token(token_id)
        state = "superseded" if token is None else token_state(token, now)
        if state in CLOSED_STATES:
            return "not_found"
        return "expired" if state == "expired" else "locked"

    def _result(
        self,
        project_id: str,
        token_id: str | None,
        recipient: Recipient,
        purpose: str,
        status: Status,
        now: dt.datetime,
    ) -> Validation:
        self.meter.count(project_id, now.date(), "failed")
        log.info(
            "token validation failed id=%s project=%s recipient=%s status=%s",
            token_id,
            project_id,
            recipient.hint,
            status,
        )
        self._emit(
            TokenEvent(
                "locked" if status == "locked" else "failed", project_id, token_id, recipient.hint, purpose, status
            )
        )
        return Validation(False, status)

    # -- usage -------------------------------------------------------------------------------
    def usage(self, project_id: str, since: dt.date) -> list[UsageDay]:
        """The project's daily counters from ``since`` on, including what this process has not written yet."""
        self.meter.flush()
        return self.store.usage(project_id, since)

    # -- read, cancel and purge --------------------------------------------------------------
    def recipient_digest(self, project: Project | str, *, email: str | None = None, phone: str | None = None) -> str:
        """The digest the project's tokens are stored under for this recipient, normalised exactly as
        ``create`` and ``validate`` normalise it (a phone number in the project's default region), so a
        search by a recipient typed in full finds their tokens without anything kept in clear.
        ``InvalidInput`` (field ``email`` or ``phone``) when it does not parse."""
        project = self._project(project)
        recipient = recipient_from(email, phone, project.default_phone_region or self.settings.default_phone_region)
        return recipient.digest(self._secret)

    def get(self, project: Project | str, token_id: str) -> Token:
        """The project's token ``token_id`` in any state (its state: ``octotp_core.states.token_state``);
        ``NotFound`` when the project has no such token (or it was purged)."""
        project = self._project(project)
        # Stored lower-case: an id in capitals finds its token on every database alike.
        token = self.store.get_token(token_id.lower()) if is_uuid(token_id) else None
        if token is None or token.project_id != project.id:
            raise NotFound(f"no token {token_id} in this project")
        return token

    def cancel(self, project: Project | str, token_id: str) -> None:
        """Close an open token so it can no longer be approved. Idempotent: cancelling a cancelled token
        succeeds again. ``NotFound`` when the project has no such token, or it was used or replaced."""
        project = self._project(project)
        stored_id = token_id.lower() if is_uuid(token_id) else None  # as ``get``
        if stored_id and self.store.close_token(stored_id, self.clock.now(), "cancelled", project.id):
            log.info("token cancelled id=%s project=%s", stored_id, project.id)
            return
        token = self.store.get_token(stored_id) if stored_id else None
        if token is None or token.project_id != project.id or token.closed_reason != "cancelled":
            raise NotFound(f"no open token {token_id} in this project")

    def purge(self, grace_seconds: int = 0) -> int:
        """Delete tokens that expired more than ``grace_seconds`` ago, their finished jobs, and the
        idempotency records past their window (the cutoffs ``octotp_core.purge`` decides for ``octotp
        purge``, which deletes sessions and audit events too); return how many tokens."""
        from .purge import purge_cutoffs  # purge imports the store and HTTP modules, which import this one

        cutoffs = purge_cutoffs(self.settings, self.clock.now(), grace_seconds)
        size = self.settings.purge_batch_size
        self.store.purge_idempotency_keys(cutoffs["idempotency keys"], batch_size=size)
        self.store.purge_jobs(cutoffs["jobs"], batch_size=size)  # finished ones, with their tokens
        return self.store.purge_tokens(cutoffs["tokens"], batch_size=size)
