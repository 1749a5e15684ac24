"""Project teams: invitations by email, members and their roles, ownership transfer.

Every rule is decided here, for every page and every adapter: ``TeamService`` takes the caller's
``Access`` (``octotp_core.console.permissions``), checks the action it needs, changes the store and
writes the audit event. The rules:

- Members are given ``admin``, ``developer`` or ``viewer`` (``MEMBER_ROLES``): nobody is given more
  than admin, and ``owner`` is never given; ownership is transferred. Nobody changes the owner's
  role, and the owner can neither be removed nor leave (transfer first).
- ``members.manage`` (admins, the owner, operators) invites, cancels invitations, changes roles and
  removes members; any member may also leave a project themselves.
- ``project.transfer`` (the owner, operators) hands the project to a member, confirmed by typing the
  project's name; the old owner stays as an admin.
- An invitation's link carries a random token (``secrets.token_urlsafe(32)``) that exists only in the
  email: the store keeps its SHA-256 digest. The link works once, until ``dashboard_invitation_hours``
  have passed; inviting the same address again replaces its open invitation. Accepting it signs up
  (a verified account: the link proves the address, in every sign-up mode) or joins the signed-in
  account, only if that account's address is the invited one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import Conflict, DeliveryFailed, FieldError, InvalidInput, NotFound
from ..ids import is_uuid
from ..recipients import Recipient, normalise_email
from ..store import Account, Invitation, Member, Project
from .mail import ConsoleMail
from .permissions import MEMBER_ROLES, Access

if TYPE_CHECKING:
    from ..core import Octotp

log = logging.getLogger("octotp.console")

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # an invitation link's token: 32 random bytes, URL-safe base64
INVITATIONS_PATH = "/invitations/"
"""Where an invitation's link points inside the dashboard (the token follows)."""


def invitation_digest(token: str) -> str:
    """What the store keeps of an invitation link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(dashboard_url: str, token: str) -> str:
    """The link an invitation email carries: ``<dashboard URL>/invitations/<token>``."""
    return f"{dashboard_url.rstrip('/')}{INVITATIONS_PATH}{token}"


class InvitationSender(Protocol):
    """Sends an invitation's email (``ConsoleMail.invitation`` by default); raises ``DeliveryFailed``
    when it cannot."""

    def __call__(self, to: str, project_name: str, inviter_email: str, link: str, expires: dt.datetime) -> None: ...


@dataclass(frozen=True)
class TeamMember:
    """One person on a project's team, as the members page shows them."""

    account_id: str
    email: str
    role: str
    """``owner``, ``admin``, ``developer`` or ``viewer``."""
    joined_at: dt.datetime | None
    """When they became a member (None for the owner)."""


@dataclass(frozen=True)
class Team:
    """A project's owner and members."""

    owner: TeamMember | None
    """None for a project without an owner (made by an operator from the CLI)."""
    members: list[TeamMember]

    def find(self, account_id: str) -> TeamMember | None:
        """The member (not the owner) with this account id."""
        return next((m for m in self.members if m.account_id == account_id), None)


@dataclass(frozen=True)
class OpenInvitation:
    """An invitation found by its link's token, still open: what its page shows."""

    invitation: Invitation
    project: Project
    inviter: str
    """The inviting account's email (or "a team member" once that account is gone)."""

    def is_for(self, account: Account) -> bool:
        """Whether ``account``'s address is the invited one (both are normalised)."""
        return account.email.lower() == self.invitation.email.lower()


def masked(email: str) -> str:
    """An address as logs and a wrong account's page show it (``j***@example.com``)."""
    return Recipient("email", email.lower()).hint


def _role(value: str, field: str = "role") -> str:
    if value not in MEMBER_ROLES:
        raise InvalidInput(FieldError(field, f"must be one of {', '.join(MEMBER_ROLES)}"))
    return value


class TeamService:
    """Invitations, members, roles and ownership transfer for one ``Octotp``."""

    def __init__(self, octotp: Octotp, send_invitation: InvitationSender | None = None) -> None:
        self.octotp = octotp
        self.store = octotp.store
        self.send_invitation: InvitationSender = send_invitation or ConsoleMail(octotp).invitation

    # -- reading -----------------------------------------------------------------------------
    def team(self, project: Project) -> Team:
        """The project's owner and members (oldest first), with their emails."""
        owner = None
        if project.owner_id is not None:
            account = self.store.get_account(project.owner_id)
            if account is not None:
                owner = TeamMember(account.id, account.email, "owner", None)
        members = []
        for member in self.store.list_members(project.id):
            account = self.store.get_account(member.account_id)
            if account is not None:
                members.append(TeamMember(account.id, account.email, member.role, member.created_at))
        return Team(owner, members)

    def open_invitations(self, project: Project) -> list[Invitation]:
        """The project's invitations neither accepted nor expired."""
        return self.store.list_invitations(project.id, self.octotp.clock.now())

    # -- invitations -------------------------------------------------------------------------
    def invite(self, access: Access, email: str, role: str, *, dashboard_url: str, address: str | None) -> Invitation:
        """Invite ``email`` to the project as ``role`` and email the link (``dashboard_url`` is where the
        dashboard is, as the invitee's browser will reach it). Replaces the address's open invitation.

        ``InvalidInput`` for a bad address or role, or an address already on the team;
        ``DeliveryFailed`` when the email cannot be sent (then nothing changes)."""
        access.require("members.manage")
        project = access.project
        errors = []
        try:
            normalised = normalise_email(email, field="email").value
        except InvalidInput as exc:
            errors += exc.errors
            normalised = ""
        try:
            _role(role)
        except InvalidInput as exc:
            errors += exc.errors
        if errors:
            raise InvalidInput(errors)
        team = self.team(project)
        if any(person.email == normalised for person in [team.owner, *team.members] if person is not None):
            raise InvalidInput(FieldError("email", "is already on this project's team"))
        now = self.octotp.clock.now()
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            id=str(uuid.uuid4()),
            project_id=project.id,
            email=normalised,
            role=role,
            invited_by=access.account.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=self.octotp.settings.dashboard_invitation_hours),
        )
        replaced = [i for i in self.open_invitations(project) if i.email == normalised]
        self.store.create_invitation(invitation, invitation_digest(token))
        try:
            link = invitation_link(dashboard_url, token)
            self.send_invitation(normalised, project.name, access.account.email, link, invitation.expires_at)
        except DeliveryFailed:
            self.store.delete_invitation(invitation.id, project.id)  # the link went nowhere: no invitation
            raise
        for old in replaced:  # only once the new link is on its way, so an address always has one
            self.store.delete_invitation(old.id, project.id)
        self._audit(access, "member.invited", f"{normalised} as {role}", address)
        return invitation

    def cancel_invitation(self, access: Access, invitation_id: str, *, address: str | None) -> Invitation:
        """Cancel one of the project's open invitations (its link stops working); ``NotFound`` if none."""
        access.require("members.manage")
        invitation = next((i for i in self.open_invitations(access.project) if i.id == invitation_id), None)
        if invitation is None or not self.store.delete_invitation(invitation.id, access.project.id):
            raise NotFound("no such invitation")
        self._audit(access, "member.invitation_cancelled", f"{invitation.email} as {invitation.role}", address)
        return invitation

    def find_invitation(self, token: str) -> OpenInvitation:
        """The open invitation this link's token names: ``NotFound`` alike for an unknown, used or
        expired one (or one whose project is gone)."""
        invitation = self.store.get_invitation(invitation_digest(token)) if _TOKEN.fullmatch(token) else None
        if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= self.octotp.clock.now():
            raise NotFound("no such invitation")
        project = self.store.get_project(invitation.project_id)
        if project is None:
            raise NotFound("no such invitation")
        inviter = self.store.get_account(invitation.invited_by) if invitation.invited_by else None
        return OpenInvitation(invitation, project, inviter.email if inviter else "a team member")

    def join(self, opened: OpenInvitation, account: Account, *, address: str | None) -> bool:
        """Accept the invitation as ``account``: True when it joined, False when it already was on the
        team (the invitation then stays open). Joining verifies an unverified account's address (the
        link was emailed to it). ``InvalidInput`` when the account's address is not the
        invited one; ``NotFound`` when the invitation was used or expired meanwhile."""
        if not opened.is_for(account):
            raise InvalidInput(FieldError("email", "the invitation is for another address"))
        project, invitation = opened.project, opened.invitation
        if project.owner_id == account.id or self.store.get_member(project.id, account.id) is not None:
            return False
        now = self.octotp.clock.now()
        # The conditional update decides the one caller that joins (the link works once).
        if not self.store.accept_invitation(invitation.id, now):
            raise NotFound("no such invitation")
        try:
            self.store.add_member(Member(str(uuid.uuid4()), project.id, account.id, invitation.role, now))
        except Conflict:  # joined meanwhile by another way in: the membership exists, as asked
            return False
        if account.verified_at is None:  # the emailed link proves the address, as a code would
            self.store.update_account(dataclasses.replace(account, verified_at=now))
            self.octotp.audit.record("account.verified", actor=account, detail="by an invitation", address=address)
        self.octotp.audit.record(
            "member.joined",
            actor=account,
            project_id=project.id,
            detail=f"as {invitation.role}, invited by {opened.inviter}",
            address=address,
        )
        log.info("team member joined project=%s account=%s", project.id, account.id)
        return True

    def sign_up(self, opened: OpenInvitation, password: str, *, address: str | None) -> Account:
        """Create the invited address's account (verified: the link proves the address) and join.

        ``InvalidInput`` for a refused password, or an address that already has an account (its owner
        logs in to accept). Every submission of one link creates the same account id, so of
        concurrent ones exactly one creates the account."""
        account_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:octotp:invitation:{opened.invitation.id}"))
        try:
            account = self.octotp.accounts.create_account(
                opened.invitation.email, password, account_id=account_id, verified=True
            )
        except Conflict:
            raise InvalidInput(FieldError("email", "already has an account: log in to accept the invitation")) from None
        self.octotp.audit.record("account.signed_up", actor=account, detail="from an invitation", address=address)
        self.join(opened, account, address=address)
        return account

    # -- members -----------------------------------------------------------------------------
    def change_role(self, access: Access, account_id: str, role: str, *, address: str | None) -> TeamMember:
        """Give a member another role (``admin``, ``developer``, ``viewer``); never the owner's."""
        access.require("members.manage")
        _role(role)
        person = self._member(access, account_id, "the owner's role cannot change: transfer ownership instead")
        if person.role != role:
            if not self.store.set_member_role(access.project.id, account_id, role):
                raise NotFound("no such member")
            self._audit(access, "member.role_changed", f"{person.email}: {person.role} → {role}", address)
        return person

    def remove(self, access: Access, account_id: str, *, address: str | None) -> TeamMember:
        """Remove a member (``members.manage``), or let the signed-in member leave; never the owner."""
        leaving = account_id == access.account.id
        if not leaving:
            access.require("members.manage")
        person = self._member(access, account_id, "the owner cannot leave or be removed: transfer ownership first")
        if not self.store.remove_member(access.project.id, account_id):
            raise NotFound("no such member")
        said = f"{person.email} ({person.role})" + (" left the project" if leaving else "")
        self._audit(access, "member.removed", said, address)
        return person

    def transfer(self, access: Access, account_id: str, confirm: str, *, address: str | None) -> TeamMember:
        """Make a member the owner; the old owner becomes an admin. ``confirm`` must be the project's name."""
        access.require("project.transfer")
        project = access.project
        team = self.team(project)
        person = team.find(account_id) if is_uuid(account_id) else None
        errors = []
        if person is None:
            errors.append(FieldError("new_owner", "must be a member of the project"))
        if confirm.strip() != project.name:
            errors.append(FieldError("confirm", "must be the project's name, typed exactly"))
        if project.owner_id is None:
            errors.append(FieldError("new_owner", "this project has no owner to transfer from"))
        if errors or person is None or project.owner_id is None:
            raise InvalidInput(errors)
        if not self.store.transfer_project(project.id, project.owner_id, person.account_id, self.octotp.clock.now()):
            raise InvalidInput(FieldError("new_owner", "the project's owner changed meanwhile: reload and try again"))
        old_owner = team.owner.email if team.owner else "the old owner"
        self._audit(
            access,
            "project.ownership_transferred",
            f"to {person.email} (was {person.role}); {old_owner} is now admin",
            address,
        )
        return person

    # -- helpers -----------------------------------------------------------------------------
    def _member(self, access: Access, account_id: str, owner_refusal: str) -> TeamMember:
        if account_id == access.project.owner_id:
            raise InvalidInput(FieldError("member", owner_refusal))
        person = self.team(access.project).find(account_id) if is_uuid(account_id) else None
        if person is None:
            raise NotFound("no such member")
        return person

    def _audit(self, access: Access, action: str, detail: str, address: str | None) -> None:
        project_id = access.project.id
        self.octotp.audit.record(action, actor=access.account, project_id=project_id, detail=detail, address=address)
