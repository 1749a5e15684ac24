"""The operator pages, the plans page and the landing page, with JavaScript disabled at 390 px and
1280 px against ``octotp serve`` with open sign-up, each held to ``check_page`` (no axe-core
violation of any impact, no sideways scrolling, a screenshot when ``OCTOTP_TEST_SCREENSHOTS`` is set).

The accounts and projects are made in the server's database before it starts (as ``octotp accounts
create --operator`` would); everything after that goes through the pages' forms."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octotp_core import Octotp, Settings
from octotp_core.testing.servers import ServeProcess

from .counts import expect_count
from .quality import describe

pytestmark = pytest.mark.xdist_group("browser")

OPERATOR = "operator.with.a.rather.long.address@operations-team.example.com"
CUSTOMER = "customer.with.an.equally.long.address@customer-subdomain.example.com"
PASSWORD = "a long dashboard password"
PROJECT = "Checkout verification for the mobile storefront"
PLANS = (
    '{"free": {"creates_per_minute": 60, "creates_per_month": 10000, "description": "For trying octotp out.",'
    ' "price": "Free"}, "business": {"creates_per_minute": 6000, "creates_per_month": 10000000,'
    ' "description": "For busy sign-up pages and logins.", "price": "$99 / month"},'
    ' "unmetered": {"creates_per_minute": 100}}'
)

CheckPage = Callable[[Any, str], list[dict[str, Any]]]


@pytest.mark.parametrize("viewport", ["narrow", "wide"])
def test_operator_plans_and_landing_pages_meet_the_quality_bars(
    viewport: str, request: pytest.FixtureRequest, check_page: CheckPage, tmp_path: Path, test_secret: str
) -> None:
    page = request.getfixturevalue(f"{viewport}_page")
    width = page.viewport_size["width"]

    def check(name: str) -> None:
        shot = f"{name}-{width}"
        violations = check_page(page, shot)
        assert not violations, f"{shot}: axe-core found:\n{describe(violations)}"

    env = {
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DASHBOARD_SIGNUP": "open",
        "OCTOTP_PLANS": PLANS,
    }
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret, plans=json.loads(PLANS)))
    try:
        octotp.migrate()
        octotp.accounts.create_account(OPERATOR, PASSWORD, operator=True)
        customer = octotp.accounts.create_account(CUSTOMER, PASSWORD)
        project = octotp.accounts.create_project(PROJECT, customer).project
        octotp.accounts.create_project("Second project", customer)
        for n in range(3):
            octotp.create_token(project.id, email=f"user{n}@example.com")
    finally:
        octotp.close()

    with ServeProcess(env) as server:
        dashboard = f"{server.url}/dashboard"

        # Signed out, the service's own / is the landing page.
        page.goto(f"{server.url}/")
        assert page.locator("h1").inner_text() == "octotp"
        assert page.get_by_role("link", name="Sign up").get_attribute("href") == "/dashboard/signup"
        assert page.get_by_role("link", name="API documentation").get_attribute("href") == "/docs"
        assert page.locator("#plan-business").inner_text().count("$99 / month") == 1
        check("landing")

        # The operator's pages.
        page.goto(f"{dashboard}/login")
        page.fill("input[name=email]", OPERATOR)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{dashboard}/")
        page.get_by_role("link", name="All accounts").click()
        assert CUSTOMER in page.locator("#operator-accounts").inner_text()
        check("operator-accounts")
        page.get_by_role("button", name=f"Disable {CUSTOMER}").click()
        page.wait_for_url(f"{dashboard}/operator/accounts")
        assert "disabled" in page.locator("#operator-accounts").inner_text()
        check("operator-accounts-disabled")
        page.get_by_role("button", name=f"Enable {CUSTOMER}").click()

        page.get_by_role("link", name="All projects").click()
        row = page.locator(f"#project-{project.id}")
        assert "3" in row.inner_text()  # this month's creates
        check("operator-projects")
        row.get_by_label(f"Plan of {PROJECT}", exact=True).select_option("business")
        row.get_by_role("button", name=f"Set the plan of {PROJECT}").click()
        page.wait_for_url(f"{dashboard}/operator/projects")
        page.locator(f"#project-{project.id}").get_by_role("button", name=f"Suspend {PROJECT}").click()
        assert "suspended" in page.locator(f"#project-{project.id}").inner_text()
        check("operator-projects-suspended")

        # The customer's plans page: this month's use against the new plan.
        page.get_by_role("button", name="Log out").click()
        page.goto(f"{dashboard}/login")
        page.fill("input[name=email]", CUSTOMER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{dashboard}/")
        page.get_by_role("link", name="Plans").click()
        use = page.locator(f"#plan-use-{project.id}")
        assert "3 of 10,000,000 (0%)" in use.inner_text()
        assert use.locator("meter").get_attribute("value") == "3"
        check("plans")
        page.goto(f"{dashboard}/projects/{project.id}")
        expect_count(page.locator("#project-suspended"), 1)
        check("project-suspended")
