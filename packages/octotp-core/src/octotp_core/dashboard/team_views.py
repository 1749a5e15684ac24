"""Dashboard pages: project members, roles, invitations, ownership transfer.

The rules are ``octotp_core.console.teams.TeamService``'s; these views read the form, call it, and
render ``members.html`` (the team of a project) or ``invitation.html`` (an invitation's link).
"""

from __future__ import annotations

from typing import Any

from ..console.permissions import MEMBER_ROLES, Access
from ..console.teams import OpenInvitation, TeamService, masked
from ..errors import DeliveryFailed, FieldError, InvalidInput, NotFound
from ..http.messages import Response
from .links import dashboard_url
from .routing import PROJECT, Route, ViewArea, route
from .views import DashboardRequest, DashboardViews

_ID = r"[^/]+"
_LABELS = {
    "email": "Email",
    "role": "Role",
    "member": "Member",
    "new_owner": "New owner",
    "confirm": "Project name",
    "password": "Password",
    "public_url": "Public URL",
}


def _messages(errors: list[FieldError]) -> list[str]:
    """Each refused field with its reason, as a page says it ("Email: is already on this project's team")."""
    return [f"{_LABELS.get(e.field, e.field)}: {e.reason}" for e in errors]


class TeamViews(ViewArea):
    """The team pages."""

    def __init__(self, views: DashboardViews) -> None:
        super().__init__(views)
        self.teams = TeamService(self.octotp)

    def routes(self) -> list[Route]:
        return [
            route(f"/projects/{PROJECT}/members", GET=self.members),
            route(f"/projects/{PROJECT}/invitations", POST=self.invite),
            route(f"/projects/{PROJECT}/invitations/(?P<invitation_id>{_ID})/cancel", POST=self.cancel_invitation),
            route(f"/projects/{PROJECT}/members/(?P<account_id>{_ID})/role", POST=self.change_role),
            route(f"/projects/{PROJECT}/members/(?P<account_id>{_ID})/remove", POST=self.remove),
            route(f"/projects/{PROJECT}/transfer", POST=self.transfer),
            route(
                f"/invitations/(?P<token>{_ID})", signed_in=False, any_user=True, GET=self.invitation, POST=self.sign_up
            ),
            route(f"/invitations/(?P<token>{_ID})/join", any_user=True, POST=self.join),
        ]

    # -- the members page --------------------------------------------------------------------
    def members(self, call: DashboardRequest, project_id: str) -> Response:
        return self.members_page(call, self.access(call, project_id, "members.view"))

    def members_page(
        self,
        call: DashboardRequest,
        access: Access,
        *,
        status: int = 200,
        errors: list[str] | None = None,
        invite_email: str = "",
        invite_role: str = "developer",
    ) -> Response:
        project = access.project
        return self.views.page(
            call,
            status,
            "members.html",
            project=project,
            access=access,
            team=self.teams.team(project),
            invitations=self.teams.open_invitations(project),
            roles=MEMBER_ROLES,
            invitation_hours=self.octotp.settings.dashboard_invitation_hours,
            errors=errors or [],
            invite_email=invite_email,
            invite_role=invite_role if invite_role in MEMBER_ROLES else "developer",
        )

    def _back(self, call: DashboardRequest, access: Access) -> Response:
        return call.redirect(f"/projects/{access.project.id}/members")

    def invite(self, call: DashboardRequest, project_id: str) -> Response:
        access = self.access(call, project_id, "members.manage")
        email, role = call.form("email").strip(), call.form("role")
        try:
            url = dashboard_url(call.request, call.base, self.octotp.settings)
            self.teams.invite(access, email, role, dashboard_url=url, address=call.request.client)
        except InvalidInput as exc:
            return self.members_page(
                call, access, status=400, errors=_messages(exc.errors), invite_email=email, invite_role=role
            )
        except DeliveryFailed:
            errors = ["The invitation email could not be sent, so nobody was invited: try again later."]
            return self.members_page(call, access, status=502, errors=errors, invite_email=email, invite_role=role)
        return self._back(call, access)

    def cancel_invitation(self, call: DashboardRequest, project_id: str, invitation_id: str) -> Response:
        access = self.access(call, project_id, "members.manage")
        self.teams.cancel_invitation(access, invitation_id, address=call.request.client)
        return self._back(call, access)

    def change_role(self, call: DashboardRequest, project_id: str, account_id: str) -> Response:
        access = self.access(call, project_id, "members.manage")
        try:
            self.teams.change_role(access, account_id, call.form("role"), address=call.request.client)
        except InvalidInput as exc:
            return self.members_page(call, access, status=400, errors=_messages(exc.errors))
        return self._back(call, access)

    def remove(self, call: DashboardRequest, project_id: str, account_id: str) -> Response:
        # Any member may leave; removing someone else needs members.manage (TeamService decides).
        access = self.access(call, project_id, "members.view")
        try:
            self.teams.remove(access, account_id, address=call.request.client)
        except InvalidInput as exc:
            return self.members_page(call, access, status=400, errors=_messages(exc.errors))
        if account_id == access.account.id and not access.account.is_operator:
            return call.redirect("/")  # left: the project is no longer theirs to see
        return self._back(call, access)

    def transfer(self, call: DashboardRequest, project_id: str) -> Response:
        access = self.access(call, project_id, "project.transfer")
        try:
            self.teams.transfer(access, call.form("new_owner"), call.form("confirm"), address=call.request.client)
        except InvalidInput as exc:
            return self.members_page(call, access, status=400, errors=_messages(exc.errors))
        return self._back(call, access)

    # -- an invitation's link ----------------------------------------------------------------
    def _open(self, call: DashboardRequest, token: str) -> OpenInvitation | Response:
        """The open invitation, or the one 404 page for an unknown, used or expired link."""
        try:
            return self.teams.find_invitation(token)
        except NotFound:
            return self.views.page(
                call,
                404,
                "error.html",
                title="Invitation not valid",
                retry_after=None,
                detail="this invitation link does not work: it was used, it expired, or it was cancelled. "
                "Ask the project's admin for a new one",
            )

    def invitation(self, call: DashboardRequest, token: str) -> Response:
        opened = self._open(call, token)
        if isinstance(opened, Response):
            return opened
        return self.invitation_page(call, opened, token)

    def invitation_page(
        self,
        call: DashboardRequest,
        opened: OpenInvitation,
        token: str,
        *,
        status: int = 200,
        errors: list[str] | None = None,
    ) -> Response:
        context: dict[str, Any] = {"invitation": opened.invitation, "project": opened.project}
        account = call.active.account if call.active else None
        if account is not None and not opened.is_for(account):
            status, context["invited"] = 403, masked(opened.invitation.email)
        elif account is not None:
            project = opened.project
            context["member"] = project.owner_id == account.id or (
                self.octotp.store.get_member(project.id, account.id) is not None
            )
        else:
            context["form_token"] = self.views._login_form_token(call)
            context["has_account"] = self.octotp.store.get_account_by_email(opened.invitation.email) is not None
        return self.views.page(
            call,
            status,
            "invitation.html",
            opened=opened,
            token=token,
            errors=errors or [],
            signed_in=account is not None,
            **context,
        )

    def join(self, call: DashboardRequest, token: str) -> Response:
        assert call.active is not None
        opened = self._open(call, token)
        if isinstance(opened, Response):
            return opened
        if not opened.is_for(call.active.account):
            return self.invitation_page(call, opened, token)  # the page that says whose invitation it is
        try:
            self.teams.join(opened, call.active.account, address=call.request.client)
        except NotFound:
            return self.invitation(call, token)  # used or expired meanwhile: the same 404 page
        return call.redirect(f"/projects/{opened.project.id}")

    def sign_up(self, call: DashboardRequest, token: str) -> Response:
        if call.host_login is not None:  # the host app makes its users, not an invitation
            raise NotFound("no sign-up with the host's login")
        opened = self._open(call, token)
        if isinstance(opened, Response):
            return opened
        # Throttled like the login and setup forms, before any password hashing.
        retry_after = self.views.throttle.hit(opened.invitation.email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        password = call.form("password")
        if password != call.form("password_confirm"):
            return self.invitation_page(call, opened, token, status=400, errors=["The passwords do not match."])
        try:
            account = self.teams.sign_up(opened, password, address=call.request.client)
        except InvalidInput as exc:
            return self.invitation_page(call, opened, token, status=400, errors=_messages(exc.errors))
        except NotFound:
            return self.invitation(call, token)
        return self.views._sign_in(call, account, f"/projects/{opened.project.id}")
