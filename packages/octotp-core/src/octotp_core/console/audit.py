"""The audit log: who did what and when, per project and per account.

Every event is written by octotp itself from a fixed vocabulary (``ACTIONS``) and a short detail
it composes (a key's name and prefix, a role, a plan): never a secret, a code, a password, a token
or session id, or a full recipient. Events older than ``audit_retention_days`` are deleted by
``AuditLog.purge`` (``octotp purge``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import secrets
import time

from ..clock import Clock
from ..settings import Settings
from ..store import Account, AuditEvent, Store

log = logging.getLogger("octotp.audit")

ACTIONS: dict[str, str] = {
    "account.signed_up": "signed up",
    "account.verified": "verified the email address",
    "account.sign_in": "signed in",
    "account.sign_in_failed": "failed to sign in",
    "account.password_changed": "changed the password",
    "account.password_reset": "reset the password",
    "account.sessions_ended": "signed out other sessions",
    "account.disabled": "disabled the account",
    "account.enabled": "enabled the account",
    "account.operator_granted": "made the account an operator",
    "account.operator_revoked": "removed the account's operator role",
    "project.created": "created the project",
    "project.settings_changed": "changed the project's settings",
    "project.messages_changed": "changed the project's messages",
    "project.plan_changed": "changed the plan",
    "project.suspended": "suspended the project",
    "project.resumed": "resumed the project",
    "project.deleted": "deleted the project",
    "project.ownership_transferred": "transferred ownership",
    "key.created": "created an API key",
    "key.revoked": "revoked an API key",
    "member.invited": "invited a member",
    "member.invitation_cancelled": "cancelled an invitation",
    "member.joined": "joined the project",
    "member.removed": "removed a member",
    "member.role_changed": "changed a member's role",
    "webhook.created": "added a webhook endpoint",
    "webhook.changed": "changed a webhook endpoint",
    "webhook.secret_rotated": "rotated a webhook endpoint's secret",
    "webhook.deleted": "deleted a webhook endpoint",
    "webhook.resent": "re-sent a webhook message",
}
"""Every action the log records, with how a page says it."""

DETAIL_LENGTH = 500
_SEQUENCE = itertools.count()


def _ordered_id() -> str:
    """A 36-character id that grows with time and, within one process, with every event, so events
    of the same instant (a frozen test clock, a busy second) still list in the order they happened."""
    return f"{time.time_ns():020d}-{next(_SEQUENCE) % 10**6:06d}-{secrets.token_hex(4)}"


CLI_ACTOR = "operator (CLI)"


class AuditLog:
    """Records and reads audit events in the store."""

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store, self.settings, self.clock = store, settings, clock

    def record(
        self,
        action: str,
        *,
        actor: Account | None,
        project_id: str | None = None,
        account_id: str | None = None,
        detail: str = "",
        address: str | None = None,
        actor_label: str | None = None,
    ) -> AuditEvent:
        """Write one event. ``account_id`` is whose account log it belongs to (default: the actor's);
        ``actor_label`` names an actor that is not an octotp account (default: the actor's email, or
        ``operator (CLI)``)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        event = AuditEvent(
            id=_ordered_id(),
            at=self.clock.now(),
            action=action,
            actor_id=actor.id if actor else None,
            actor=(actor_label or (actor.email if actor else CLI_ACTOR))[:320],
            project_id=project_id,
            account_id=account_id or (actor.id if actor else None),
            detail=detail[:DETAIL_LENGTH],
            address=(address or None) and address[:64],
        )
        self.store.add_audit_event(event)
        return event

    def for_project(self, project_id: str, limit: int = 50, offset: int = 0) -> list[AuditEvent]:
        """The project's events, newest first."""
        return self.store.list_audit_events(project_id=project_id, limit=limit, offset=offset)

    def for_account(self, account_id: str, limit: int = 50, offset: int = 0) -> list[AuditEvent]:
        """The account's events (its own actions and those done to it), newest first."""
        return self.store.list_audit_events(account_id=account_id, limit=limit, offset=offset)

    def purge(self) -> int:
        """Delete events older than ``audit_retention_days``; how many."""
        before = self.clock.now() - dt.timedelta(days=self.settings.audit_retention_days)
        return self.store.purge_audit_events(before, batch_size=self.settings.purge_batch_size)


def describe(event: AuditEvent) -> str:
    """How a page says what happened ("created an API key: ci (octotp_AbCd…)")."""
    said = ACTIONS.get(event.action, event.action)
    return f"{said}: {event.detail}" if event.detail else said
