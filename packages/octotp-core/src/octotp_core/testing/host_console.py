"""The console conformance suite with the host app's own login (``console.host``), for every adapter.

An adapter's test class subclasses ``HostConsoleSuite`` and provides ``make_dashboard(**settings)``,
as for ``ConsoleSuite``, returning a ``MountedDashboard`` whose ``host`` is the test host app's
``HostDriver`` (its users and its real login page) and whose ``create_account`` is
``host_create_account(octotp, driver)``.

The suite runs the dashboard, teams and project-page suites unchanged through the host's login
(octotp's own login, sign-up and password pages do not exist there), and what only the host's
login does: anonymous visitors sent to the host's login page, host permissions, operators, and the
403 for a host user with no permission on every page and action.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from ..core import Octotp
from ..store import Account
from .console import ConsoleFixtures, MakeDashboard
from .console_projects import ProjectPagesSuite, make_project
from .console_teams import TeamsSuite
from .console_webhooks import WebhooksSuite
from .dashboard import PASSWORD, DashboardBrowser, DashboardSuite, HostDriver, MountedDashboard, hidden_field, new_key
from .mailbox import Mailbox

_OWN_ACCOUNT_PAGES = ("/login", "/setup", "/signup", "/verify", "/reset", "/reset/code", "/account")
_ID = "00000000-0000-4000-8000-000000000000"
_EVERY_PAGE = (
    "/",
    "/plans",
    f"/projects/{_ID}",
    f"/projects/{_ID}/tokens",
    f"/projects/{_ID}/members",
    f"/projects/{_ID}/audit",
    f"/projects/{_ID}/delete",
    f"/projects/{_ID}/webhooks",
    f"/projects/{_ID}/webhooks/{_ID}",
    f"/projects/{_ID}/webhooks/{_ID}/delete",
    "/account/activity",
    "/operator/accounts",
    "/operator/projects",
)
_EVERY_ACTION = (
    "/projects",
    f"/projects/{_ID}/settings",
    f"/projects/{_ID}/keys",
    f"/projects/{_ID}/tokens",
    f"/projects/{_ID}/delete",
    f"/projects/{_ID}/invitations",
    f"/projects/{_ID}/members/{_ID}/role",
    f"/projects/{_ID}/members/{_ID}/remove",
    f"/projects/{_ID}/transfer",
    f"/projects/{_ID}/webhooks",
    f"/projects/{_ID}/webhooks/{_ID}",
    f"/projects/{_ID}/webhooks/{_ID}/secret",
    f"/projects/{_ID}/webhooks/{_ID}/delete",
    f"/projects/{_ID}/webhooks/{_ID}/messages/{_ID}/resend",
    f"/operator/projects/{_ID}/plan",
    f"/operator/accounts/{_ID}/disable",
)


def host_create_account(octotp: Octotp, driver: HostDriver) -> Callable[[str, str], Account]:
    """``MountedDashboard.create_account`` for a host-login app: a host user who may create projects."""

    def create(email: str, password: str) -> Account:
        return octotp.accounts.host_account(driver.create_user(email, password, permissions={"add_project"}))

    return create


def _email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.com"


def _host(dashboard: MountedDashboard) -> HostDriver:
    assert dashboard.host is not None, "HostConsoleSuite needs MountedDashboard.host (the host app's HostDriver)"
    return dashboard.host


def _signed_in(dashboard: MountedDashboard, who: str = "user", **user: object) -> tuple[str, DashboardBrowser]:
    """A new host user (``permissions=...``, ``operator=...``) signed in on the host's page, and their browser."""
    email = _email(who)
    _host(dashboard).create_user(email, PASSWORD, **user)  # type: ignore[arg-type]
    browser = dashboard.browser()
    answer = _host(dashboard).login(browser, email, PASSWORD)
    assert answer.status in (302, 303), answer.text[:300]
    return email, browser


def _project_names(dashboard: MountedDashboard) -> set[str]:
    return {p.name for p in dashboard.octotp.accounts.list_projects()}


def _project_of_someone_else(dashboard: MountedDashboard) -> tuple[str, str]:
    """A project an owner made (id, name), for host users who reach it by their host permissions."""
    email = _email("owner")
    dashboard.create_account(email, PASSWORD)
    browser = dashboard.browser()
    assert browser.login(email, PASSWORD).status == 303
    project = make_project(browser)
    return project.id, project.name


class HostLoginSuite:
    """What only the host's login does, identically in every adapter."""

    def test_anonymous_visitors_go_to_the_hosts_login_with_next(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        login = _host(dashboard).login_path
        for path in ("/", f"/projects/{_ID}?page=2", "/operator/accounts"):
            answer = browser.get(path)
            assert answer.status == 303, (path, answer.status)
            wanted = quote(dashboard.base + path, safe="/")
            assert answer.header("location") == f"{login}?next={wanted}", answer.headers
        name = f"anonymous {uuid.uuid4().hex}"
        posted = browser.post("/projects", {"name": name})
        assert posted.status == 303
        assert (posted.header("location") or "").startswith(login + "?next=")
        assert name not in _project_names(dashboard)

    def test_the_hosts_login_opens_the_dashboard_without_a_second_login(self, dashboard: MountedDashboard) -> None:
        email, browser = _signed_in(dashboard, permissions={"add_project"})
        home = browser.get("/")
        assert home.status == 200, home.text
        assert email in home.text
        assert "octotp_session" in browser.cookies  # octotp's own small session, started on the way
        for path in _OWN_ACCOUNT_PAGES:  # octotp's own login and password pages do not exist here
            assert browser.get(path).status == 404, path
        assert 'href="/dashboard/account"' not in home.text.replace(dashboard.base, "/dashboard")

    def test_a_host_user_without_permission_gets_403_on_every_page_and_action(
        self, dashboard: MountedDashboard
    ) -> None:
        _, browser = _signed_in(dashboard, "nobody")
        token = "x" * 43
        for path in _EVERY_PAGE:
            answer = browser.get(path)
            assert answer.status == 403, (path, answer.status)
            assert "Not allowed" in answer.text
        name = f"nobody's {uuid.uuid4().hex}"
        for path in _EVERY_ACTION:
            answer = browser.post(path, {"csrf_token": token, "name": name})
            assert answer.status == 403, (path, answer.status)
        assert name not in _project_names(dashboard)

    def test_add_project_makes_an_owner_and_the_audit_log_names_the_host_user(
        self, dashboard: MountedDashboard
    ) -> None:
        email, browser = _signed_in(dashboard, permissions={"add_project"})
        project = make_project(browser, "Hosted")
        octotp = dashboard.octotp
        owner = octotp.store.get_account(octotp.store.get_project(project.id).owner_id)
        assert owner.email == email
        assert owner.external_id is not None
        events = octotp.store.list_audit_events(project_id=project.id, limit=10)
        assert {e.action for e in events} >= {"project.created", "key.created"}
        assert all(email in e.actor for e in events), [e.actor for e in events]
        assert dashboard.create_token(project.key, project.id, "jane@example.com").status == 201

    def test_without_add_project_a_host_user_cannot_create_projects(self, dashboard: MountedDashboard) -> None:
        _project_of_someone_else(dashboard)
        _, browser = _signed_in(dashboard, "viewer", permissions={"view_project"})
        home = browser.get("/")
        assert home.status == 200
        assert 'action="' + dashboard.base + '/projects"' not in home.text  # no create form
        refused = browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Not mine"})
        assert refused.status == 403

    def test_view_project_sees_every_project_read_only(self, dashboard: MountedDashboard) -> None:
        pid, name = _project_of_someone_else(dashboard)
        _, browser = _signed_in(dashboard, "viewer", permissions={"view_project"})
        assert name in browser.get("/").text
        page = browser.get(f"/projects/{pid}")
        assert page.status == 200
        assert "Save settings" not in page.text
        assert "Create API key" not in page.text
        token = browser.csrf_token()
        assert browser.post(f"/projects/{pid}/settings", {"csrf_token": token, "name": "Renamed"}).status == 403
        assert browser.post(f"/projects/{pid}/keys", {"csrf_token": token, "name": "k"}).status == 403
        assert browser.get(f"/projects/{pid}/audit").status == 403  # view_auditevent is another permission
        assert dashboard.octotp.store.get_project(pid).name == name

    def test_change_project_and_add_apikey_act_on_every_project(self, dashboard: MountedDashboard) -> None:
        pid, _ = _project_of_someone_else(dashboard)
        email, browser = _signed_in(dashboard, "admin", permissions={"change_project", "add_apikey", "view_auditevent"})
        token = browser.csrf_token()
        renamed = browser.post(f"/projects/{pid}/settings", {"csrf_token": token, "name": "Renamed by the host"})
        assert renamed.status == 303, renamed.text
        added = browser.post(f"/projects/{pid}/keys", {"csrf_token": token, "name": "host key"})
        key = new_key(browser.follow(added))
        assert key is not None
        assert dashboard.create_token(key, pid, "a@example.com").status == 201
        audit = browser.get(f"/projects/{pid}/audit")
        assert audit.status == 200
        assert email in audit.text
        assert browser.post(f"/projects/{pid}/delete", {"csrf_token": token, "confirm": "x"}).status == 403

    def test_view_and_change_webhookendpoint_reach_every_projects_webhooks(self, dashboard: MountedDashboard) -> None:
        pid, _ = _project_of_someone_else(dashboard)
        hooks = f"/projects/{pid}/webhooks"
        _, viewer = _signed_in(dashboard, "viewer", permissions={"view_webhookendpoint"})
        assert 'id="webhooks-link"' in viewer.get(f"/projects/{pid}").text
        assert viewer.get(hooks).status == 200
        form = {"csrf_token": viewer.csrf_token(), "url": "https://hooks.example.com/host"}
        assert viewer.post(hooks, form).status == 403
        assert dashboard.octotp.webhooks.for_project(pid) == []
        _, manager = _signed_in(dashboard, "manager", permissions={"change_webhookendpoint"})
        added = manager.post(hooks, {**form, "csrf_token": manager.csrf_token()})
        assert added.status == 303, added.text
        assert 'id="webhook-secret"' in manager.follow(added).text
        assert [e.url for e in dashboard.octotp.webhooks.for_project(pid)] == ["https://hooks.example.com/host"]
        _, other = _signed_in(dashboard, "other", permissions={"view_project"})  # the project, not its webhooks
        assert other.get(hooks).status == 403

    def test_operators_by_flag_or_by_the_operate_permission(self, dashboard: MountedDashboard) -> None:
        pid, _ = _project_of_someone_else(dashboard)
        for user in ({"operator": True}, {"permissions": {"operate"}}):
            _, browser = _signed_in(dashboard, "operator", **user)
            accounts = browser.get("/operator/accounts")
            assert accounts.status == 200, user
            assert browser.get(f"/projects/{pid}").status == 200
        _, plain = _signed_in(dashboard, "plain", permissions={"add_project"})
        assert plain.get("/operator/accounts").status == 404

    def test_a_disabled_host_account_is_refused(self, dashboard: MountedDashboard) -> None:
        email, browser = _signed_in(dashboard, permissions={"add_project"})
        assert browser.get("/").status == 200
        store = dashboard.octotp.store
        store.update_account(dataclasses.replace(store.get_account_by_email(email), is_active=False))
        assert browser.get("/").status == 403

    def test_forms_need_the_sessions_csrf_token_and_the_same_origin(self, dashboard: MountedDashboard) -> None:
        _, browser = _signed_in(dashboard, permissions={"add_project"})
        token, name = browser.csrf_token(), f"forged {uuid.uuid4().hex}"
        assert browser.post("/projects", {"csrf_token": "x" * 43, "name": name}).status == 403
        assert browser.post("/projects", {"name": name}).status == 403
        cross = browser.post("/projects", {"csrf_token": token, "name": name}, {"Origin": "https://evil.example"})
        assert cross.status == 403
        assert name not in _project_names(dashboard)

    def test_each_host_user_has_their_own_session(self, dashboard: MountedDashboard) -> None:
        """A dashboard cookie left from one host user never serves another (the new key shown once
        stays with the user who made it)."""
        _, first = _signed_in(dashboard, "first", permissions={"add_project"})
        posted = first.post("/projects", {"csrf_token": first.csrf_token(), "name": "First's"})
        assert posted.status == 303
        left = first.cookies["octotp_session"]
        _, second = _signed_in(dashboard, "second", permissions={"add_project", "view_project"})
        second.cookies["octotp_session"] = left
        path = (posted.header("location") or "")[len(dashboard.base) :]
        page = second.get(path)
        assert page.status == 200
        assert new_key(page) is None
        assert second.cookies["octotp_session"] != left  # a session of its own replaced it
        assert dashboard.octotp.store.get_session(left) is None  # ... and the cookie's one ended

    def test_sign_out_ends_octotps_session_and_leads_to_the_host(self, dashboard: MountedDashboard) -> None:
        _, browser = _signed_in(dashboard, permissions={"add_project"})
        home = browser.get("/")
        session = browser.cookies["octotp_session"]
        out = browser.post("/logout", {"csrf_token": hidden_field(home, "csrf_token")})
        assert out.status == 303
        assert not (out.header("location") or "").startswith(dashboard.base)
        assert dashboard.octotp.store.get_session(session) is None
        again = browser.get("/")  # still signed in at the host: a new small session, no login
        assert again.status == 200
        assert browser.cookies["octotp_session"] != session

    def test_an_invited_host_user_without_permission_joins_and_sees_only_that_project(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        mounted = console()
        owner_email = _email("owner")
        mounted.create_account(owner_email, PASSWORD)
        owner = mounted.browser()
        assert owner.login(owner_email, PASSWORD).status == 303
        shared, private = make_project(owner, "Shared"), make_project(owner, "Private")
        guest = _email("guest")
        fields = {"csrf_token": owner.csrf_token(), "email": guest, "role": "viewer"}
        assert owner.post(f"/projects/{shared.id}/invitations", fields).status == 303
        _host(mounted).create_user(guest, PASSWORD)
        browser = mounted.browser()
        assert browser.login(guest, PASSWORD).status == 303
        assert browser.get("/").status == 403  # no permission, no project yet
        path = urlsplit(mailbox.link_for(guest, "invited you")).path[len(mounted.base) :]
        anonymous = mounted.browser().get(path)  # the link, opened signed out: the host's login first
        assert (anonymous.header("location") or "").startswith(_host(mounted).login_path + "?next=")
        page = browser.get(path)
        assert page.status == 200, page.text
        joined = browser.post(path + "/join", {"csrf_token": hidden_field(page, "csrf_token")})
        assert (joined.status, joined.header("location")) == (303, f"{mounted.base}/projects/{shared.id}")
        home = browser.get("/")
        assert home.status == 200
        assert "Shared" in home.text
        assert "Private" not in home.text
        assert browser.get(f"/projects/{private.id}").status == 404
        account = mounted.octotp.store.get_account_by_email(guest)
        assert mounted.octotp.store.get_member(shared.id, account.id).role == "viewer"


class HostConsoleSuite(ConsoleFixtures, HostLoginSuite, DashboardSuite, TeamsSuite, ProjectPagesSuite, WebhooksSuite):
    """The console through the host's login: every page and rule that does not belong to octotp's own
    accounts, and the host login's own."""

    # octotp's own login, sign-up and password pages, which do not exist with the host's login:
    test_signed_out_pages_redirect_to_login = None  # type: ignore[assignment]
    test_login_page_headers_and_csrf_cookie = None  # type: ignore[assignment]
    test_every_page_carries_a_request_id = None  # type: ignore[assignment]
    test_login_sets_a_session_cookie_and_logout_ends_it = None  # type: ignore[assignment]
    test_unknown_email_and_wrong_password_answer_the_same = None  # type: ignore[assignment]
    # HostLoginSuite has its own version of this one:
    test_posts_without_csrf_token_or_from_another_site_are_refused = None  # type: ignore[assignment]
    test_invitation_mail_sign_up_makes_a_verified_member_with_the_role = None  # type: ignore[assignment]
    test_an_existing_account_logs_in_from_the_link_and_joins = None  # type: ignore[assignment]
    test_login_next_stays_inside_the_dashboard = None  # type: ignore[assignment]
    test_audit_logs_of_the_project_and_the_account = None  # type: ignore[assignment]  # failed sign-ins: the host's
    # Links opened signed out (the host's login comes first there: HostLoginSuite checks it):
    test_expired_reused_cancelled_and_unknown_links_get_the_same_404 = None  # type: ignore[assignment]
    test_inviting_again_replaces_the_open_invitation = None  # type: ignore[assignment]
    test_invitation_tokens_and_addresses_never_reach_a_log = None  # type: ignore[assignment]
    # A removed member with no host permission left gets the 403 of HostLoginSuite, not a 404:
    test_removing_a_member_and_leaving = None  # type: ignore[assignment]
