"""What an operator does to accounts and projects, decided once for the operator pages and the CLI.

Disable or enable an account (a disabled account's sessions end at once and it cannot sign in),
make it an operator or no longer one, set a project's plan, suspend or resume a project. Each change
is written to the audit log with who did it: the signed-in operator, or ``operator (CLI)`` when
``actor`` is None. An operator can neither disable nor demote their own account, so a console
always keeps the operator who is using it. Doing what is already so (enabling an active account)
changes nothing and records nothing.

``octotp_core.events`` tells token events only, so a plan change is told through the audit log
(action ``project.plan_changed``, detail ``free → pro``); billing can read it from there.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from ..errors import Forbidden, NotFound
from ..ids import is_uuid
from ..store import Account, Project
from ..webhooks.events import plan_changed

if TYPE_CHECKING:
    from ..core import Octotp

log = logging.getLogger("octotp.operators")


class OperatorActions:
    """An operator's changes to accounts and projects, each recorded in ``octotp.audit``."""

    def __init__(self, octotp: Octotp) -> None:
        self.octotp = octotp
        self.store = octotp.store

    # -- accounts ----------------------------------------------------------------------------
    def account(self, account_id: str) -> Account:
        """The account, or ``NotFound``."""
        account = self.store.get_account(account_id) if is_uuid(account_id) else None
        if account is None:
            raise NotFound("no such account")
        return account

    def set_active(
        self,
        account: Account,
        active: bool,
        *,
        actor: Account | None,
        address: str | None = None,
        actor_label: str | None = None,
    ) -> Account:
        """Enable or disable ``account``. Disabling ends every session of it at once (the session
        check also refuses a disabled account's session, so one started in a race ends on its next
        request). ``Forbidden`` when an operator would disable their own account. ``actor_label``
        names an actor that is not an octotp account (the Django admin's user)."""
        if not active and actor is not None and actor.id == account.id:
            raise Forbidden("an operator cannot disable their own account")
        if account.is_active == active:
            return account
        changed = dataclasses.replace(account, is_active=active)
        if not self.store.update_account(changed):
            raise NotFound("no such account")
        detail = ""
        if not active:
            ended = self.store.delete_account_sessions(account.id)
            detail = f"{ended} session{'' if ended == 1 else 's'} ended"
        action = "account.enabled" if active else "account.disabled"
        self.octotp.audit.record(
            action, actor=actor, account_id=account.id, detail=detail, address=address, actor_label=actor_label
        )
        log.info("operator %s account=%s", action, account.id)
        return changed

    def set_operator(
        self,
        account: Account,
        operator: bool,
        *,
        actor: Account | None,
        address: str | None = None,
        actor_label: str | None = None,
    ) -> Account:
        """Make ``account`` an operator, or no longer one (``Forbidden`` for an operator's own account);
        ``actor_label`` as for ``set_active``."""
        if not operator and actor is not None and actor.id == account.id:
            raise Forbidden("an operator cannot remove their own operator role")
        if account.is_operator == operator:
            return account
        changed = dataclasses.replace(account, is_operator=operator)
        if not self.store.update_account(changed):
            raise NotFound("no such account")
        action = "account.operator_granted" if operator else "account.operator_revoked"
        self.octotp.audit.record(action, actor=actor, account_id=account.id, address=address, actor_label=actor_label)
        log.info("operator %s account=%s", action, account.id)
        return changed

    def operator_created(self, account: Account) -> None:
        """Record that the CLI created ``account`` as an operator."""
        self.octotp.audit.record("account.operator_granted", actor=None, account_id=account.id)

    # -- projects ----------------------------------------------------------------------------
    def set_plan(self, project_id: str, plan: str, *, actor: Account | None, address: str | None = None) -> Project:
        """Move the project to ``plan`` (one of ``settings.plans``, else ``InvalidInput``); its rate
        limit follows on its next request. Returns the project as stored."""
        before = self.octotp.accounts.get_project(project_id)
        after = self.octotp.accounts.configure_project(before.id, plan=plan)
        self.plan_changed(before, after, actor=actor, address=address)
        return after

    def plan_changed(
        self,
        before: Project,
        after: Project,
        *,
        actor: Account | None,
        address: str | None = None,
        actor_label: str | None = None,
    ) -> None:
        """Record a plan change (``free → pro``) when ``after`` is on another plan than ``before``
        (for writers that change the plan with other settings: ``octotp projects set``, the Django
        admin, whose user is named by ``actor_label``)."""
        if before.plan == after.plan:
            return
        self.octotp.audit.record(
            "project.plan_changed",
            actor=actor,
            project_id=after.id,
            detail=f"{before.plan} → {after.plan}",
            address=address,
            actor_label=actor_label,
        )
        self.octotp.webhooks.emit(after.id, plan_changed(after, before.plan, self.octotp.clock.now()))
        log.info("operator plan changed project=%s plan=%s", after.id, after.plan)

    def set_suspended(
        self, project_id: str, suspended: bool, *, actor: Account | None, address: str | None = None
    ) -> Project:
        """Suspend the project (its API keys are refused with problem code ``project_suspended``) or
        resume it. Returns the project as stored."""
        before = self.octotp.accounts.get_project(project_id)
        if (before.suspended_at is not None) == suspended:
            return before
        after = self.octotp.accounts.suspend_project(before.id, suspended)
        self.suspension_changed(before, after, actor=actor, address=address)
        return after

    def suspension_changed(
        self,
        before: Project,
        after: Project,
        *,
        actor: Account | None,
        address: str | None = None,
        actor_label: str | None = None,
    ) -> None:
        """Record ``project.suspended`` or ``project.resumed`` when ``after`` is not as ``before``
        was (for the Django admin's change form, which sets ``suspended_at`` itself)."""
        suspended = after.suspended_at is not None
        if (before.suspended_at is not None) == suspended:
            return
        action = "project.suspended" if suspended else "project.resumed"
        self.octotp.audit.record(action, actor=actor, project_id=after.id, address=address, actor_label=actor_label)
        log.info("operator %s project=%s", action, after.id)
