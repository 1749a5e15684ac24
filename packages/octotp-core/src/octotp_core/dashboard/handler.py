"""``DashboardHandler``: routing, the session and CSRF gates, security headers and error pages.

Every dashboard response is decided here, once; adapters only mount it and translate.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from urllib.parse import quote

from ..console.host import HostIdentity, HostLogin
from ..core import Octotp
from ..errors import Forbidden, NotFound, OctotpError, StorageUnavailable
from ..http.api import MAX_BODY_BYTES, request_id_for
from ..http.messages import Request, Response
from ..http.proxies import resolve_client
from .account_views import AccountViews
from .cookies import SESSION_COOKIE
from .csrf import same_origin, tokens_match
from .message_views import MessageViews
from .operator_views import LANDING_PATH, OperatorViews
from .project_views import ProjectViews
from .rendering import render, stylesheet
from .routing import PROJECT, Route, View, route
from .sessions import ActiveSession, SessionManager
from .team_views import TeamViews
from .throttle import LoginThrottle
from .views import DashboardRequest, DashboardViews
from .webhook_views import WebhookViews

log = logging.getLogger("octotp.dashboard")

SECURITY_HEADERS: list[tuple[str, str]] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
]
"""Sent on every dashboard response (pages also get ``Cache-Control: no-store``)."""


class DashboardHandler:
    """Answers the dashboard for one ``Octotp`` on neutral requests."""

    def __init__(self, octotp: Octotp, *, api_docs: str | None = None, host_login: HostLogin | None = None) -> None:
        """``api_docs``: where the API docs page is, below octotp's mount prefix (the standalone
        service passes ``/docs``); the landing page links to it. ``host_login``: the host app signs
        the dashboard in (each request's ``identity``), not octotp's own accounts (``console.host``)."""
        self.octotp = octotp
        self.host_login = host_login
        settings = octotp.settings
        self.sessions = SessionManager(octotp.store, settings, octotp.clock)
        self.throttle = LoginThrottle(
            octotp.limits.storage, settings.dashboard_login_limit_per_email, settings.dashboard_login_limit_per_address
        )
        self.views = views = DashboardViews(octotp, self.sessions, self.throttle)
        views.api_docs = api_docs
        self._trusted_proxies = tuple(settings.trusted_proxies)
        self._routes: list[Route] = [
            route("/", GET=views.projects),
            route("/login", signed_in=False, own_accounts=True, GET=views.login_form, POST=views.login),
            route("/setup", signed_in=False, own_accounts=True, GET=views.setup_form, POST=views.setup),
            route("/logout", POST=views.logout),
            route("/projects", POST=views.create_project),
            route(f"/projects/{PROJECT}", GET=views.project),
            route(f"/projects/{PROJECT}/settings", POST=views.update_project),
            route(f"/projects/{PROJECT}/keys", POST=views.create_key),
        ]
        for area in (AccountViews, TeamViews, OperatorViews, ProjectViews, MessageViews, WebhookViews):
            self._routes += area(views).routes()

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every page and action of the dashboard (what an adapter's tests may walk)."""
        return tuple(self._routes)

    # -- entry point -------------------------------------------------------------------------
    def handle(
        self,
        request: Request,
        base: str,
        *,
        identity: HostIdentity | None = None,
        host_csrf: tuple[str, str] | None = None,
        host_login: HostLogin | None = None,
    ) -> Response:
        """Answer one dashboard request. ``request.path`` is relative to the dashboard ("/login");
        ``base`` is where it is mounted as the browser sees it ("/dashboard", "/octotp/dashboard").
        ``request.client`` is the socket peer: the client's address is resolved here (``resolve_client``).

        With ``host_login``: ``identity`` is the host's signed-in user (None: anonymous, sent to the
        host's login page) and ``host_csrf`` the host's own CSRF form field, which every form carries;
        ``host_login`` replaces the handler's own for this request (a host that builds its login URL
        per request, as Flask's ``url_for`` does), and puts a handler made without one in host mode."""
        started = time.perf_counter()
        request = resolve_client(request, self._trusted_proxies)
        call = DashboardRequest(
            request, base.rstrip("/"), host_csrf=host_csrf, host_login=host_login or self.host_login
        )
        head = request.method.upper() == "HEAD"
        try:
            response = self._dispatch(call, identity)
        except NotFound:
            response = self._error(call, 404, "Not found")
        except Forbidden as exc:
            response = self._error(call, 403, "Not allowed", detail=exc.detail)
        except StorageUnavailable:
            response = self._error(call, 503, "Service unavailable")
        except OctotpError:
            log.exception("dashboard error method=%s path=%s", request.method, _safe_path(request.path))
            response = self._error(call, 500, "Something went wrong")
        except Exception:  # a bug of ours: still a page, never a stack trace
            log.exception("dashboard unhandled error method=%s path=%s", request.method, _safe_path(request.path))
            response = self._error(call, 500, "Something went wrong")
        for name, value in SECURITY_HEADERS:
            response.set_header(name, value)
        request_id = request_id_for(request)
        response.set_header("X-Request-Id", request_id)
        if response.header("Cache-Control") is None:
            response.headers.append(("Cache-Control", "no-store"))
        response.headers += [("Set-Cookie", cookie) for cookie in call.set_cookies]
        if head:
            response.body = b""
        # The path only: never the query string (the setup link's token is there), never a cookie.
        log.info(
            "dashboard request_id=%s method=%s path=%s status=%s duration_ms=%.1f",
            request_id,
            request.method,
            _safe_path(request.path),
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def handle_site_root(self, request: Request, base: str) -> Response:
        """Answer the standalone service's own ``/`` (``request.path`` is ignored): the public landing
        page while sign-up is open, otherwise a redirect to the dashboard at ``base``."""
        return self.handle(dataclasses.replace(request, path=LANDING_PATH), base)

    def _dispatch(self, call: DashboardRequest, identity: HostIdentity | None) -> Response:
        request = call.request
        method = "GET" if request.method.upper() == "HEAD" else request.method.upper()
        if request.path == "":
            return call.redirect("/")
        if request.path == "/static/dashboard.css":
            if method != "GET":
                return self._not_allowed(call, ["GET", "HEAD"])
            return Response(
                200, [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "max-age=3600")], stylesheet()
            )
        for candidate in self._routes:
            match = candidate.pattern.match(request.path)
            if match is None:
                continue
            view = candidate.methods.get(method)
            if view is None:
                allowed = sorted(candidate.methods) + (["HEAD"] if "GET" in candidate.methods else [])
                return self._not_allowed(call, allowed)
            if len(request.body) > MAX_BODY_BYTES:
                return self._error(call, 413, "Request too large")
            if call.host_login is not None:
                return self._host_dispatch(call, candidate, view, identity, match.groupdict())
            call.active = self.sessions.resume(request.cookies.get(SESSION_COOKIE))
            if candidate.signed_in and call.active is None:
                return call.redirect("/login")
            if method == "POST" and not self._csrf_ok(call, candidate.signed_in):
                log.info("dashboard CSRF check failed path=%s", _safe_path(request.path))
                return self._error(call, 403, "Forbidden")
            return view(call, **match.groupdict())
        # The signed-in header as on every other page, so this 404 and a view's own (an operator page
        # asked for by another account) are the same page.
        if call.host_login is None:
            call.active = self.sessions.resume(request.cookies.get(SESSION_COOKIE))
        return self._error(call, 404, "Not found")

    # -- the host's login ----------------------------------------------------------------------
    def _host_dispatch(
        self, call: DashboardRequest, candidate: Route, view: View, identity: HostIdentity | None, args: dict[str, str]
    ) -> Response:
        """A route when the host signs the dashboard in: octotp's own login pages do not exist, an
        anonymous visitor goes to the host's login, a signed-in one gets octotp's small session."""
        if candidate.own_accounts:
            return self._error(call, 404, "Not found")
        if identity is None:
            return self._to_host_login(call)
        call.active = self._host_session(call, identity, gate=not candidate.any_user)
        if call.request.method.upper() == "POST" and not self._csrf_ok(call, True):
            log.info("dashboard CSRF check failed path=%s", _safe_path(call.request.path))
            return self._error(call, 403, "Forbidden")
        return view(call, **args)

    def _to_host_login(self, call: DashboardRequest) -> Response:
        """303 to the host's login page, ``next`` the page asked for (mount path and query included)."""
        assert call.host_login is not None
        request = call.request
        here = call.base + request.path + (f"?{request.query_string}" if request.query_string else "")
        login = call.host_login.login_url
        return Response.redirect(f"{login}{'&' if '?' in login else '?'}next={quote(here, safe='/')}")

    def _host_session(self, call: DashboardRequest, identity: HostIdentity, *, gate: bool) -> ActiveSession:
        """The host user's account and octotp's small session for it (the CSRF token, the new key shown
        once), started on the first visit, so there is never a second login. With ``gate``:
        ``Forbidden`` for a user with no permission at all (no host permission, no project, not an
        operator)."""
        account = self.octotp.accounts.host_account(identity)
        if not account.is_active:
            raise Forbidden("this account is disabled in octotp")
        if identity.is_operator and not account.is_operator:
            account = dataclasses.replace(account, is_operator=True)
        granted = identity.granted()
        if gate and not (
            account.is_operator
            or granted
            or identity.may_create_projects
            or self.octotp.store.list_account_projects(account.id)
        ):
            raise Forbidden(f"{identity.label} has no permission to use octotp's dashboard")
        cookie = call.request.cookies.get(SESSION_COOKIE)
        active = self.sessions.resume(cookie, account)
        if active is None:
            session_id, active = self.sessions.start(account, replacing=cookie)
            call.set_cookie(SESSION_COOKIE, session_id)
        return dataclasses.replace(active, identity=identity, granted=granted)

    def _csrf_ok(self, call: DashboardRequest, signed_in: bool) -> bool:
        if not same_origin(call.request):
            return False
        if signed_in:
            assert call.active is not None
            return tokens_match(call.active.session.csrf_token, call.form("csrf_token"))
        return self.views.login_csrf_ok(call)

    def _error(self, call: DashboardRequest, status: int, title: str, detail: str | None = None) -> Response:
        try:
            return self.views.page(call, status, "error.html", title=title, retry_after=None, detail=detail)
        except Exception:  # never fail while reporting a failure
            return render(
                status,
                "error.html",
                base=call.base,
                account=None,
                csrf_token="",
                title=title,
                retry_after=None,
                detail=detail,
            )

    def _not_allowed(self, call: DashboardRequest, allowed: list[str]) -> Response:
        response = self._error(call, 405, "Method not allowed")
        response.headers.append(("Allow", ", ".join(allowed)))
        return response


def _safe_path(path: str) -> str:
    path = re.sub(r"^/invitations/[^/]+", "/invitations/[redacted]", path)  # an invitation link's token
    return re.sub(r"octotp_[A-Za-z0-9]+", "octotp_[redacted]", path)[:200]
