"""Dashboard pages: operators (every account and project, plans, disabling, suspending), the plans
page and the public landing page.

The operator pages answer 404 to every other account, as if they did not exist. What an operator's
form changes is decided in ``octotp_core.console.operators`` (the CLI makes the same changes), and
plan and suspension changes also pass ``project.plan`` / ``project.suspend`` in
``octotp_core.console.permissions``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from ..console.operators import OperatorActions
from ..errors import InvalidInput, NotFound
from ..http.messages import Response
from ..http.routes import DASHBOARD_PATH
from ..settings import Plan
from ..store import Account, Project
from .routing import PROJECT, Route, ViewArea, route
from .views import DashboardRequest

ACCOUNT = r"(?P<account_id>[^/]+)"
"""The path segment of an account id (a view gets it as ``account_id``)."""
LANDING_PATH = "/welcome"
"""The public landing page (with open sign-up), which the standalone service also serves at ``/``."""

AccountAction = Literal["disable", "enable", "promote", "demote"]
ProjectAction = Literal["suspend", "resume"]


@dataclass(frozen=True)
class PlanUse:
    """One project's plan and this calendar month's use against it, as the plans page shows them."""

    project: Project
    plan_name: str
    """The plan whose limits apply (the default plan when the project's is no longer in settings)."""
    plan: Plan
    used: int
    """Codes created since the 1st of this month (UTC)."""

    @property
    def plan_missing(self) -> bool:
        """The project's plan is not defined in settings (the default plan's limits apply)."""
        return self.plan_name != self.project.plan

    @property
    def percent(self) -> int | None:
        """``used`` as a whole percentage of ``creates_per_month`` (None without a monthly figure)."""
        limit = self.plan.creates_per_month
        return None if limit is None else round(100 * self.used / limit)


def month_start(now: dt.datetime) -> dt.date:
    """The 1st of ``now``'s calendar month in UTC (usage days are UTC days)."""
    return now.astimezone(dt.timezone.utc).date().replace(day=1)


class OperatorViews(ViewArea):
    """The operator pages, the plans page and the landing page."""

    def routes(self) -> list[Route]:
        return [
            route("/operator/accounts", GET=self.accounts_page),
            route(f"/operator/accounts/{ACCOUNT}/(?P<action>disable|enable|promote|demote)", POST=self.account_action),
            route("/operator/projects", GET=self.projects_page),
            route(f"/operator/projects/{PROJECT}/plan", POST=self.set_plan),
            route(f"/operator/projects/{PROJECT}/(?P<action>suspend|resume)", POST=self.project_action),
            route("/plans", GET=self.plans_page),
            route(LANDING_PATH, signed_in=False, own_accounts=True, GET=self.landing),
        ]

    # -- shared ------------------------------------------------------------------------------
    def _operator(self, call: DashboardRequest) -> Account:
        """The signed-in operator; ``NotFound`` for anyone else (the pages do not exist for them)."""
        assert call.active is not None
        account = call.active.account
        if not account.is_operator:
            raise NotFound("no such page")
        return account

    def _month_use(self, project_id: str, since: dt.date) -> int:
        # Through TokenService: it writes this process's pending counters first (UsageMeter).
        return sum(day.created for day in self.octotp.tokens.usage(project_id, since))

    def _plan_of(self, project: Project) -> tuple[str, Plan]:
        """The plan whose limits apply to ``project``: its own, or the default one when its plan was
        removed from settings (what ``TokenService`` enforces then)."""
        settings = self.octotp.settings
        name = project.plan if project.plan in settings.plans else settings.default_plan
        return name, settings.plans[name]

    # -- operator: accounts --------------------------------------------------------------------
    def accounts_page(self, call: DashboardRequest) -> Response:
        operator = self._operator(call)
        store = self.octotp.store
        owned = Counter(p.owner_id for p in self.octotp.accounts.list_projects() if p.owner_id)
        return self.views.page(
            call,
            200,
            "operator_accounts.html",
            accounts=store.list_accounts(),
            owned=owned,
            me=operator,
        )

    def account_action(self, call: DashboardRequest, account_id: str, action: AccountAction) -> Response:
        operator = self._operator(call)
        actions = OperatorActions(self.octotp)
        target = actions.account(account_id)
        address = call.request.client
        if action in ("disable", "enable"):
            actions.set_active(target, action == "enable", actor=operator, address=address)
        else:
            actions.set_operator(target, action == "promote", actor=operator, address=address)
        return call.redirect("/operator/accounts")

    # -- operator: projects --------------------------------------------------------------------
    def projects_page(self, call: DashboardRequest, *, status: int = 200, errors: list[str] | None = None) -> Response:
        self._operator(call)
        store, settings = self.octotp.store, self.octotp.settings
        emails = {a.id: a.email for a in store.list_accounts()}
        since = month_start(self.octotp.clock.now())
        rows = [(p, self._month_use(p.id, since)) for p in self.octotp.accounts.list_projects()]
        return self.views.page(
            call,
            status,
            "operator_projects.html",
            rows=rows,
            emails=emails,
            plans=list(settings.plans),
            month=since,
            errors=errors or [],
        )

    def set_plan(self, call: DashboardRequest, project_id: str) -> Response:
        operator = self._operator(call)
        project = self.access(call, project_id, "project.plan").project
        try:
            OperatorActions(self.octotp).set_plan(
                project.id, call.form("plan").strip(), actor=operator, address=call.request.client
            )
        except InvalidInput as exc:
            errors = [f"{project.name}: {e.field}: {e.reason}" for e in exc.errors]
            return self.projects_page(call, status=400, errors=errors)
        return call.redirect("/operator/projects")

    def project_action(self, call: DashboardRequest, project_id: str, action: ProjectAction) -> Response:
        operator = self._operator(call)
        project = self.access(call, project_id, "project.suspend").project
        OperatorActions(self.octotp).set_suspended(
            project.id, action == "suspend", actor=operator, address=call.request.client
        )
        return call.redirect("/operator/projects")

    # -- every account: the plans page ---------------------------------------------------------
    def plans_page(self, call: DashboardRequest) -> Response:
        assert call.active is not None
        settings = self.octotp.settings
        since = month_start(self.octotp.clock.now())
        uses = []
        for project in self.octotp.store.list_account_projects(call.active.account.id):
            name, plan = self._plan_of(project)
            uses.append(PlanUse(project, name, plan, self._month_use(project.id, since)))
        return self.views.page(
            call,
            200,
            "plans.html",
            uses=uses,
            plans=list(settings.plans.items()),
            default_plan=settings.default_plan,
            month=since,
        )

    # -- signed out: the landing page ----------------------------------------------------------
    def landing(self, call: DashboardRequest) -> Response:
        """What octotp is, its plans, sign-up and login: only while anyone may sign up; otherwise
        the dashboard (which asks a signed-out visitor to log in)."""
        settings = self.octotp.settings
        if settings.dashboard_signup != "open":
            return call.redirect("/")
        docs = self.views.api_docs
        site = call.base.removesuffix(DASHBOARD_PATH)
        return self.views.page(
            call,
            200,
            "landing.html",
            plans=list(settings.plans.items()),
            default_plan=settings.default_plan,
            api_docs=site + docs if docs else None,
        )
