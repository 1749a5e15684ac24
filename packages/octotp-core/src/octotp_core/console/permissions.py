"""Console roles and what each may do, decided here once for every page and every adapter.

A project has one owner (``Project.owner_id``) and members with a role (``Member.role``). Operators
stand above every project. Pages may hide what a role cannot do, but the decision is this module's:
every view asks ``project_access(...).require(action)`` before it acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ..errors import Forbidden, NotFound
from ..ids import is_uuid
from ..internal import CONSOLE_PROJECT_ID
from ..store import Account, Project, Store

Role = Literal["owner", "admin", "developer", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)
"""Every role, most powerful first."""
MEMBER_ROLES: tuple[Role, ...] = ("admin", "developer", "viewer")
"""The roles a member can be given (ownership is transferred, never given as a role)."""

Action = Literal[
    "project.view",  # the project page, its usage and settings (read)
    "tokens.view",  # the token list and search
    "keys.view",
    "keys.manage",  # create and revoke API keys
    "project.configure",  # change the project's settings
    "members.view",
    "members.manage",  # invite, remove, change roles (never to or from owner)
    "audit.view",
    "webhooks.view",  # the project's event webhook endpoints and their delivery logs
    "webhooks.manage",  # add, change, disable and delete endpoints, rotate their secrets, re-send events
    "project.delete",
    "project.transfer",  # hand ownership to a member
    "project.plan",  # change the plan: operators only
    "project.suspend",  # operators only
]
ACTIONS: tuple[Action, ...] = get_args(Action)

_VIEWER: frozenset[Action] = frozenset({"project.view", "tokens.view", "keys.view", "members.view"})
_DEVELOPER: frozenset[Action] = _VIEWER | frozenset[Action]({"keys.manage", "audit.view", "webhooks.view"})
_ADMIN: frozenset[Action] = _DEVELOPER | frozenset[Action]({"project.configure", "members.manage", "webhooks.manage"})
_OWNER: frozenset[Action] = _ADMIN | frozenset[Action]({"project.delete", "project.transfer"})
_OPERATOR: frozenset[Action] = _OWNER | frozenset[Action]({"project.plan", "project.suspend"})

GRANTS: dict[Role, frozenset[Action]] = {"owner": _OWNER, "admin": _ADMIN, "developer": _DEVELOPER, "viewer": _VIEWER}
"""What each role may do in its project."""

KEY_ISSUING: frozenset[Action] = frozenset({"keys.manage"})
"""Actions an account may take only once its email is verified (they hand out API keys)."""


def role_allows(role: Role | None, action: Action, *, operator: bool = False) -> bool:
    """Whether ``role`` (None: no role in the project) may take ``action``; operators may take every one."""
    if operator:
        return action in _OPERATOR
    return role is not None and action in GRANTS[role]


def may_issue_keys(account: Account) -> bool:
    """Only a verified account may create projects or API keys (a new project comes with a key)."""
    return account.verified_at is not None


@dataclass(frozen=True)
class Access:
    """What one account may do in one project."""

    account: Account
    project: Project
    role: Role | None
    """The account's own role in the project (None: an operator who is not a member, or a host user
    whose host permissions reach every project)."""
    granted: frozenset[Action] = frozenset()
    """What the account may do in every project besides its role (a host user's host permissions,
    ``console.host``)."""

    def can(self, action: Action) -> bool:
        """Whether the account may take ``action`` here (a page uses this to show or hide a control)."""
        if action in KEY_ISSUING and not may_issue_keys(self.account):
            return False
        return action in self.granted or role_allows(self.role, action, operator=self.account.is_operator)

    def require(self, action: Action) -> None:
        """``Forbidden`` unless ``can(action)``."""
        if not self.can(action):
            if action in KEY_ISSUING and not may_issue_keys(self.account):
                raise Forbidden("verify your email address first: unverified accounts cannot create API keys")
            raise Forbidden(f"your role in this project does not allow {action}")


def role_of(store: Store, account: Account, project: Project) -> Role | None:
    """The account's role in the project: ``owner``, its member role, or None."""
    if project.owner_id == account.id:
        return "owner"
    member = store.get_member(project.id, account.id)
    return member.role if member is not None and member.role in MEMBER_ROLES else None  # type: ignore[return-value]


def project_access(store: Store, account: Account, project_id: str, granted: frozenset[Action] = frozenset()) -> Access:
    """The account's access to a project, or ``NotFound`` when it has none (also for a project that
    does not exist: a stranger cannot tell the two apart). ``granted``: what it may do in every
    project besides its role (``Access.granted``)."""
    project = store.get_project(project_id) if is_uuid(project_id) and project_id != CONSOLE_PROJECT_ID else None
    if project is None:
        raise NotFound("no such project")
    role = role_of(store, account, project)
    if role is None and not account.is_operator and "project.view" not in granted:
        raise NotFound("no such project")
    return Access(account, project, role, granted)
