"""The dashboard inside a host app, signed in by the host's own login.

A host adapter (Django's ``request.user``, a Flask ``dashboard_auth`` callable, a FastAPI dependency)
turns its current user into a ``HostIdentity`` and hands it to ``DashboardHandler``; everything else is
decided here and in ``permissions``, once for every adapter:

- the permission names are the Django codenames of octotp's models (``HOST_PERMISSIONS``). They are
  global, as Django's model permissions are: ``view_project`` lets its holder see every project.
  ``HOST_GRANTS`` says which console actions each one allows;
- on top of them a host user has the console role of each project it owns or was invited to;
- operators (``HostIdentity.operator`` or the ``operate`` permission) may do everything;
- a host user with no permission, no project and no operator role may not use the dashboard at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .permissions import Action

OPERATE = "operate"
"""The permission that makes its holder an operator (Django: ``octotp.operate``)."""

CREATE_PROJECT = "add_project"
"""The permission to create projects (the creator owns them)."""

_VIEW: frozenset[Action] = frozenset({"project.view"})

HOST_GRANTS: dict[str, frozenset[Action]] = {
    CREATE_PROJECT: frozenset(),
    "view_project": frozenset({"project.view", "tokens.view", "keys.view", "members.view"}),
    "change_project": frozenset({"project.configure"}),
    "delete_project": frozenset({"project.delete", "project.transfer"}),
    "view_apikey": frozenset({"keys.view"}),
    "add_apikey": frozenset({"keys.view", "keys.manage"}),
    "change_apikey": frozenset({"keys.view", "keys.manage"}),
    "delete_apikey": frozenset({"keys.view", "keys.manage"}),
    "view_token": frozenset({"tokens.view"}),
    "view_auditevent": frozenset({"audit.view"}),
    "view_projectmember": frozenset({"members.view"}),
    "add_projectmember": frozenset({"members.view", "members.manage"}),
    "change_projectmember": frozenset({"members.view", "members.manage"}),
    "delete_projectmember": frozenset({"members.view", "members.manage"}),
    "view_webhookendpoint": frozenset({"webhooks.view"}),
    "add_webhookendpoint": frozenset({"webhooks.view", "webhooks.manage"}),
    "change_webhookendpoint": frozenset({"webhooks.view", "webhooks.manage"}),
    "delete_webhookendpoint": frozenset({"webhooks.view", "webhooks.manage"}),
}
"""What each host permission allows in every project (any of them also lets its holder see the
project page: nobody is asked to change what they cannot see)."""

HOST_PERMISSIONS: tuple[str, ...] = (*HOST_GRANTS, OPERATE)
"""Every permission name a ``HostIdentity`` may carry."""


@dataclass(frozen=True)
class HostIdentity:
    """The host app's signed-in user, as the dashboard sees it."""

    id: str
    """The host's stable user id (Django: ``str(user.pk)``)."""
    email: str
    operator: bool = False
    """May do everything, in every project (Django: superusers and holders of ``octotp.operate``)."""
    permissions: frozenset[str] = field(default_factory=frozenset)
    """Names from ``HOST_PERMISSIONS`` (any iterable is accepted; unknown names are ignored)."""
    name: str = ""
    """How the host names the user (Django: the username); shown beside the email."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "permissions", frozenset(self.permissions))

    @property
    def is_operator(self) -> bool:
        return self.operator or OPERATE in self.permissions

    @property
    def may_create_projects(self) -> bool:
        return self.is_operator or CREATE_PROJECT in self.permissions

    def granted(self) -> frozenset[Action]:
        """The console actions the permissions allow in every project."""
        actions: frozenset[Action] = frozenset()
        for name in self.permissions:
            actions |= HOST_GRANTS.get(name, frozenset())
        return actions | _VIEW if actions else actions

    @property
    def label(self) -> str:
        """How the audit log and the page header name the user: "Ada (ada@example.com)"."""
        return f"{self.name} ({self.email})" if self.name and self.name != self.email else self.email


@dataclass(frozen=True)
class HostLogin:
    """The host's login, for a dashboard signed in by the host (``DashboardHandler(host_login=...)``)."""

    login_url: str
    """Where anonymous visitors are sent, with ``?next=`` the page they asked for (Django: ``LOGIN_URL``)."""
    logout_url: str | None = None
    """Where "Sign out" leads after octotp's own small session ends (None: the host's ``/``)."""
