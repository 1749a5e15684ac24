"""Console conformance: members, roles, invitations, ownership transfer. Part of ``ConsoleSuite`` (see
``console.py`` for its fixtures).

Every permission is tried the way an attacker would: the form posted directly with the member's own
valid CSRF token, whatever the page shows, and the store checked afterwards for what did not change.
Invitations travel as they do for users: the link is read from the email in the real ``mailbox``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from .dashboard import (
    HOST,
    PASSWORD,
    DashboardBrowser,
    MountedDashboard,
    RawResult,
    hidden_field,
    new_key,
    project_id,
)
from .mailbox import Mailbox, free_port, text_of

MakeDashboard = Callable[..., MountedDashboard]


def _email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Team:
    """A console app with a signed-in owner and one project of theirs."""

    mounted: MountedDashboard
    mailbox: Mailbox
    owner_email: str
    owner: DashboardBrowser
    project_id: str

    @property
    def octotp(self) -> Any:
        return self.mounted.octotp

    @property
    def members_path(self) -> str:
        return f"/projects/{self.project_id}/members"

    def account_id(self, email: str) -> str:
        account = self.octotp.store.get_account_by_email(email.lower())
        assert account is not None, email
        return str(account.id)

    def role_of(self, email: str) -> str | None:
        """The account's member role in the project (None: not a member)."""
        member = self.octotp.store.get_member(self.project_id, self.account_id(email))
        return None if member is None else str(member.role)

    def invite(self, browser: DashboardBrowser, email: str, role: str) -> RawResult:
        return browser.post(
            f"/projects/{self.project_id}/invitations",
            {"csrf_token": browser.csrf_token(), "email": email, "role": role},
        )

    def link_path(self, email: str, *, after: int = 0) -> str:
        """The dashboard path of the invitation link in the newest email to ``email``."""
        link = self.mailbox.link_for(email, "invited you", after=after)
        assert link.startswith(f"http://{HOST}{self.mounted.base}/invitations/"), link
        return urlsplit(link).path[len(self.mounted.base) :]

    def sign_up(self, path: str) -> DashboardBrowser:
        """Open an invitation link signed out and create the account from it (with the host's login:
        a new host user with no permission signs in on the host's page and joins from the link)."""
        if self.mounted.host is not None:
            return self._host_user_joins(path)
        browser = self.mounted.browser()
        page = browser.get(path)
        assert page.status == 200, page.text
        fields = {"csrf_token": hidden_field(page, "csrf_token"), "password": PASSWORD, "password_confirm": PASSWORD}
        joined = browser.post(path, fields)
        assert (joined.status, joined.header("location")) == (
            303,
            f"{self.mounted.base}/projects/{self.project_id}",
        ), joined.text
        return browser

    def _host_user_joins(self, path: str) -> DashboardBrowser:
        assert self.mounted.host is not None
        invitation = self.octotp.store.get_invitation(hashlib.sha256(_invitation_token(path).encode()).hexdigest())
        assert invitation is not None, path
        self.mounted.host.create_user(invitation.email, PASSWORD)
        browser = self.mounted.browser()
        assert browser.login(invitation.email, PASSWORD).status == 303
        page = browser.get(path)
        assert page.status == 200, page.text
        joined = browser.post(f"{path}/join", {"csrf_token": hidden_field(page, "csrf_token")})
        assert (joined.status, joined.header("location")) == (
            303,
            f"{self.mounted.base}/projects/{self.project_id}",
        ), joined.text
        return browser

    def join(self, email: str, role: str) -> DashboardBrowser:
        """Invite ``email`` as ``role`` (by the owner), and sign up from the emailed link."""
        assert self.invite(self.owner, email, role).status == 303
        browser = self.sign_up(self.link_path(email))
        assert self.role_of(email) == role
        return browser

    def post(self, browser: DashboardBrowser, path: str, **fields: str) -> RawResult:
        """POST a form of the project's with the browser's own valid CSRF token."""
        return browser.post(f"/projects/{self.project_id}{path}", {"csrf_token": browser.csrf_token(), **fields})

    def actions(self) -> list[str]:
        """The project's audit log actions (in no particular order: under a frozen clock, events of
        one instant tie)."""
        return [e.action for e in self.octotp.store.list_audit_events(project_id=self.project_id, limit=200)]

    def details(self, action: str) -> set[str]:
        """The details of the project's audit events of one action."""
        events = self.octotp.store.list_audit_events(project_id=self.project_id, limit=200)
        return {str(e.detail) for e in events if e.action == action}


def _team(console: MakeDashboard, mailbox: Mailbox, **settings: Any) -> Team:
    mounted = console(**settings)
    email = _email("owner")
    mounted.create_account(email, PASSWORD)
    browser = mounted.browser()
    assert browser.login(email, PASSWORD).status == 303
    created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Team project"}))
    return Team(mounted, mailbox, email, browser, project_id(created))


def _invitation_token(path: str) -> str:
    return path.rsplit("/", 1)[-1]


class TeamsSuite:
    """The teams pages, as every adapter must answer them."""

    def test_invitation_mail_sign_up_makes_a_verified_member_with_the_role(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)  # sign-up is closed by default: invitations still sign up
        invitee = _email("viewer")
        invited = team.invite(team.owner, invitee.upper(), "viewer")
        assert (invited.status, invited.header("location")) == (303, team.mounted.base + team.members_path)
        members = team.owner.get(team.members_path)
        assert members.status == 200
        assert f'<th scope="row">{invitee}</th>' in members.text  # an open invitation, normalised address
        mail = mailbox.wait_for(invitee, "invited you")
        assert "Team project" in text_of(mail)
        assert team.owner_email in text_of(mail)
        path = team.link_path(invitee)
        token = _invitation_token(path)
        assert len(token) == 43
        stored = team.octotp.store.get_invitation(hashlib.sha256(token.encode()).hexdigest())
        assert stored is not None  # the store holds the digest, the link the token
        assert team.octotp.store.get_invitation(token) is None

        visitor = team.mounted.browser()
        page = visitor.get(path)
        assert page.status == 200
        assert "Team project" in page.text
        assert '<strong id="invited-role">viewer</strong>' in page.text
        assert team.owner_email in page.text
        assert f'href="{team.mounted.base}/login?next={path}"' in page.text
        assert f'value="{invitee}"' in page.text  # the sign-up form's address is the invited one

        browser = team.sign_up(path)
        account = team.octotp.store.get_account_by_email(invitee)
        assert account is not None
        assert account.verified_at is not None  # the link proved the address
        assert team.role_of(invitee) == "viewer"
        project_page = browser.get(f"/projects/{team.project_id}")
        assert project_page.status == 200
        assert "Team project" in browser.get("/").text
        assert f'href="{team.mounted.base}{team.members_path}"' in project_page.text
        assert "No open invitations." in team.owner.get(team.members_path).text
        assert team.mounted.browser().get(path).status == 404  # the link worked once
        assert team.details("member.invited") == {f"{invitee} as viewer"}
        assert team.details("member.joined") == {f"as viewer, invited by {team.owner_email}"}
        assert not [e for e in team.octotp.store.list_audit_events(limit=500) if token in e.detail]

    def test_an_existing_account_logs_in_from_the_link_and_joins(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)
        invitee = _email("dev")
        team.octotp.accounts.create_account(invitee, PASSWORD, verified=False)  # signed up, code not entered
        assert team.invite(team.owner, invitee, "developer").status == 303
        path = team.link_path(invitee)
        browser = team.mounted.browser()
        page = browser.get(path)
        assert "This address has an account" in page.text
        assert 'name="password_confirm"' not in page.text  # no sign-up form for an address with an account
        login = browser.get(f"/login?next={path}")
        assert hidden_field(login, "next") == path
        fields = {"csrf_token": hidden_field(login, "csrf_token"), "email": invitee, "password": PASSWORD, "next": path}
        signed_in = browser.post("/login", fields)
        assert (signed_in.status, signed_in.header("location")) == (303, team.mounted.base + path)
        page = browser.get(path)
        assert f'action="{team.mounted.base}{path}/join"' in page.text
        assert team.role_of(invitee) is None  # opening the link joins nobody
        joined = browser.post(f"{path}/join", {"csrf_token": hidden_field(page, "csrf_token")})
        assert (joined.status, joined.header("location")) == (303, f"{team.mounted.base}/projects/{team.project_id}")
        assert team.role_of(invitee) == "developer"
        assert team.octotp.store.get_account_by_email(invitee).verified_at is not None  # the link proved it
        assert team.post(browser, "/keys", name="joined developer").status == 303
        assert browser.post(f"{path}/join", {"csrf_token": browser.csrf_token()}).status == 404

    def test_another_account_is_refused_the_invitation(self, console: MakeDashboard, mailbox: Mailbox) -> None:
        team = _team(console, mailbox)
        invitee, other = _email("invitee"), _email("other")
        team.mounted.create_account(other, PASSWORD)
        assert team.invite(team.owner, invitee, "admin").status == 303
        path = team.link_path(invitee)
        browser = team.mounted.browser()
        assert browser.login(other, PASSWORD).status == 303
        page = browser.get(path)
        assert page.status == 403
        assert 'id="wrong-account"' in page.text
        assert other in page.text
        assert "/join" not in page.text
        refused = browser.post(f"{path}/join", {"csrf_token": browser.csrf_token()})
        assert refused.status == 403
        assert team.role_of(other) is None
        assert browser.get(f"/projects/{team.project_id}").status == 404
        assert team.sign_up(path) is not None  # the invitation is still open for its address
        assert team.role_of(invitee) == "admin"

    def test_login_next_stays_inside_the_dashboard(self, console: MakeDashboard, mailbox: Mailbox) -> None:
        team = _team(console, mailbox)
        for target in ("//evil.example/x", "https://evil.example/", "/x?y=1", "/a/../../b"):
            browser = team.mounted.browser()
            login = browser.get("/login")
            fields = {"csrf_token": hidden_field(login, "csrf_token"), "email": team.owner_email, "password": PASSWORD}
            signed_in = browser.post("/login", {**fields, "next": target})
            assert (signed_in.status, signed_in.header("location")) == (303, team.mounted.base + "/"), target

    def test_a_viewer_is_refused_every_change_even_posting_the_forms(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)
        viewer_email = _email("viewer")
        viewer = team.join(viewer_email, "viewer")
        other_email = _email("dev")
        team.join(other_email, "developer")
        store = team.octotp.store
        keys = len(store.list_api_keys(team.project_id))
        members = viewer.get(team.members_path)
        assert members.status == 200
        assert viewer_email in members.text
        assert f'/projects/{team.project_id}/invitations"' not in members.text  # no invite form shown
        assert "Change role" not in members.text
        assert "Leave the project" in members.text  # a member may leave
        project_page = viewer.get(f"/projects/{team.project_id}")
        assert 'id="settings-read-only"' in project_page.text  # settings shown read-only
        assert "Save settings" not in project_page.text
        assert "Create API key" not in project_page.text

        assert team.post(viewer, "/keys", name="sneaky").status == 403
        assert team.post(viewer, "/settings", name="Renamed by a viewer").status == 403
        assert team.invite(viewer, _email("friend"), "viewer").status == 403
        other_id = team.account_id(other_email)
        assert team.post(viewer, f"/members/{other_id}/role", role="viewer").status == 403
        assert team.post(viewer, f"/members/{team.account_id(viewer_email)}/role", role="admin").status == 403
        assert team.post(viewer, f"/members/{other_id}/remove").status == 403
        assert team.post(viewer, "/transfer", new_owner=other_id, confirm="Team project").status == 403
        refused = team.post(viewer, "/keys", name="sneaky")
        assert "Not allowed" in refused.text

        assert len(store.list_api_keys(team.project_id)) == keys
        project = store.get_project(team.project_id)
        assert (project.name, project.owner_id) == ("Team project", team.account_id(team.owner_email))
        assert (team.role_of(viewer_email), team.role_of(other_email)) == ("viewer", "developer")
        assert store.list_invitations(team.project_id, team.octotp.clock.now()) == []

    def test_a_developer_creates_keys_but_cannot_invite_or_configure(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)
        dev_email = _email("dev")
        dev = team.join(dev_email, "viewer")
        promoted = team.post(team.owner, f"/members/{team.account_id(dev_email)}/role", role="developer")
        assert promoted.status == 303
        assert team.role_of(dev_email) == "developer"
        created = team.post(dev, "/keys", name="from the developer")
        assert created.status == 303
        key = new_key(dev.follow(created))
        assert key is not None
        assert team.mounted.create_token(key, team.project_id, "user@example.com").status == 201
        assert team.invite(dev, _email("friend"), "viewer").status == 403
        assert team.post(dev, "/settings", name="Renamed by a developer").status == 403
        assert team.octotp.store.get_project(team.project_id).name == "Team project"
        assert team.details("member.role_changed") == {f"{dev_email}: viewer → developer"}

    def test_an_admin_invites_and_configures_but_cannot_transfer_or_touch_the_owner(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)
        admin_email, dev_email = _email("admin"), _email("dev")
        admin = team.join(admin_email, "admin")
        team.join(dev_email, "developer")
        owner_id, dev_id = team.account_id(team.owner_email), team.account_id(dev_email)

        friend = _email("friend")
        assert team.invite(admin, friend, "admin").status == 303  # as powerful as an admin, no more
        assert team.post(admin, "/settings", name="Renamed by the admin").status == 303
        assert team.octotp.store.get_project(team.project_id).name == "Renamed by the admin"

        for role in ("owner", "superuser"):
            refused = team.post(admin, f"/members/{dev_id}/role", role=role)
            assert refused.status == 400
            assert "Role: must be one of admin, developer, viewer" in refused.text
            assert team.invite(admin, _email("x"), role).status == 400
        assert team.role_of(dev_email) == "developer"
        owner_role = team.post(admin, f"/members/{owner_id}/role", role="viewer")
        assert owner_role.status == 400
        assert "the owner&#39;s role cannot change" in owner_role.text
        assert team.post(admin, f"/members/{owner_id}/remove").status == 400
        transfer = team.post(admin, "/transfer", new_owner=team.account_id(admin_email), confirm="Renamed by the admin")
        assert transfer.status == 403
        assert team.octotp.store.get_project(team.project_id).owner_id == owner_id
        assert "Transfer ownership" not in admin.get(team.members_path).text

        assert team.post(admin, f"/members/{dev_id}/role", role="admin").status == 303
        assert team.role_of(dev_email) == "admin"

    def test_removing_a_member_and_leaving(self, console: MakeDashboard, mailbox: Mailbox) -> None:
        team = _team(console, mailbox)
        gone_email, leaver_email = _email("gone"), _email("leaver")
        gone = team.join(gone_email, "developer")
        leaver = team.join(leaver_email, "viewer")
        removed = team.post(team.owner, f"/members/{team.account_id(gone_email)}/remove")
        assert (removed.status, removed.header("location")) == (303, team.mounted.base + team.members_path)
        assert team.role_of(gone_email) is None
        assert gone.get(f"/projects/{team.project_id}").status == 404  # at once
        assert gone.get(team.members_path).status == 404
        assert team.post(gone, "/keys", name="after removal").status == 404
        left = team.post(leaver, f"/members/{team.account_id(leaver_email)}/remove")
        assert (left.status, left.header("location")) == (303, team.mounted.base + "/")
        assert team.role_of(leaver_email) is None
        assert "Team project" not in leaver.get("/").text
        assert team.details("member.removed") == {
            f"{gone_email} (developer)",
            f"{leaver_email} (viewer) left the project",
        }

    def test_ownership_transfer_needs_the_name_and_keeps_the_old_owner_as_admin(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)
        heir_email = _email("heir")
        heir = team.join(heir_email, "developer")
        heir_id, owner_id = team.account_id(heir_email), team.account_id(team.owner_email)
        wrong = team.post(team.owner, "/transfer", new_owner=heir_id, confirm="team project")
        assert wrong.status == 400
        assert "Project name: must be the project&#39;s name, typed exactly" in wrong.text
        assert team.post(team.owner, "/transfer", new_owner=str(uuid.uuid4()), confirm="Team project").status == 400
        assert team.octotp.store.get_project(team.project_id).owner_id == owner_id

        moved = team.post(team.owner, "/transfer", new_owner=heir_id, confirm="Team project")
        assert (moved.status, moved.header("location")) == (303, team.mounted.base + team.members_path)
        assert team.octotp.store.get_project(team.project_id).owner_id == heir_id
        assert team.role_of(team.owner_email) == "admin"
        assert team.role_of(heir_email) is None  # an owner has no member row
        page = team.owner.get(team.members_path)
        assert page.status == 200
        assert "Transfer ownership" not in page.text  # the old owner is an admin now
        assert team.post(team.owner, "/transfer", new_owner=owner_id, confirm="Team project").status == 403
        assert "Transfer ownership" in heir.get(team.members_path).text
        assert team.details("project.ownership_transferred") == {
            f"to {heir_email} (was developer); {team.owner_email} is now admin"
        }

    def test_expired_reused_cancelled_and_unknown_links_get_the_same_404(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox, dashboard_invitation_hours=1)
        used_email, cancelled_email, expired_email = _email("used"), _email("cancelled"), _email("expired")
        team.join(used_email, "viewer")
        used = team.link_path(used_email)
        assert team.invite(team.owner, cancelled_email, "viewer").status == 303
        cancelled = team.link_path(cancelled_email)
        invitation_id = re.search(
            rf"/projects/{team.project_id}/invitations/([0-9a-f-]{{36}})/cancel", team.owner.get(team.members_path).text
        )
        assert invitation_id is not None
        assert team.post(team.owner, f"/invitations/{invitation_id.group(1)}/cancel").status == 303
        assert team.invite(team.owner, expired_email, "developer").status == 303
        expired = team.link_path(expired_email)
        assert team.mounted.browser().get(expired).status == 200
        team.octotp.clock.advance(3600)  # the link works for one hour: not at its end
        unknown = "/invitations/" + "A" * 43

        pages = [team.mounted.browser().get(path) for path in (used, cancelled, expired, unknown, "/invitations/x")]
        assert [p.status for p in pages] == [404] * 5
        assert len({p.text for p in pages}) == 1, "every dead link gets the same page"
        assert "Invitation not valid" in pages[0].text
        visitor = team.mounted.browser()
        form = hidden_field(visitor.get("/login"), "csrf_token")
        fields = {"csrf_token": form, "password": PASSWORD, "password_confirm": PASSWORD}
        assert visitor.post(expired, fields).status == 404
        assert team.octotp.store.get_account_by_email(expired_email) is None
        assert team.actions().count("member.invitation_cancelled") == 1

    def test_inviting_again_replaces_the_open_invitation(self, console: MakeDashboard, mailbox: Mailbox) -> None:
        team = _team(console, mailbox)
        invitee = _email("again")
        assert team.invite(team.owner, invitee, "viewer").status == 303
        first = team.link_path(invitee)
        assert team.invite(team.owner, invitee, "admin").status == 303
        second = team.link_path(invitee, after=1)
        assert first != second
        assert team.mounted.browser().get(first).status == 404
        page = team.owner.get(team.members_path).text
        assert page.count(f'<th scope="row">{invitee}</th>') == 1
        team.sign_up(second)
        assert team.role_of(invitee) == "admin"

    def test_invite_errors_are_said_on_the_page_and_invite_nobody(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        team = _team(console, mailbox)
        member = _email("member")
        team.join(member, "viewer")
        cases = [
            ("not an address", "viewer", "Email: "),
            (_email("ok"), "owner", "Role: must be one of admin, developer, viewer"),
            (member, "viewer", "Email: is already on this project&#39;s team"),
            (team.owner_email.upper(), "admin", "Email: is already on this project&#39;s team"),
        ]
        for email, role, said in cases:
            refused = team.invite(team.owner, email, role)
            assert refused.status == 400, email
            assert said in refused.text, (email, refused.text)
        assert team.octotp.store.list_invitations(team.project_id, team.octotp.clock.now()) == []

    def test_an_invitation_that_cannot_be_mailed_invites_nobody(self, console: MakeDashboard, mailbox: Mailbox) -> None:
        closed = {"smtp": {"host": "127.0.0.1", "port": free_port(), "timeout": 2.0}}
        team = _team(console, mailbox, delivery_options=closed)
        refused = team.invite(team.owner, _email("lost"), "viewer")
        assert refused.status == 502
        assert "The invitation email could not be sent" in refused.text
        assert team.octotp.store.list_invitations(team.project_id, team.octotp.clock.now()) == []
        assert "member.invited" not in team.actions()

    def test_a_stranger_gets_404_for_the_team_pages(self, console: MakeDashboard, mailbox: Mailbox) -> None:
        team = _team(console, mailbox)
        member = _email("member")
        team.join(member, "viewer")
        stranger_email = _email("stranger")
        team.mounted.create_account(stranger_email, PASSWORD)
        stranger = team.mounted.browser()
        assert stranger.login(stranger_email, PASSWORD).status == 303
        assert stranger.get(team.members_path).status == 404
        assert stranger.get(f"/projects/{uuid.uuid4()}/members").status == 404
        member_id = team.account_id(member)
        for path, fields in [
            ("/invitations", {"email": _email("x"), "role": "admin"}),
            (f"/members/{member_id}/role", {"role": "admin"}),
            (f"/members/{member_id}/remove", {}),
            ("/transfer", {"new_owner": team.account_id(stranger_email), "confirm": "Team project"}),
        ]:
            assert team.post(stranger, path, **fields).status == 404, path
        assert team.role_of(member) == "viewer"
        assert team.octotp.store.list_invitations(team.project_id, team.octotp.clock.now()) == []

    def test_invitation_tokens_and_addresses_never_reach_a_log(
        self, console: MakeDashboard, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        team = _team(console, mailbox)
        caplog.set_level(logging.DEBUG)  # every logger: octotp's and the framework's
        invitee, wrong = _email("logged"), _email("wrong")
        team.mounted.create_account(wrong, PASSWORD)
        team.join(invitee, "developer")
        path = team.link_path(invitee)
        wrong_browser = team.mounted.browser()
        wrong_browser.login(wrong, PASSWORD)
        assert team.invite(team.owner, wrong.replace("wrong", "other"), "viewer").status == 303
        other_path = team.link_path(wrong.replace("wrong", "other"))
        assert wrong_browser.get(other_path).status == 403
        assert team.mounted.browser().get(path).status == 404  # used
        secrets = [_invitation_token(path), _invitation_token(other_path), invitee, wrong.replace("wrong", "other")]
        # Every record of the app's side: not the test mail server's (aiosmtpd's "mail.log" stands in for
        # a remote server), nor a test client's (httpx logs the URL it requests, as a browser's history has it).
        records = [r for r in caplog.records if not r.name.startswith(("mail.log", "httpx"))]
        logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in records)
        assert "invitations/[redacted]" in logged  # the dashboard's own request lines name the page
        for secret in secrets:
            assert secret not in logged, secret
