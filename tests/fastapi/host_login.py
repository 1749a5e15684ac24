"""A FastAPI host app with a login of its own: the host the dashboard's host mode is tested on.

It is what a FastAPI developer has before adding octotp: a user table (in memory here, passwords
hashed with argon2id), Starlette's ``SessionMiddleware``, and a ``/login`` form that puts the user's
id in ``request.session``. The dashboard reads that same session through a dependency
(``session_identity``, or ``async_identity`` which depends on ``session_user`` itself) given to
``install(..., dashboard_auth=...)``. ``HostAppDriver`` is its ``HostDriver`` for the conformance
suite: it makes users the host's way and signs in through the host's own login page.
"""

from __future__ import annotations

import html
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

from octotp_core import HostIdentity, Octotp
from octotp_core.testing.dashboard import DashboardBrowser, RawResult
from octotp_fastapi import install

LOGIN_PATH = "/login"
SESSION_COOKIE = "host_session"


@dataclass(frozen=True)
class HostUser:
    """One of the host's users, as the host stores it."""

    id: str
    """Random: the tests' apps share one database, where a host user id names one octotp account."""
    email: str
    name: str
    password_hash: str
    permissions: frozenset[str] = frozenset()
    operator: bool = False

    def identity(self) -> HostIdentity:
        """What the host's dependency tells octotp about this user."""
        return HostIdentity(
            id=self.id, email=self.email, operator=self.operator, permissions=self.permissions, name=self.name
        )


class UserTable:
    """The host's users by id, passwords hashed with argon2id (cheap parameters: a test host)."""

    def __init__(self) -> None:
        self._users: dict[str, HostUser] = {}
        self._lock = threading.Lock()
        self._hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
        self._dummy_hash = self._hasher.hash("no such user")

    def add(
        self,
        email: str,
        password: str,
        *,
        name: str = "",
        permissions: Iterable[str] = (),
        operator: bool = False,
    ) -> HostUser:
        with self._lock:
            if self.by_email(email) is not None:
                raise ValueError(f"the host already has a user {email}")
            user = HostUser(
                uuid.uuid4().hex,
                email,
                name or email.partition("@")[0],
                self._hasher.hash(password),
                frozenset(permissions),
                operator,
            )
            self._users[user.id] = user
        return user

    def get(self, user_id: object) -> HostUser | None:
        """The user a session names (None for no id, or one the table does not have)."""
        return self._users.get(user_id) if isinstance(user_id, str) else None

    def by_email(self, email: str) -> HostUser | None:
        return next((u for u in self._users.values() if u.email.lower() == email.lower()), None)

    def authenticate(self, email: str, password: str) -> HostUser | None:
        """The user with this email and password, else None (an unknown email costs a hash too)."""
        user = self.by_email(email)
        try:
            self._hasher.verify(user.password_hash if user else self._dummy_hash, password)
        except VerificationError:
            return None
        return user


def session_user(request: Request) -> HostUser | None:
    """The host's own dependency: the signed-in user, from the session its login page filled."""
    users: UserTable = request.app.state.users
    return users.get(request.session.get("user_id"))


def session_identity(request: Request) -> HostIdentity | None:
    """``dashboard_auth`` as most hosts write it: a plain function of the request."""
    user = session_user(request)
    return user.identity() if user else None


async def async_identity(user: Annotated[HostUser | None, Depends(session_user)]) -> HostIdentity | None:
    """``dashboard_auth`` built on another dependency of the host, ``async`` this time."""
    return user.identity() if user else None


def _local(target: str | None) -> str:
    """``next`` when it is a path of this site, else ``/`` (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_page(next_path: str, error: str = "") -> HTMLResponse:
    action = html.escape(f"{LOGIN_PATH}?next={quote(next_path, safe='/')}")
    message = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return HTMLResponse(
        "<!doctype html><html lang=en><title>Sign in to Shop</title><h1>Sign in to Shop</h1>"
        f'{message}<form method="post" action="{action}">'
        '<label>Email <input name="email" type="email" autocomplete="username"></label>'
        '<label>Password <input name="password" type="password" autocomplete="current-password"></label>'
        "<button>Sign in</button></form>"
    )


def create_host_app(
    octotp: Octotp,
    users: UserTable,
    *,
    secret_key: str,
    dashboard_auth: Any = session_identity,
    prefix: str = "/octotp",
    **install_options: Any,
) -> FastAPI:
    """The host app: ``/`` and its login and logout, then octotp under ``prefix`` with the dashboard
    on the host's users (``dashboard_auth``; ``install_options`` go to ``install``)."""
    app = FastAPI(title="Shop")
    app.state.users = users
    app.add_middleware(SessionMiddleware, secret_key=secret_key, session_cookie=SESSION_COOKIE)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> str:
        user = session_user(request)
        who = html.escape(user.email) if user else "nobody"
        return f"<!doctype html><html lang=en><title>Shop</title><h1>Shop</h1><p>Signed in: {who}</p>"

    @app.get(LOGIN_PATH)
    def login_form(next: str = "/") -> HTMLResponse:
        return _login_page(_local(next))

    @app.post(LOGIN_PATH)
    async def login(request: Request, next: str = "/") -> Response:
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        email, password = form.get("email", [""])[0], form.get("password", [""])[0]
        user = users.authenticate(email, password)
        if user is None:
            return _login_page(_local(next), "Invalid email or password.")
        request.session.clear()
        request.session["user_id"] = user.id
        return RedirectResponse(_local(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request) -> RedirectResponse:
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    install(app, octotp, prefix=prefix, dashboard_auth=dashboard_auth, login_url=LOGIN_PATH, **install_options)
    return app


class HostAppDriver:
    """The ``HostDriver`` of ``create_host_app``: its users, its login page."""

    login_path = LOGIN_PATH

    def __init__(self, users: UserTable) -> None:
        self.users = users

    def create_user(
        self, email: str, password: str, *, permissions: Iterable[str] = (), operator: bool = False
    ) -> HostIdentity:
        return self.users.add(email, password, permissions=permissions, operator=operator).identity()

    def post_headers(self, browser: DashboardBrowser) -> dict[str, str]:
        return {}  # the host has no CSRF protection of its own (octotp's forms carry octotp's token)

    def login(self, browser: DashboardBrowser, email: str, password: str) -> RawResult:
        form = browser.request("GET", LOGIN_PATH)
        assert form.status == 200, form.status
        assert f'action="{LOGIN_PATH}?next=/"' in form.text
        return browser.request("POST", LOGIN_PATH, {"email": email, "password": password})
