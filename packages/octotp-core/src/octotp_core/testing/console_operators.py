"""Console conformance: operator pages, plans, suspension, disabled accounts, the plans page. Part of
``ConsoleSuite`` (see ``console.py`` for its fixtures).

Operators are made behind the pages (``MountedDashboard.octotp``), as ``octotp accounts create
--operator`` would; everything an operator then does goes through the pages and the API.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from ..store import Account
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

MakeDashboard = Callable[..., MountedDashboard]

PLANS: dict[str, dict[str, Any]] = {
    "free": {"creates_per_minute": 60, "creates_per_month": 1000, "description": "For trying it out.", "price": "Free"},
    "tiny": {"creates_per_minute": 2, "description": "Two a minute."},
}
"""Plans for the tests that need a limit they can reach (``tiny``) and a plan without a monthly figure."""


def _email(kind: str = "user") -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}@example.com"


def _signed_in(dashboard: MountedDashboard, email: str) -> DashboardBrowser:
    browser = dashboard.browser()
    assert browser.login(email, PASSWORD).status == 303
    return browser


def _operator(dashboard: MountedDashboard) -> tuple[Account, DashboardBrowser]:
    """An operator account (made as the CLI makes one) and a browser signed in to it."""
    assert dashboard.octotp is not None, "MountedDashboard.octotp must be the app's Octotp"
    account: Account = dashboard.octotp.accounts.create_account(_email("operator"), PASSWORD, operator=True)
    return account, _signed_in(dashboard, account.email)


def _new_project(browser: DashboardBrowser, name: str = "Shop") -> tuple[str, str]:
    """Create a project through the pages: (project id, its first API key)."""
    page = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": name}))
    key = new_key(page)
    assert key is not None
    return project_id(page), key


def _api(dashboard: MountedDashboard, path: str, payload: dict[str, Any], key: str | None) -> RawResult:
    headers = {"Host": HOST, "Content-Type": "application/json"}
    if key is not None:
        headers["X-Api-Key"] = key
    return dashboard.client.request(
        "POST", dashboard.api_prefix + path, headers=headers, body=json.dumps(payload).encode()
    )


def _create(dashboard: MountedDashboard, key: str, pid: str, email: str | None = None) -> RawResult:
    return _api(dashboard, "/api/tokens", {"projectId": pid, "recipientEmail": email or _email()}, key)


def _problem_code(result: RawResult) -> str | None:
    assert result.header("content-type") == "application/problem+json", (result.status, result.text)
    code: str | None = json.loads(result.body).get("code")
    return code


def _post(browser: DashboardBrowser, path: str, **fields: str) -> RawResult:
    return browser.post(path, {"csrf_token": browser.csrf_token(), **fields})


def _actions(dashboard: MountedDashboard, *, project: str | None = None, account: str | None = None) -> list[str]:
    """The audit log's actions for a project or an account."""
    assert dashboard.octotp is not None
    audit = dashboard.octotp.audit
    events = audit.for_project(project) if project else audit.for_account(account)
    return [e.action for e in reversed(events)]


class OperatorsSuite:
    """The operators pages, as every adapter must answer them."""

    # -- who sees the operator pages ---------------------------------------------------------------
    def test_operator_pages_do_not_exist_for_other_accounts(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        email, browser = owner
        pid, _ = _new_project(browser)
        assert dashboard.octotp is not None
        me = dashboard.octotp.accounts.account_by_email(email)
        unknown = browser.get("/operator/nothing-here")
        assert unknown.status == 404
        for path in ("/operator/accounts", "/operator/projects"):
            page = browser.get(path)
            assert page.status == 404, path
            assert page.text == unknown.text  # the same page as for a path that does not exist
        refused = [
            _post(browser, f"/operator/accounts/{me.id}/promote"),
            _post(browser, f"/operator/projects/{pid}/plan", plan="pro"),
            _post(browser, f"/operator/projects/{pid}/suspend"),
        ]
        assert [r.status for r in refused] == [404, 404, 404]
        assert not dashboard.octotp.accounts.account_by_email(email).is_operator
        project = dashboard.octotp.accounts.get_project(pid)
        assert (project.plan, project.suspended_at) == ("free", None)
        home = browser.get("/").text
        assert "/operator/" not in home  # no link to them either
        assert f'href="{dashboard.base}/plans"' in home

    def test_signed_out_visitors_are_sent_to_log_in(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        for path in ("/operator/accounts", "/operator/projects", "/plans"):
            page = browser.get(path)
            assert (page.status, page.header("location")) == (303, dashboard.base + "/login"), path

    def test_operator_sees_every_account_and_project(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        email, browser = owner
        pid, key = _new_project(browser, "Owner's <shop>")
        assert _create(dashboard, key, pid).status == 201
        operator, ops = _operator(dashboard)
        home = ops.get("/").text
        assert f'href="{dashboard.base}/operator/accounts"' in home
        assert f'href="{dashboard.base}/operator/projects"' in home

        accounts = ops.get("/operator/accounts")
        assert accounts.status == 200
        row = _row(accounts, "account", _account_id(dashboard, email))
        assert email in row
        assert re.findall(r"<td>([^<]*)</td>", row)[:3] == ["yes", "no", "yes"]  # verified, operator, active
        assert "<td>1</td>" in row  # projects owned
        assert f"{dashboard.base}/operator/accounts/{_account_id(dashboard, email)}/disable" in row
        own = _row(accounts, "account", operator.id)
        assert "(you)" in own
        assert "<form" not in own  # nothing to press against oneself

        projects = ops.get("/operator/projects")
        assert projects.status == 200
        row = _row(projects, "project", pid)
        assert "Owner&#39;s &lt;shop&gt;" in row
        assert email in row
        assert '<option value="free" selected>free</option>' in row
        assert "active" in row
        assert "<td>1</td>" in row  # this month's creates
        assert ops.get(f"/projects/{pid}").status == 200  # an operator may open any project

    # -- plans -------------------------------------------------------------------------------------
    def test_operator_sets_a_plan_and_the_rate_limit_follows(self, make_dashboard: MakeDashboard) -> None:
        dashboard = make_dashboard(plans=PLANS)
        assert dashboard.octotp is not None
        email = _email("owner")
        dashboard.create_account(email, PASSWORD)
        browser = _signed_in(dashboard, email)
        pid, key = _new_project(browser)
        first = _create(dashboard, key, pid)
        assert (first.status, first.header("ratelimit-limit")) == (201, "60")

        # The owner's settings form never changes the plan, whatever it sends.
        settings = _post(browser, f"/projects/{pid}/settings", name="Shop", plan="tiny")
        assert settings.status == 303
        assert dashboard.octotp.accounts.get_project(pid).plan == "free"

        _, ops = _operator(dashboard)
        assert _post(ops, f"/operator/projects/{pid}/plan", plan="tiny").header("location") == (
            dashboard.base + "/operator/projects"
        )
        assert dashboard.octotp.accounts.get_project(pid).plan == "tiny"
        assert '<option value="tiny" selected>tiny</option>' in _row(ops.get("/operator/projects"), "project", pid)
        results = [_create(dashboard, key, pid) for _ in range(3)]
        assert [r.status for r in results] == [201, 201, 429]
        assert results[0].header("ratelimit-limit") == "2"
        assert _problem_code(results[2]) == "rate_limited"

        refused = _post(ops, f"/operator/projects/{pid}/plan", plan="platinum")
        assert refused.status == 400
        assert "plan: must be one of free, tiny" in refused.text
        assert dashboard.octotp.accounts.get_project(pid).plan == "tiny"
        assert "project.plan_changed" in _actions(dashboard, project=pid)
        (changed,) = [e for e in dashboard.octotp.audit.for_project(pid) if e.action == "project.plan_changed"]
        assert changed.detail == "free → tiny"
        assert changed.actor_id is not None

    def test_plans_page_shows_this_months_use_against_the_plan(self, make_dashboard: MakeDashboard) -> None:
        dashboard = make_dashboard(plans=PLANS)
        octotp = dashboard.octotp
        assert octotp is not None
        email = _email("owner")
        dashboard.create_account(email, PASSWORD)
        browser = _signed_in(dashboard, email)
        pid, key = _new_project(browser, "Metered")
        other, _ = _new_project(browser, "Unmetered")
        octotp.accounts.set_plan(other, "tiny")
        for _ in range(3):
            assert _create(dashboard, key, pid).status == 201
        # Last month's counts are not this month's use.
        today = octotp.clock.now().astimezone(dt.timezone.utc).date()
        octotp.store.add_usage(pid, today.replace(day=1) - dt.timedelta(days=1), created=500)

        page = browser.get("/plans")
        assert page.status == 200
        metered = _block(page, f"plan-use-{pid}")
        assert "Metered" in metered
        assert "Plan <strong>free</strong>" in metered
        assert re.search(r'<meter [^>]*min="0" max="1000" value="3"', metered), metered
        assert "3 of 1,000 (0%)" in metered
        assert "At most 60 codes created per minute" in metered
        unmetered = _block(page, f"plan-use-{other}")
        assert "Plan <strong>tiny</strong>" in unmetered
        assert "<meter" not in unmetered
        assert "0 codes created this month" in unmetered
        every = _block(page, "plan-free")
        assert "For trying it out." in every
        assert "Free" in every
        assert "1,000 per project" in every
        assert "Two a minute." in _block(page, "plan-tiny")
        # Another account's projects are not on the page.
        stranger = _email("stranger")
        dashboard.create_account(stranger, PASSWORD)
        assert pid not in _signed_in(dashboard, stranger).get("/plans").text

    # -- suspension --------------------------------------------------------------------------------
    def test_suspended_projects_keys_are_refused_until_resumed(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        pid, key = _new_project(browser)
        user = _email()
        code = json.loads(_create(dashboard, key, pid, user).body)["code"]
        _, ops = _operator(dashboard)
        assert _post(ops, f"/operator/projects/{pid}/suspend").status == 303
        assert "suspended" in _row(ops.get("/operator/projects"), "project", pid)

        created = _create(dashboard, key, pid)
        assert (created.status, _problem_code(created)) == (403, "project_suspended")
        validate = {"projectId": pid, "recipientEmail": user, "code": code}
        refused = _api(dashboard, "/api/tokens/validate", validate, key)
        assert (refused.status, _problem_code(refused)) == (403, "project_suspended")
        assert 'id="project-suspended"' in browser.get(f"/projects/{pid}").text  # the owner is told

        assert _post(ops, f"/operator/projects/{pid}/resume").status == 303
        assert 'id="project-suspended"' not in browser.get(f"/projects/{pid}").text
        approved = _api(dashboard, "/api/tokens/validate", validate, key)
        assert json.loads(approved.body) == {"isValid": True, "status": "approved"}  # the refusal spent nothing
        assert _create(dashboard, key, pid).status == 201
        assert {"project.suspended", "project.resumed"} <= set(_actions(dashboard, project=pid))

    def test_a_suspended_project_refuses_anonymous_validates_too(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        pid, key = _new_project(browser)
        assert dashboard.octotp is not None
        dashboard.octotp.accounts.configure_project(pid, validate_requires_key=False)
        user = _email()
        code = json.loads(_create(dashboard, key, pid, user).body)["code"]
        _, ops = _operator(dashboard)
        _post(ops, f"/operator/projects/{pid}/suspend")
        anonymous = _api(
            dashboard, "/api/tokens/validate", {"projectId": pid, "recipientEmail": user, "code": code}, None
        )
        assert (anonymous.status, _problem_code(anonymous)) == (403, "project_suspended")

    # -- disabling, promoting ----------------------------------------------------------------------
    def test_a_disabled_account_is_signed_out_and_cannot_sign_in(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        email, browser = owner
        assert browser.get("/").status == 200
        account_id = _account_id(dashboard, email)
        _, ops = _operator(dashboard)
        assert _post(ops, f"/operator/accounts/{account_id}/disable").header("location") == (
            dashboard.base + "/operator/accounts"
        )
        signed_out = browser.get("/")
        assert (signed_out.status, signed_out.header("location")) == (303, dashboard.base + "/login")
        login = dashboard.browser().login(email, PASSWORD)
        wrong = dashboard.browser().login(email, "not the password")
        assert login.status == wrong.status == 200
        assert "Invalid email or password." in login.text
        assert login.text.replace(hidden_field(login, "csrf_token"), "") == wrong.text.replace(
            hidden_field(wrong, "csrf_token"), ""
        )  # the generic answer: nothing says the account is disabled
        assert "disabled" in _row(ops.get("/operator/accounts"), "account", account_id)

        assert _post(ops, f"/operator/accounts/{account_id}/enable").status == 303
        assert dashboard.browser().login(email, PASSWORD).status == 303
        assert {"account.disabled", "account.enabled"} <= set(_actions(dashboard, account=account_id))

    def test_an_operator_cannot_disable_or_demote_itself(self, dashboard: MountedDashboard) -> None:
        operator, ops = _operator(dashboard)
        for action in ("disable", "demote"):
            refused = _post(ops, f"/operator/accounts/{operator.id}/{action}")
            assert refused.status == 403, action
            assert "cannot" in refused.text
        assert dashboard.octotp is not None
        still = dashboard.octotp.accounts.account_by_email(operator.email)
        assert (still.is_active, still.is_operator) == (True, True)
        assert ops.get("/operator/accounts").status == 200  # and still signed in

    def test_an_operator_promotes_and_demotes_another_account(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        email, browser = owner
        account_id = _account_id(dashboard, email)
        _, ops = _operator(dashboard)
        assert _post(ops, f"/operator/accounts/{account_id}/promote").status == 303
        assert browser.get("/operator/accounts").status == 200  # at once, in the session it has
        assert _post(ops, f"/operator/accounts/{account_id}/demote").status == 303
        assert browser.get("/operator/accounts").status == 404
        assert _post(ops, f"/operator/accounts/{uuid.uuid4()}/disable").status == 404
        assert _post(ops, "/operator/accounts/not-an-id/disable").status == 404
        granted_and_revoked = {"account.operator_granted", "account.operator_revoked"}
        assert granted_and_revoked <= set(_actions(dashboard, account=account_id))

    # -- the landing page --------------------------------------------------------------------------
    def test_landing_page_only_while_sign_up_is_open(self, make_dashboard: MakeDashboard) -> None:
        closed = make_dashboard()
        redirected = closed.browser().get("/welcome")
        assert (redirected.status, redirected.header("location")) == (303, closed.base + "/")
        opened = make_dashboard(dashboard_signup="open", plans=PLANS)
        page = opened.browser().get("/welcome")
        assert page.status == 200
        assert f'href="{opened.base}/signup"' in page.text
        assert opened.browser().get("/signup").status == 200  # the link leads to the sign-up page
        assert f'href="{opened.base}/login"' in page.text
        assert "For trying it out." in _block(page, "plan-free")
        assert "Two a minute." in _block(page, "plan-tiny")
        assert opened.browser().post("/welcome", {}).status == 405


def _account_id(dashboard: MountedDashboard, email: str) -> str:
    assert dashboard.octotp is not None
    account_id: str = dashboard.octotp.accounts.account_by_email(email).id
    return account_id


def _row(page: RawResult, kind: str, row_id: str) -> str:
    """The table row ``<tr id="{kind}-{row_id}">`` of a page."""
    found = re.search(rf'<tr id="{kind}-{re.escape(row_id)}">(.*?)</tr>', page.text, re.S)
    assert found is not None, f"no {kind} row {row_id} on the page"
    return found.group(1)


def _block(page: RawResult, element_id: str) -> str:
    """The list item ``<li ... id="{element_id}">`` of a page."""
    found = re.search(rf'<li [^>]*id="{re.escape(element_id)}">(.*?)</li>', page.text, re.S)
    assert found is not None, f"no {element_id} on the page"
    return found.group(1)
