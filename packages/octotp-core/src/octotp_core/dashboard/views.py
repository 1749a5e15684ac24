"""The dashboard's pages. ``DashboardHandler`` routes to them after the session and CSRF gates, so a
view only does its own work: read the form, call ``AccountService``/the store, render a template."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..codes import MAX_CODE_LENGTH
from ..console.host import HostLogin
from ..console.permissions import Access, Action, may_issue_keys, project_access
from ..core import Octotp
from ..errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from ..http.messages import Request, Response
from ..http.models import wire_name
from ..store import Account, ApiKey, Project
from ..usage import freshness
from .chart import usage_chart, usage_summary
from .cookies import LOGIN_CSRF_COOKIE, SESSION_COOKIE, clear_cookie, set_cookie
from .csrf import login_form_token, tokens_match
from .rendering import render
from .sessions import ActiveSession, SessionManager
from .setup import first_account_id
from .snippets import api_base_url, snippets
from .throttle import LoginThrottle
from .token_rows import with_delivery

log = logging.getLogger("octotp.dashboard")

GENERIC_LOGIN_ERROR = "Invalid email or password."
RECENT_TOKENS = 10
USAGE_DAYS = 30
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_DASHBOARD_PATH = re.compile(r"(?:/[A-Za-z0-9_-]+)+")


def dashboard_path(value: str) -> str:
    """``value`` when it is a plain dashboard path ("/invitations/abc"), else "/": where a login's
    ``next`` may send the browser (always inside the dashboard, never another site)."""
    return value if _DASHBOARD_PATH.fullmatch(value) else "/"


@dataclass
class DashboardRequest:
    """One dashboard request on its way through the handler and a view: the neutral request, where the
    dashboard is mounted, the signed-in session, and the cookies to set on the answer."""

    request: Request
    base: str
    """Where the dashboard is mounted, as the browser sees it ("/dashboard")."""
    active: ActiveSession | None = None
    set_cookies: list[str] = field(default_factory=list)
    host_csrf: tuple[str, str] | None = None
    """The host app's own CSRF form field (name, value) that every form also carries (Django's)."""
    host_login: HostLogin | None = None
    """Set when the host app signs the dashboard in (``console.host``)."""

    @property
    def secure(self) -> bool:
        return self.request.scheme == "https"

    def form(self, name: str) -> str:
        """A form field's first value ("" when absent)."""
        values = self.request.form.get(name)
        return values[0] if values else ""

    def redirect(self, path: str) -> Response:
        """303 to a dashboard path."""
        return Response.redirect(self.base + path)

    def set_cookie(self, name: str, value: str) -> None:
        self.set_cookies.append(set_cookie(name, value, path=self.base, secure=self.secure))

    def clear_cookie(self, name: str) -> None:
        self.set_cookies.append(clear_cookie(name, path=self.base, secure=self.secure))


def _whole_number(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(FieldError(name, "must be a whole number")) from None


class DashboardViews:
    """Every page of the dashboard for one ``Octotp``."""

    def __init__(self, octotp: Octotp, sessions: SessionManager, throttle: LoginThrottle) -> None:
        self.octotp = octotp
        self.sessions = sessions
        self.throttle = throttle
        self._secret = octotp.settings.secrets()[0]
        self.api_docs: str | None = None
        """Where the API docs page is below octotp's mount prefix, when the app serves one (``DashboardHandler``)."""

    # -- shared ------------------------------------------------------------------------------
    def page(self, call: DashboardRequest, status: int, template: str, **context: Any) -> Response:
        """Render a template with what every page needs (mount path, account, CSRF token)."""
        active = call.active
        identity = active.identity if active else None
        return render(
            status,
            template,
            base=call.base,
            account=active.account if active else None,
            csrf_token=active.session.csrf_token if active else "",
            host_csrf=call.host_csrf,
            host_login=call.host_login is not None,
            who=identity.label if identity else None,
            **context,
        )

    def login_csrf_ok(self, call: DashboardRequest) -> bool:
        """The login/setup form's token matches its pre-session cookie."""
        cookie = call.request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not _COOKIE_VALUE.match(cookie):
            return False
        return tokens_match(login_form_token(self._secret, cookie), call.form("csrf_token"))

    def _login_form_token(self, call: DashboardRequest) -> str:
        cookie = call.request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not _COOKIE_VALUE.match(cookie):
            cookie = secrets.token_urlsafe(32)
            call.set_cookie(LOGIN_CSRF_COOKIE, cookie)
        return login_form_token(self._secret, cookie)

    def _sign_in(self, call: DashboardRequest, account: Account, to: str = "/") -> Response:
        """Start a new session (destroying the one the browser held) and go home (or to ``to``, a
        dashboard path)."""
        old = call.request.cookies.get(SESSION_COOKIE)
        session_id, call.active = self.sessions.start(account, replacing=old)
        call.set_cookie(SESSION_COOKIE, session_id)
        call.clear_cookie(LOGIN_CSRF_COOKIE)
        log.info("dashboard sign-in account=%s", account.id)
        return call.redirect(dashboard_path(to))

    def too_many_attempts(self, call: DashboardRequest, retry_after: int) -> Response:
        response = self.page(call, 429, "error.html", title="Too many attempts", retry_after=retry_after)
        response.headers.append(("Retry-After", str(retry_after)))
        return response

    # -- login, logout -----------------------------------------------------------------------
    def login_form(
        self, call: DashboardRequest, *, status: int = 200, error: str | None = None, email: str = ""
    ) -> Response:
        after = dashboard_path(call.form("next") or (call.request.query.get("next") or [""])[0])
        if call.active is not None and call.request.method.upper() == "GET":
            return call.redirect(after)
        return self.page(
            call,
            status,
            "login.html",
            form_token=self._login_form_token(call),
            error=error,
            email=email,
            next_path="" if after == "/" else after,
            signup=self.octotp.settings.dashboard_signup,
        )

    def login(self, call: DashboardRequest) -> Response:
        email, password = call.form("email"), call.form("password")
        # Throttled before any password hashing, so a flood costs no argon2 work.
        retry_after = self.throttle.hit(email, call.request.client)
        if retry_after is not None:
            return self.too_many_attempts(call, retry_after)
        account = self.octotp.accounts.authenticate_account(email, password)
        if account is None:
            log.info("dashboard sign-in refused")
            self._failed_sign_in(call, email)
            return self.login_form(call, error=GENERIC_LOGIN_ERROR, email=email)
        self.octotp.audit.record("account.sign_in", actor=account, address=call.request.client)
        return self._sign_in(call, account, call.form("next"))

    def _failed_sign_in(self, call: DashboardRequest, email: str) -> None:
        """A failed sign-in goes into the log of the account it named, if there is one (never the password)."""
        try:
            account = self.octotp.accounts.account_by_email(email)
        except (InvalidInput, NotFound):
            return
        self.octotp.audit.record(
            "account.sign_in_failed",
            actor=None,
            account_id=account.id,
            actor_label="someone",
            address=call.request.client,
        )

    def logout(self, call: DashboardRequest) -> Response:
        session_id = call.request.cookies.get(SESSION_COOKIE)
        if session_id:
            self.sessions.end(session_id)
        call.active = None
        call.clear_cookie(SESSION_COOKIE)
        if call.host_login is not None:  # the host's own session is the host's to end
            return Response.redirect(call.host_login.logout_url or "/")
        return call.redirect("/login")

    # -- first-run setup ---------------------------------------------------------------------
    def _setup_token_ok(self, given: str) -> bool:
        configured = self.octotp.settings.dashboard_setup_token
        if configured is None or not tokens_match(configured.get_secret_value(), given):
            return False
        return not self.octotp.store.list_accounts()

    def _setup_link_not_valid(self, call: DashboardRequest) -> Response:
        return self.page(call, 404, "error.html", title="Setup link not valid", retry_after=None)

    def setup_form(
        self, call: DashboardRequest, *, status: int = 200, errors: list[str] | None = None, email: str = ""
    ) -> Response:
        token = (call.request.query.get("token") or [""])[0] or call.form("setup_token")
        if not self._setup_token_ok(token):
            return self._setup_link_not_valid(call)
        return self.page(
            call,
            status,
            "setup.html",
            form_token=self._login_form_token(call),
            setup_token=token,
            errors=errors or [],
            email=email,
            password_min_length=self.octotp.settings.dashboard_password_min_length,
        )

    def setup(self, call: DashboardRequest) -> Response:
        retry_after = self.throttle.hit(None, call.request.client)
        if retry_after is not None:
            return self.too_many_attempts(call, retry_after)
        token = call.form("setup_token")
        if not self._setup_token_ok(token):
            return self._setup_link_not_valid(call)
        email, password = call.form("email"), call.form("password")
        if password != call.form("password_confirm"):
            return self.setup_form(call, status=400, errors=["The passwords do not match."], email=email)
        try:
            # Every submission of this link inserts the same account id: of concurrent ones, one wins.
            account = self.octotp.accounts.create_account(
                email, password, account_id=first_account_id(self._secret, token)
            )
        except InvalidInput as exc:
            return self.setup_form(call, status=400, errors=[e.reason for e in exc.errors], email=email)
        except Conflict:
            log.info("dashboard setup refused: the first account was created by another submission")
            return self._setup_link_not_valid(call)
        log.info("dashboard first account created account=%s", account.id)
        return self._sign_in(call, account)

    # -- projects ----------------------------------------------------------------------------
    def access(self, call: DashboardRequest, project_id: str, action: Action) -> Access:
        """The signed-in account's access to the project after ``require(action)``: ``NotFound`` when it
        has none (also for another account's project), ``Forbidden`` when its role may not."""
        assert call.active is not None
        access = project_access(self.octotp.store, call.active.account, project_id, call.active.granted)
        access.require(action)
        return access

    def audit(self, call: DashboardRequest, action: str, *, project_id: str | None = None, detail: str = "") -> None:
        """Record what the signed-in account just did (``octotp_core.console.audit``)."""
        assert call.active is not None
        identity = call.active.identity
        self.octotp.audit.record(
            action,
            actor=call.active.account,
            project_id=project_id,
            detail=detail,
            address=call.request.client,
            actor_label=identity.label if identity else None,
        )

    def projects(
        self, call: DashboardRequest, *, status: int = 200, errors: list[str] | None = None, name: str = ""
    ) -> Response:
        assert call.active is not None
        account = call.active.account
        if "project.view" in call.active.granted:  # a host permission that reaches every project
            projects = self.octotp.accounts.list_projects()
        else:
            projects = self.octotp.store.list_account_projects(account.id)
        return self.page(
            call,
            status,
            "projects.html",
            projects=projects,
            errors=errors or [],
            name=name,
            may_create=self.may_create_projects(call.active),
        )

    def may_create_projects(self, active: ActiveSession) -> bool:
        """A verified account may; a host user needs the host's ``add_project`` (or to be an operator)."""
        if active.identity is not None:
            return active.identity.may_create_projects or active.account.is_operator
        return may_issue_keys(active.account)

    def create_project(self, call: DashboardRequest) -> Response:
        assert call.active is not None
        # Plans are the operator's (CLI, Django admin): an owner's new project is on the default plan,
        # whatever the form sends.
        name = call.form("name")
        if active_host := call.active.identity:
            if not self.may_create_projects(call.active):
                raise Forbidden(f"{active_host.label} may not create projects (the host's add_project permission)")
        elif not may_issue_keys(call.active.account):
            raise Forbidden("verify your email address first: unverified accounts cannot create projects or API keys")
        try:
            created = self.octotp.accounts.create_project(name, call.active.account)
        except InvalidInput as exc:
            return self.projects(
                call, status=400, errors=[f"{wire_name(e.field)}: {e.reason}" for e in exc.errors], name=name
            )
        self.audit(call, "project.created", project_id=created.project.id, detail=created.project.name)
        self.audit(call, "key.created", project_id=created.project.id, detail=_key_detail(created.api_key.key))
        return self._show_new_key(call, created.project, created.api_key.secret)

    def _show_new_key(self, call: DashboardRequest, project: Project, secret: str) -> Response:
        """Post/Redirect/Get: keep the new key sealed in the session and 303 to the project page, which
        shows it once (so a reload re-submits nothing and shows nothing)."""
        return self.show_once(call, {"project": project.id, "key": secret}, f"/projects/{project.id}")

    def show_once(self, call: DashboardRequest, message: dict[str, str], to: str) -> Response:
        """Post/Redirect/Get for a secret: keep ``message`` sealed in the session and 303 to the page
        ``to``, which takes it (``take_once``) and shows it once, so a reload re-submits nothing and
        shows nothing."""
        assert call.active is not None
        if not self.sessions.set_flash(call.active, message):
            log.info("dashboard session ended before a secret could be shown path=%s", to)
        return call.redirect(to)

    def take_once(self, call: DashboardRequest, **matching: str) -> dict[str, str] | None:
        """The message a redirect brought to this page when it has every ``matching`` item (the page
        it was meant for), taken from the session in the same request: exactly one GET gets it; HEAD
        never does, since it would show nothing; another page leaves it for its own."""
        assert call.active is not None
        if call.request.method.upper() != "GET":
            return None
        message = self.sessions.peek_flash(call.active)
        if message is None:
            if call.active.session.flash is not None:  # unreadable (e.g. sealed under a rotated secret): drop it
                self.sessions.take_flash(call.active)
            return None
        if any(message.get(k) != v for k, v in matching.items()) or not self.sessions.take_flash(call.active):
            return None
        return message

    def _take_new_key(self, call: DashboardRequest, project: Project) -> str | None:
        """The key a redirect brought to this project's page (``take_once``)."""
        message = self.take_once(call, project=project.id)
        return None if message is None else message.get("key")

    def project(self, call: DashboardRequest, project_id: str) -> Response:
        access = self.access(call, project_id, "project.view")
        return self.project_page(call, access, new_key=self._take_new_key(call, access.project))

    def project_page(
        self,
        call: DashboardRequest,
        access: Access,
        *,
        status: int = 200,
        new_key: str | None = None,
        errors: list[str] | None = None,
    ) -> Response:
        store, settings = self.octotp.store, self.octotp.settings
        project = access.project
        now = self.octotp.clock.now()
        tokens = with_delivery(store, store.list_tokens(project.id, RECENT_TOKENS), now)
        # Through TokenService: it writes this process's pending counters first (UsageMeter).
        usage = self.octotp.tokens.usage(project.id, now.date() - dt.timedelta(days=USAGE_DAYS - 1))
        daily_limit, limit_label = self._usage_limit(project)
        return self.page(
            call,
            status,
            "project.html",
            project=project,
            access=access,
            defaults=settings,
            max_code_length=MAX_CODE_LENGTH,
            keys=store.list_api_keys(project.id),
            tokens=tokens,
            usage=list(reversed(usage)),
            usage_chart=usage_chart(
                usage, end=now.date(), length=USAGE_DAYS, daily_limit=daily_limit, limit_label=limit_label
            ),
            usage_summary=usage_summary(usage),
            snippets=snippets(api_base_url(call.request, call.base), project.id),
            usage_freshness=freshness(settings.usage_flush_seconds),
            new_key=new_key,
            errors=errors or [],
        )

    def _usage_limit(self, project: Project) -> tuple[float | None, str]:
        """The daily line the usage chart draws for a project, and its label: the plan's monthly
        creations spread over a 30-day month (None when the plan states no monthly figure)."""
        plan = self.octotp.settings.plans.get(project.plan)
        if plan is None or plan.creates_per_month is None:
            return None, "Plan limit"
        return round(plan.creates_per_month / 30), f"Plan {project.plan}, {plan.creates_per_month:,} a month"

    def update_project(self, call: DashboardRequest, project_id: str) -> Response:
        access = self.access(call, project_id, "project.configure")
        project = access.project
        accounts = self.octotp.accounts
        try:
            # No plan here: plans are changed only by an operator (CLI, Django admin). The account
            # service holds every other field to the operator's bounds.
            accounts.configure_project(
                project.id,
                name=call.form("name") or None,
                code_length=_whole_number(call.form("code_length"), "code_length"),
                expiry_default=_whole_number(call.form("expiry_default"), "expiry_default"),
                expiry_min=_whole_number(call.form("expiry_min"), "expiry_min"),
                expiry_max=_whole_number(call.form("expiry_max"), "expiry_max"),
                default_phone_region=call.form("default_phone_region").strip() or None,
                deliver_only=call.form("deliver_only") == "on",
                validate_requires_key=call.form("validate_requires_key") == "on",
            )
        except InvalidInput as exc:
            errors = [f"{wire_name(e.field)}: {e.reason}" for e in exc.errors]
            return self.project_page(call, access, status=400, errors=errors)
        self.audit(call, "project.settings_changed", project_id=project.id)
        return call.redirect(f"/projects/{project.id}")

    # -- API keys ----------------------------------------------------------------------------
    def create_key(self, call: DashboardRequest, project_id: str) -> Response:
        project = self.access(call, project_id, "keys.manage").project
        name = call.form("name").strip()[:200]
        issued = self.octotp.accounts.create_api_key(project.id, name)
        self.audit(call, "key.created", project_id=project.id, detail=_key_detail(issued.key))
        return self._show_new_key(call, project, issued.secret)

    def revoke_key(self, call: DashboardRequest, project_id: str, key_id: str) -> Response:
        project = self.access(call, project_id, "keys.manage").project
        key = next(
            (k for k in self.octotp.store.list_api_keys(project.id) if k.id == key_id and k.revoked_at is None), None
        )
        if key is None:
            raise NotFound("no such API key")
        self.octotp.accounts.revoke_api_key(key_id)
        self.audit(call, "key.revoked", project_id=project.id, detail=_key_detail(key))
        return call.redirect(f"/projects/{project.id}")


def _key_detail(key: ApiKey) -> str:
    """How the audit log names a key: its name and display prefix (never the key)."""
    return f"{key.name} ({key.prefix}…)"
