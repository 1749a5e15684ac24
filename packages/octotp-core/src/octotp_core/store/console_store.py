"""The console's store methods, written once on four primitives each store provides (run one
statement, read rows, insert or ``Conflict``, run several statements in one transaction), so the
SQLAlchemy and the Django store answer alike from the same statements (``console_statements``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from . import console_statements as cs
from . import statements as sql
from .records import Account, AuditEvent, DashboardSession, Invitation, Member, Project, Token, TokenFilter
from .runner import StatementRunner, Step


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ConsoleStoreMixin(StatementRunner):
    """Accounts' settable fields, sessions per account, members, invitations, the audit log, project
    deletion and the filtered token list. A store class mixes this in and defines the primitives."""

    # -- accounts ----------------------------------------------------------------------------
    def update_account(self, account: Account) -> bool:
        """Store the account's settable fields (``ACCOUNT_SETTABLE``); False when there is no such account."""
        return self._run_write(cs.UPDATE_ACCOUNT, cs.update_account_params(account)) == 1

    def get_account_by_external_id(self, external_id: str) -> Account | None:
        """The account that stands for the host user with this id (``Account.external_id``), or None."""
        rows = self._run_rows(cs.GET_ACCOUNT_BY_EXTERNAL_ID, {"b_external_id": external_id})
        return Account(*rows[0]) if rows else None

    def list_account_sessions(self, account_id: str, now: dt.datetime) -> list[DashboardSession]:
        """The account's sessions that have not ended by ``now``, newest first."""
        rows = self._run_rows(cs.LIST_ACCOUNT_SESSIONS, {"b_account_id": account_id, "b_now": now})
        return [DashboardSession(*r) for r in rows]

    def delete_other_sessions(self, account_id: str, keep_digest: str) -> int:
        """End every session of the account but the one with ``keep_digest``; how many ended."""
        return self._run_write(cs.DELETE_OTHER_SESSIONS, {"b_account_id": account_id, "b_keep": keep_digest})

    # -- projects ----------------------------------------------------------------------------
    def list_account_projects(self, account_id: str) -> list[Project]:
        """The projects the account owns or is a member of, oldest first."""
        rows = self._run_rows(cs.LIST_ACCOUNT_PROJECTS, {"b_account_id": account_id, "b_member_id": account_id})
        return [Project(*r) for r in rows]

    def delete_project(self, project_id: str) -> bool:
        """Delete the project with its keys, tokens, usage, idempotency records, members and invitations
        in one transaction; False when there was no such project."""
        steps = [(statement, {"b_project_id": project_id}) for statement in cs.DELETE_PROJECT]
        counts = self._run_transaction(steps)
        return counts is not None and counts[-1] == 1

    def list_tokens(
        self,
        project_id: str,
        limit: int = 50,
        offset: int = 0,
        token_filter: TokenFilter | None = None,
        now: dt.datetime | None = None,
    ) -> list[Token]:
        """The project's tokens newest first, ``offset`` rows on, narrowed by ``token_filter`` (its state
        decided at ``now``)."""
        statement, params = sql.list_tokens_params(project_id, limit, offset, token_filter, now or _now())
        return [Token(*r) for r in self._run_rows(statement, params)]

    # -- members -----------------------------------------------------------------------------
    def add_member(self, member: Member) -> None:
        """Insert; ``Conflict`` when the account is already a member of the project."""
        self._run_insert(cs.INSERT_MEMBER, cs.member_params(member), "already a member of this project")

    def get_member(self, project_id: str, account_id: str) -> Member | None:
        rows = self._run_rows(cs.GET_MEMBER, {"b_project_id": project_id, "b_account_id": account_id})
        return Member(*rows[0]) if rows else None

    def list_members(self, project_id: str) -> list[Member]:
        """The project's members (not its owner), oldest first."""
        return [Member(*r) for r in self._run_rows(cs.LIST_MEMBERS, {"b_project_id": project_id})]

    def set_member_role(self, project_id: str, account_id: str, role: str) -> bool:
        params = {"b_project_id": project_id, "b_account_id": account_id, "b_role": role}
        return self._run_write(cs.SET_MEMBER_ROLE, params) == 1

    def remove_member(self, project_id: str, account_id: str) -> bool:
        return self._run_write(cs.DELETE_MEMBER, {"b_project_id": project_id, "b_account_id": account_id}) == 1

    def transfer_project(self, project_id: str, old_owner_id: str, new_owner_id: str, now: dt.datetime) -> bool:
        """Make ``new_owner_id`` the owner, only while ``old_owner_id`` still is (one transaction: the
        new owner's membership row goes, the old owner stays as an admin). False when the owner changed."""
        old_as_admin = Member(str(uuid.uuid4()), project_id, old_owner_id, "admin", now)
        steps: list[Step] = [
            (
                cs.TRANSFER_PROJECT,
                {"b_project_id": project_id, "b_old_owner": old_owner_id, "b_new_owner": new_owner_id},
            ),
            (cs.DELETE_MEMBER, {"b_project_id": project_id, "b_account_id": new_owner_id}),
            (cs.DELETE_MEMBER, {"b_project_id": project_id, "b_account_id": old_owner_id}),
            (cs.INSERT_MEMBER, cs.member_params(old_as_admin)),
        ]
        return self._run_transaction(steps, first_must_change=True) is not None

    # -- invitations -------------------------------------------------------------------------
    def create_invitation(self, invitation: Invitation, token_digest: str) -> None:
        self._run_insert(cs.INSERT_INVITATION, cs.invitation_params(invitation, token_digest), "invitation exists")

    def get_invitation(self, token_digest: str) -> Invitation | None:
        """The invitation whose link token has this digest, accepted or expired or not (the caller decides)."""
        rows = self._run_rows(cs.GET_INVITATION, {"b_token_digest": token_digest})
        return Invitation(*rows[0]) if rows else None

    def list_invitations(self, project_id: str, now: dt.datetime) -> list[Invitation]:
        """The project's invitations neither accepted nor expired at ``now``."""
        rows = self._run_rows(cs.LIST_OPEN_INVITATIONS, {"b_project_id": project_id, "b_now": now})
        return [Invitation(*r) for r in rows]

    def accept_invitation(self, invitation_id: str, now: dt.datetime) -> bool:
        """Mark accepted only if still open and unexpired; True for exactly one caller."""
        return self._run_write(cs.ACCEPT_INVITATION, {"b_id": invitation_id, "b_now": now}) == 1

    def delete_invitation(self, invitation_id: str, project_id: str) -> bool:
        return self._run_write(cs.DELETE_INVITATION, {"b_id": invitation_id, "b_project_id": project_id}) == 1

    # -- audit log ---------------------------------------------------------------------------
    def add_audit_event(self, event: AuditEvent) -> None:
        self._run_write(cs.INSERT_AUDIT_EVENT, cs.audit_event_params(event))

    def list_audit_events(
        self, *, project_id: str | None = None, account_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[AuditEvent]:
        """Newest first: a project's events, an account's, or (neither given) everyone's."""
        params: dict[str, Any] = {"b_limit": limit, "b_offset": offset}
        if project_id is not None:
            statement, params["b_project_id"] = cs.LIST_PROJECT_AUDIT, project_id
        elif account_id is not None:
            statement, params["b_account_id"] = cs.LIST_ACCOUNT_AUDIT, account_id
        else:
            statement = cs.LIST_AUDIT
        return [AuditEvent(*r) for r in self._run_rows(statement, params)]
