"""A Flask host app with users and a login of its own (Flask-Login, Werkzeug password hashes) and
octotp's dashboard in host mode: ``Octotp(app, dashboard_auth=..., login_url=...)``.

It is what a Flask developer already has before adding octotp: a user table (here a dict behind a
lock, so a threaded server can share it), a login form at ``/login`` that checks the password with
``check_password_hash`` and calls ``login_user``, a ``/logout``, and ``current_user``. The dashboard
then takes its user from ``current_user`` and sends anonymous visitors to ``/login?next=...``.

``FlaskLoginDriver`` is the ``HostDriver`` the host-mode console suite drives it with; the browser
test (``tests/e2e/test_flask_host_login.py``) serves the same app over real HTTP.
"""

from __future__ import annotations

import html
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import (  # type: ignore[import-untyped]  # Flask-Login ships no type hints
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.security import check_password_hash, generate_password_hash

from octotp_core import Clock, HostIdentity
from octotp_core.testing.dashboard import DashboardBrowser, RawResult
from octotp_flask import Octotp

LOGIN_PATH = "/login"


@dataclass(eq=False)
class HostUser(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type hints
    """One row of the host's own user table (ids are UUIDs: apps sharing one octotp database in the
    tests never meet each other's users)."""

    id: str
    email: str
    password_hash: str
    name: str = ""
    is_admin: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)


class UserTable:
    """The host's users, by id and by email (lower-cased), safe to share between server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, HostUser] = {}

    def add(
        self, email: str, password: str, *, name: str = "", is_admin: bool = False, permissions: Iterable[str] = ()
    ) -> HostUser:
        with self._lock:
            user = HostUser(
                uuid.uuid4().hex, email, generate_password_hash(password), name, is_admin, frozenset(permissions)
            )
            self._by_id[user.id] = user
        return user

    def get(self, user_id: str) -> HostUser | None:
        """Flask-Login's ``user_loader``: the user whose id is in the session, if any."""
        with self._lock:
            return self._by_id.get(user_id)

    def by_email(self, email: str) -> HostUser | None:
        with self._lock:
            return next((u for u in self._by_id.values() if u.email.lower() == email.strip().lower()), None)


def current_identity() -> HostIdentity | None:
    """The host's ``dashboard_auth``: Flask-Login's ``current_user`` as octotp's ``HostIdentity``."""
    if not current_user.is_authenticated:
        return None
    return HostIdentity(
        str(current_user.id),
        current_user.email,
        operator=current_user.is_admin,
        permissions=current_user.permissions,
        name=current_user.name,
    )


LOGIN_FORM = """<!doctype html>
<title>Sign in to the shop</title>
<h1>Sign in to the shop</h1>
{error}
<form method="post" action="{action}">
  <input type="hidden" name="next" value="{next}">
  <label>Email <input type="email" name="email" autocomplete="username" required></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
"""


def safe_next(target: str | None) -> str:
    """``next`` if it is a path on this site, else ``/``: never an open redirect to another host."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def create_login_host(
    *,
    database_url: str,
    secret_key: str,
    data_dir: Path,
    users: UserTable | None = None,
    url_prefix: str = "/octotp",
    config: dict[str, Any] | None = None,
    clock: Clock | None = None,
    extension: Octotp | None = None,
    dashboard_auth: Callable[[], HostIdentity | None] = current_identity,
    login_url: str = "login",
    logout_url: str | None = "logout",
) -> Flask:
    """The host app: ``/`` and ``/account`` of its own, Flask-Login's ``/login`` form and ``/logout``,
    octotp's API and dashboard under ``url_prefix`` in host mode.

    ``config``: more ``OCTOTP_*`` keys. ``extension``: a ready ``Octotp()`` to ``init_app`` the app
    with (the app-factory form, host login given to ``init_app``); otherwise ``Octotp(app, ...)``.
    ``login_url``/``logout_url`` default to the host's endpoint names."""
    users = users if users is not None else UserTable()
    app = Flask("flask_login_host", instance_path=str(data_dir / "instance"))
    app.config.update(
        SECRET_KEY=secret_key,
        OCTOTP_DATABASE_URL=database_url,
        OCTOTP_DATA_DIR=str(data_dir),
        OCTOTP_URL_PREFIX=url_prefix,
        OCTOTP_API_KEY_CACHE_SECONDS=0,
        **(config or {}),
    )
    app.extensions["host_users"] = users

    login_manager = LoginManager(app)
    login_manager.login_view = "login"
    login_manager.user_loader(users.get)

    @app.get("/")
    def home() -> str:
        who = html.escape(current_user.email) if current_user.is_authenticated else "a guest"
        return f"<!doctype html><title>Shop</title><h1>A shop that verifies its customers</h1><p>Hello, {who}</p>"

    @app.get("/account")
    @login_required  # type: ignore[untyped-decorator]  # Flask-Login ships no type hints
    def account() -> str:
        return f"<!doctype html><title>Account</title><h1>{html.escape(current_user.email)}</h1>"

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        error = ""
        if request.method == "POST":
            user = users.by_email(request.form.get("email", ""))
            if user is not None and check_password_hash(user.password_hash, request.form.get("password", "")):
                login_user(user)
                return redirect(safe_next(request.form.get("next")), code=303)
            error = "<p role=alert>Wrong email or password.</p>"
        page = LOGIN_FORM.format(
            error=error,
            action=html.escape(url_for("login")),
            next=html.escape(request.values.get("next", "")),
        )
        return page

    @app.route("/logout", methods=["GET", "POST"])
    def logout() -> ResponseReturnValue:
        logout_user()
        return redirect(url_for("home"), code=303)

    host_login: dict[str, Any] = {"dashboard_auth": dashboard_auth, "login_url": login_url, "logout_url": logout_url}
    if extension is None:
        Octotp(app, clock=clock, **host_login)
    else:
        extension.init_app(app, **host_login)
    return app


def host_users(app: Flask) -> UserTable:
    """The user table of an app made by ``create_login_host``."""
    users: UserTable = app.extensions["host_users"]
    return users


class FlaskLoginDriver:
    """``HostDriver`` for ``create_login_host``: users in its table, sign-in through its real form."""

    login_path = LOGIN_PATH

    def __init__(self, users: UserTable) -> None:
        self.users = users

    def create_user(
        self, email: str, password: str, *, permissions: Iterable[str] = (), operator: bool = False
    ) -> HostIdentity:
        return self.identity(self.users.add(email, password, is_admin=operator, permissions=permissions))

    @staticmethod
    def identity(user: HostUser) -> HostIdentity:
        """What ``current_identity`` derives for ``user`` once signed in."""
        return HostIdentity(user.id, user.email, operator=user.is_admin, permissions=user.permissions, name=user.name)

    def post_headers(self, browser: DashboardBrowser) -> dict[str, str]:
        """None: the host has no CSRF protection of its own (octotp's forms carry octotp's token)."""
        return {}

    def login(self, browser: DashboardBrowser, email: str, password: str) -> RawResult:
        form = browser.request("GET", LOGIN_PATH)
        assert form.status == 200, form.status
        return browser.request("POST", LOGIN_PATH, fields={"email": email, "password": password})
