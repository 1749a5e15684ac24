"""The ``Store`` protocol: what the services need from persistence, and nothing more.

Token state changes are conditional single-statement updates whose row count tells whether they
won, so single use holds under any concurrency on any database (no read-then-write).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from ..errors import Conflict
from .purge_store import DEFAULT_PURGE_BATCH_SIZE, OnBatch
from .records import (
    Account,
    ApiKey,
    AuditEvent,
    DashboardSession,
    IdempotencyRecord,
    Invitation,
    Job,
    Member,
    NewToken,
    Project,
    Token,
    TokenFilter,
    UsageDay,
    WebhookEndpoint,
)


class IdempotencyClaimRaced(Conflict):
    """``claim_idempotency_key`` lost its insert to a record that was gone when it read it back
    (released in between): nobody holds the key now, so the caller may claim it again."""

    def __init__(self) -> None:
        super().__init__("the Idempotency-Key was released while it was being claimed; claim it again")


class Store(Protocol):
    """Persistence for accounts, projects, keys, tokens and usage."""

    def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless the database answers."""

    # accounts
    def create_account(self, account: Account) -> None:
        """Insert; raise ``Conflict`` when the email is taken."""

    def get_account(self, account_id: str) -> Account | None: ...

    def get_account_by_email(self, email: str) -> Account | None: ...

    def list_accounts(self) -> list[Account]: ...

    def get_account_by_external_id(self, external_id: str) -> Account | None:
        """The account that stands for the host user with this id (``Account.external_id``), or None."""

    def update_account(self, account: Account) -> bool:
        """Store the account's settable fields (``ACCOUNT_SETTABLE``); False when there is no such account."""

    def list_account_sessions(self, account_id: str, now: dt.datetime) -> list[DashboardSession]:
        """The account's sessions that have not ended by ``now``, newest first."""

    def delete_other_sessions(self, account_id: str, keep_digest: str) -> int:
        """End every session of the account but the one with ``keep_digest``; how many ended."""

    # projects
    def create_project(self, project: Project) -> None: ...

    def get_project(self, project_id: str) -> Project | None: ...

    def list_projects(self, owner_id: str | None = None) -> list[Project]: ...

    def list_account_projects(self, account_id: str) -> list[Project]:
        """The projects the account owns or is a member of, oldest first."""

    def delete_project(self, project_id: str) -> bool:
        """Delete the project with its keys, tokens, usage, idempotency records, members and invitations
        in one transaction; False when there was no such project."""

    def set_project_plan(self, project_id: str, plan: str) -> bool:
        """Change a project's plan; False when there is no such project."""

    def update_project(self, project: Project) -> bool:
        """Store the project's settable fields (owner, name, plan, code length, expiry bounds, phone
        region, deliver-only, validate-requires-key); False when there is no such project."""

    # API keys
    def create_api_key(self, key: ApiKey, digest: str) -> None: ...

    def find_api_key(self, digest: str) -> tuple[ApiKey, Project] | None:
        """The key with this digest and its project (revoked keys included, so callers can tell)."""

    def list_api_keys(self, project_id: str) -> list[ApiKey]: ...

    def revoke_api_key(self, key_id: str, now: dt.datetime) -> bool:
        """Revoke; False when the key does not exist or was already revoked."""

    def touch_api_key(self, key_id: str, now: dt.datetime) -> None:
        """Record ``last_used_at``."""

    # tokens
    def insert_token(self, token: NewToken) -> None:
        """In one transaction: supersede the binding's open tokens and insert this one."""

    def latest_token(self, project_id: str, recipient_digest: str, purpose: str) -> Token | None:
        """The binding's most recently created token, open or not."""

    def get_token(self, token_id: str) -> Token | None: ...

    def list_tokens(
        self,
        project_id: str,
        limit: int = 50,
        offset: int = 0,
        token_filter: TokenFilter | None = None,
        now: dt.datetime | None = None,
    ) -> list[Token]:
        """The project's newest tokens first, ``offset`` rows on, narrowed by ``token_filter`` (its
        state decided at ``now``, as ``token_state`` decides it)."""

    def reserve_attempt(self, token_id: str, now: dt.datetime) -> bool:
        """``attempts += 1`` only if the token is open, unexpired and under its cap; True if it was."""

    def reserve_latest(self, project_id: str, recipient_digest: str, purpose: str, now: dt.datetime) -> Token | None:
        """``reserve_attempt`` on the binding's newest token (one statement where the database allows):
        the token after the reservation, or None when the newest is missing, closed, expired or at its
        cap (the caller then looks closer)."""

    def consume_token(self, token_id: str, now: dt.datetime) -> bool:
        """Close as ``approved`` only if still open; True for exactly one caller."""

    def close_token(self, token_id: str, now: dt.datetime, reason: str, project_id: str | None = None) -> bool:
        """Close an open token (cancel, failed delivery); True if this call closed it."""

    def purge_tokens(
        self,
        expired_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete tokens that expired before the given time, at most ``batch_size`` per transaction
        (``on_batch`` hears each batch's count); return how many."""

    # idempotency keys
    def claim_idempotency_key(
        self, project_id: str, key: str, fingerprint: str, now: dt.datetime
    ) -> IdempotencyRecord | None:
        """Insert an in-progress record; None if this call claimed the key, else the existing record.
        One attempt: raise ``IdempotencyClaimRaced`` when the insert lost to a record that was released
        before it could be read (the caller decides whether to claim again)."""

    def reclaim_idempotency_key(
        self, project_id: str, key: str, expected_token_id: str | None, claimed_before: dt.datetime, now: dt.datetime
    ) -> bool:
        """Take the key over again only if it still holds ``expected_token_id`` (for an in-progress record:
        only if claimed before ``claimed_before``); True for exactly one caller."""

    def complete_idempotency_key(self, project_id: str, key: str, token_id: str, response: str, sent: bool) -> None:
        """Record the outcome of a claimed key."""

    def release_idempotency_key(self, project_id: str, key: str) -> None:
        """Forget a claimed key whose request failed, so a retry runs afresh."""

    def purge_idempotency_keys(
        self,
        claimed_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete records claimed before the given time, in batches as ``purge_tokens``; return how many."""

    # usage
    def add_usage(
        self,
        project_id: str,
        day: dt.date,
        *,
        created: int = 0,
        approved: int = 0,
        failed: int = 0,
        rate_limited: int = 0,
    ) -> None:
        """Add to a project's counters for a day, in one statement (an upsert)."""

    def usage(self, project_id: str, since: dt.date) -> list[UsageDay]:
        """The project's days from ``since`` on, oldest first."""

    # team members (the owner is ``Project.owner_id``)
    def add_member(self, member: Member) -> None:
        """Insert; ``Conflict`` when the account is already a member of the project."""

    def get_member(self, project_id: str, account_id: str) -> Member | None: ...

    def list_members(self, project_id: str) -> list[Member]:
        """The project's members (not its owner), oldest first."""

    def set_member_role(self, project_id: str, account_id: str, role: str) -> bool: ...

    def remove_member(self, project_id: str, account_id: str) -> bool: ...

    def transfer_project(self, project_id: str, old_owner_id: str, new_owner_id: str, now: dt.datetime) -> bool:
        """Make ``new_owner_id`` the owner only while ``old_owner_id`` still is, in one transaction (the
        new owner's membership goes, the old owner stays as an admin); False when the owner changed."""

    # invitations
    def create_invitation(self, invitation: Invitation, token_digest: str) -> None: ...

    def get_invitation(self, token_digest: str) -> Invitation | None:
        """The invitation whose link token has this digest (accepted or expired too: the caller decides)."""

    def list_invitations(self, project_id: str, now: dt.datetime) -> list[Invitation]:
        """The project's invitations neither accepted nor expired at ``now``."""

    def accept_invitation(self, invitation_id: str, now: dt.datetime) -> bool:
        """Mark accepted only if still open and unexpired; True for exactly one caller."""

    def delete_invitation(self, invitation_id: str, project_id: str) -> bool: ...

    # audit log
    def add_audit_event(self, event: AuditEvent) -> None: ...

    def list_audit_events(
        self, *, project_id: str | None = None, account_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[AuditEvent]:
        """Newest first: a project's events, an account's, or (neither given) everyone's."""

    def purge_audit_events(
        self,
        before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete events older than ``before``, in batches as ``purge_tokens``; how many."""

    # dashboard sessions
    def create_session(self, session: DashboardSession) -> None:
        """Insert a dashboard session (its id digest is new: 256 random bits)."""

    def get_session(self, id_digest: str) -> DashboardSession | None:
        """The session with this id digest, expired or not (the caller decides)."""

    def touch_session(self, id_digest: str, last_seen_at: dt.datetime, expires_at: dt.datetime) -> bool:
        """Record activity and the session's new end; False when there is no such session."""

    def set_session_flash(self, id_digest: str, flash: str) -> bool:
        """Store a session's one-shot message (replacing any); False when there is no such session."""

    def take_session_flash(self, id_digest: str, flash: str) -> bool:
        """Clear the session's message only if it is still ``flash`` (a conditional update); True for
        exactly one caller, who may then show it."""

    def delete_session(self, id_digest: str) -> bool:
        """Delete one session (logout, rotation); False when there was none."""

    def delete_account_sessions(self, account_id: str) -> int:
        """Delete every session of an account; return how many."""

    def purge_sessions(
        self,
        expired_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete sessions whose ``expires_at`` is before the given time, in batches as ``purge_tokens``;
        return how many."""

    def purgeable(self, kind: str, before: dt.datetime) -> int:
        """How many rows the purge of ``kind`` (``tokens``, ``jobs``, ``idempotency keys``, ``sessions``,
        ``audit events``) would delete for this cutoff (a progress bar's length)."""

    # the outbox (jobs)
    def insert_token_with_job(self, token: NewToken, job: Job) -> None:
        """Insert the token (superseding its binding's earlier ones) and the job that sends it, in one
        transaction."""

    def insert_job(self, job: Job) -> None:
        """Insert a job of its own: an event webhook, or the record of a code sent synchronously."""

    def get_job(self, job_id: str) -> Job | None: ...

    def get_token_job(self, token_id: str) -> Job | None:
        """The job that sends this token's code, if it was sent through the outbox."""

    def list_token_jobs(self, token_ids: Iterable[str]) -> dict[str, Job]:
        """The jobs that send these tokens' codes, by token id (tokens sent without the outbox have none)."""

    def get_provider_job(self, provider_id: str) -> Job | None:
        """The job whose message the provider knows by this id."""

    def claim_jobs(self, worker: str, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[Job]:
        """Claim up to ``limit`` due jobs for ``worker`` until ``lease_until``: one worker per job,
        whatever the concurrency (conditional updates; ``FOR UPDATE SKIP LOCKED`` where it exists)."""

    def claim_job(self, job_id: str, worker: str, now: dt.datetime, lease_until: dt.datetime) -> Job | None:
        """Claim this one job for ``worker`` until ``lease_until`` if it is due (the conditional update
        of ``claim_jobs``); None when another worker holds it, it waits for a retry, or it is done."""

    def finish_job(
        self,
        job_id: str,
        worker: str,
        state: str,
        *,
        reason: str | None = None,
        provider_id: str | None = None,
        sent_at: dt.datetime | None = None,
    ) -> bool:
        """``sent`` or ``failed`` for a job ``worker`` still holds (payload wiped); False otherwise."""

    def retry_job(self, job_id: str, worker: str, due_at: dt.datetime, reason: str) -> bool:
        """Back in the queue, due at ``due_at``, for a job ``worker`` still holds."""

    def provider_update(
        self, provider_id: str, state: str, *, reason: str | None = None, delivered_at: dt.datetime | None = None
    ) -> bool:
        """What the provider reports about a sent message (``delivered``, or ``failed``): True when the
        job moved on, only ever from ``sent`` (out-of-order and repeated reports change nothing)."""

    def count_open_jobs(self) -> dict[str, int]:
        """How many jobs are ``queued`` and ``sending`` now (both keys always present): the outbox's
        depth, read on each ``/metrics`` scrape."""

    def purge_jobs(
        self,
        expired_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete finished jobs that expired before this instant, in batches as ``purge_tokens``; how many."""

    # -- event webhooks -----------------------------------------------------------------------
    def create_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...

    def list_webhook_endpoints(self, project_id: str) -> list[WebhookEndpoint]:
        """The project's endpoints, oldest first."""

    def update_webhook_endpoint(self, endpoint: WebhookEndpoint) -> bool:
        """Write the endpoint's changeable fields over the stored one of that id and project."""

    def delete_webhook_endpoint(self, endpoint_id: str, project_id: str) -> bool:
        """Delete the project's endpoint and its log; False when there was none."""

    def list_endpoint_jobs(self, endpoint_id: str, limit: int = 50) -> list[Job]:
        """The endpoint's webhook jobs, newest first."""

    def requeue_job(self, job_id: str, due_at: dt.datetime, expires_at: dt.datetime) -> bool:
        """Queue a finished webhook job again (a manual re-send); False for any other job."""
