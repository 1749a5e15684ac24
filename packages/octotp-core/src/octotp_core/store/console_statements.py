"""The console's SQL, written once for both stores (as ``statements`` is for the token path):
accounts' settable fields, sessions per account, team members, invitations, the audit log, and
deleting a project with everything it owns.

Bound parameters follow ``statements``: ``b_*`` for conditions, ``v_*`` for values written, and
select lists in the records' field order (a row becomes its record positionally).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table, bindparam, delete, insert, or_, select, update

from .job_statements import DELETE_PROJECT_JOBS
from .models import (
    AccountRow,
    AuditEventRow,
    DashboardSessionRow,
    IdempotencyKeyRow,
    InvitationRow,
    ProjectMemberRow,
    ProjectRow,
)
from .records import ACCOUNT_SETTABLE, Account, AuditEvent, DashboardSession, Invitation, Member
from .statements import PROJECT_COLUMNS, _b, _columns, _names, _v, _values, api_keys, tokens, usage_daily
from .webhook_statements import DELETE_PROJECT_ENDPOINTS

accounts: Table = AccountRow.__table__  # type: ignore[assignment]
projects: Table = ProjectRow.__table__  # type: ignore[assignment]
sessions: Table = DashboardSessionRow.__table__  # type: ignore[assignment]
members: Table = ProjectMemberRow.__table__  # type: ignore[assignment]
invitations: Table = InvitationRow.__table__  # type: ignore[assignment]
audit_events: Table = AuditEventRow.__table__  # type: ignore[assignment]
idempotency_keys: Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]

_LIMIT = bindparam("b_limit", type_=Integer)
_OFFSET = bindparam("b_offset", type_=Integer)

# -- accounts --------------------------------------------------------------------------------
ACCOUNT_COLUMNS = _columns(accounts, Account)
GET_ACCOUNT_BY_EXTERNAL_ID = select(*ACCOUNT_COLUMNS).where(accounts.c.external_id == _b(accounts, "external_id"))
UPDATE_ACCOUNT = (
    update(accounts).where(accounts.c.id == _b(accounts, "id")).values(_values(accounts, list(ACCOUNT_SETTABLE)))
)


def update_account_params(account: Any) -> dict[str, Any]:
    """The parameters of ``UPDATE_ACCOUNT`` from an ``Account``."""
    return {"b_id": account.id, **_v({name: getattr(account, name) for name in ACCOUNT_SETTABLE})}


# -- sessions --------------------------------------------------------------------------------
SESSION_COLUMNS = _columns(sessions, DashboardSession)
LIST_ACCOUNT_SESSIONS = (
    select(*SESSION_COLUMNS)
    .where(
        sessions.c.account_id == _b(sessions, "account_id"), sessions.c.expires_at > _b(sessions, "now", "expires_at")
    )
    .order_by(sessions.c.created_at.desc(), sessions.c.id_digest)
)
DELETE_OTHER_SESSIONS = delete(sessions).where(
    sessions.c.account_id == _b(sessions, "account_id"), sessions.c.id_digest != _b(sessions, "keep", "id_digest")
)

# -- projects an account can open --------------------------------------------------------------
LIST_ACCOUNT_PROJECTS = (
    select(*PROJECT_COLUMNS)
    .where(
        or_(
            projects.c.owner_id == _b(projects, "account_id", "owner_id"),
            projects.c.id.in_(
                select(members.c.project_id).where(members.c.account_id == _b(members, "member_id", "account_id"))
            ),
        )
    )
    .order_by(projects.c.created_at, projects.c.id)
)
# A project and everything it owns, children first (no database-level cascade is relied on: Django
# creates its foreign keys without ON DELETE), in one transaction.
DELETE_PROJECT = (
    DELETE_PROJECT_JOBS,
    DELETE_PROJECT_ENDPOINTS,
    *(
        delete(table).where(table.c.project_id == _b(table, "project_id"))
        for table in (idempotency_keys, usage_daily, tokens, api_keys, members, invitations)
    ),
    delete(projects).where(projects.c.id == _b(projects, "project_id", "id")),
)

# -- members ---------------------------------------------------------------------------------
MEMBER_COLUMNS = _columns(members, Member)
INSERT_MEMBER = insert(members).values(_values(members, _names(Member)))
GET_MEMBER = select(*MEMBER_COLUMNS).where(
    members.c.project_id == _b(members, "project_id"), members.c.account_id == _b(members, "account_id")
)
LIST_MEMBERS = (
    select(*MEMBER_COLUMNS)
    .where(members.c.project_id == _b(members, "project_id"))
    .order_by(members.c.created_at, members.c.id)
)
SET_MEMBER_ROLE = (
    update(members)
    .where(members.c.project_id == _b(members, "project_id"), members.c.account_id == _b(members, "account_id"))
    .values(role=_b(members, "role"))
)
DELETE_MEMBER = delete(members).where(
    members.c.project_id == _b(members, "project_id"), members.c.account_id == _b(members, "account_id")
)
# Ownership moves only from the owner the caller saw (a conditional update: of two transfers, one wins).
TRANSFER_PROJECT = (
    update(projects)
    .where(
        projects.c.id == _b(projects, "project_id", "id"), projects.c.owner_id == _b(projects, "old_owner", "owner_id")
    )
    .values(owner_id=_b(projects, "new_owner", "owner_id"))
)


def member_params(member: Member) -> dict[str, Any]:
    """The parameters of ``INSERT_MEMBER``."""
    return _v(member.__dict__)


# -- invitations -----------------------------------------------------------------------------
INVITATION_COLUMNS = _columns(invitations, Invitation)
INSERT_INVITATION = insert(invitations).values(_values(invitations, [*_names(Invitation), "token_digest"]))
GET_INVITATION = select(*INVITATION_COLUMNS).where(invitations.c.token_digest == _b(invitations, "token_digest"))
LIST_OPEN_INVITATIONS = (
    select(*INVITATION_COLUMNS)
    .where(
        invitations.c.project_id == _b(invitations, "project_id"),
        invitations.c.accepted_at.is_(None),
        invitations.c.expires_at > _b(invitations, "now", "expires_at"),
    )
    .order_by(invitations.c.created_at, invitations.c.id)
)
# Accepted once: only while open and unexpired (the row count decides, as for tokens).
ACCEPT_INVITATION = (
    update(invitations)
    .where(
        invitations.c.id == _b(invitations, "id"),
        invitations.c.accepted_at.is_(None),
        invitations.c.expires_at > _b(invitations, "now", "expires_at"),
    )
    .values(accepted_at=_b(invitations, "now", "accepted_at"))
)
DELETE_INVITATION = delete(invitations).where(
    invitations.c.id == _b(invitations, "id"), invitations.c.project_id == _b(invitations, "project_id")
)


def invitation_params(invitation: Invitation, token_digest: str) -> dict[str, Any]:
    """The parameters of ``INSERT_INVITATION``."""
    return _v({**invitation.__dict__, "token_digest": token_digest})


# -- audit log -------------------------------------------------------------------------------
AUDIT_COLUMNS = _columns(audit_events, AuditEvent)
INSERT_AUDIT_EVENT = insert(audit_events).values(_values(audit_events, _names(AuditEvent)))
_NEWEST_FIRST = (audit_events.c.at.desc(), audit_events.c.id.desc())
LIST_PROJECT_AUDIT = (
    select(*AUDIT_COLUMNS)
    .where(audit_events.c.project_id == _b(audit_events, "project_id"))
    .order_by(*_NEWEST_FIRST)
    .limit(_LIMIT)
    .offset(_OFFSET)
)
LIST_ACCOUNT_AUDIT = (
    select(*AUDIT_COLUMNS)
    .where(audit_events.c.account_id == _b(audit_events, "account_id"))
    .order_by(*_NEWEST_FIRST)
    .limit(_LIMIT)
    .offset(_OFFSET)
)
LIST_AUDIT = select(*AUDIT_COLUMNS).order_by(*_NEWEST_FIRST).limit(_LIMIT).offset(_OFFSET)


def audit_event_params(event: AuditEvent) -> dict[str, Any]:
    """The parameters of ``INSERT_AUDIT_EVENT``."""
    return _v(event.__dict__)
