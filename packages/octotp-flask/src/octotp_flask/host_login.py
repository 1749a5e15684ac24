"""Host login: the dashboard signed in by the host app's own users instead of octotp's accounts.

``Octotp(app, dashboard_auth=..., login_url=...)`` (or the same arguments to ``init_app``) turns it
on. ``dashboard_auth`` is the host's answer to "who is signed in?" (Flask-Login: ``current_user``),
called with no arguments inside each dashboard request; it returns a core ``HostIdentity``, or None
for an anonymous visitor. Everything else (the redirect to the login page, permissions, the 403, the
small session octotp keeps per host user) is core's ``DashboardHandler``'s.

``login_url`` and ``logout_url`` are, like Flask-Login's ``login_view``, either a URL used as given
(it starts with ``/``, ``http://`` or ``https://``) or the name of one of the app's endpoints, built
with ``url_for`` in each request (so a host view registered after ``init_app``, an app under a
``SCRIPT_NAME`` and a blueprint's endpoint such as ``"auth.login"`` all work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from werkzeug.routing import BuildError

import octotp_core
from octotp_core import HostIdentity, HostLogin, http
from octotp_core.dashboard import DashboardHandler

from .config import ConfigurationError

DashboardAuth = Callable[[], HostIdentity | None]
"""The host's current user as a ``HostIdentity``, or None when nobody is signed in."""

#: What makes ``login_url``/``logout_url`` a URL rather than an endpoint name (Flask-Login's rule).
URL_STARTS = ("/", "http://", "https://")


@dataclass(frozen=True)
class HostAuth:
    """The host-login arguments of one app, checked."""

    dashboard_auth: DashboardAuth
    login_url: str
    logout_url: str | None = None

    @classmethod
    def from_arguments(
        cls, dashboard_auth: DashboardAuth | None, login_url: str | None, logout_url: str | None
    ) -> HostAuth | None:
        """The host login these arguments ask for (None: octotp's own accounts); a ``TypeError`` or
        ``ConfigurationError`` naming the argument when they do not make sense together."""
        if dashboard_auth is None:
            given = [name for name, value in (("login_url", login_url), ("logout_url", logout_url)) if value]
            if given:
                raise ConfigurationError(
                    f"{' and '.join(given)} given without dashboard_auth: they say where the host's login is, "
                    "for a dashboard signed in by the host's users (dashboard_auth=...)"
                )
            return None
        if not callable(dashboard_auth):
            raise TypeError(
                f"dashboard_auth must be a function taking no arguments and returning a HostIdentity or None, "
                f"not {type(dashboard_auth).__name__}"
            )
        for name, value in (("login_url", login_url), ("logout_url", logout_url)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a URL or an endpoint name (a str), not {type(value).__name__}")
        if not login_url:
            raise ConfigurationError(
                "dashboard_auth needs login_url: where anonymous visitors are sent to sign in "
                '(an endpoint such as "login", or a path such as "/login")'
            )
        return cls(dashboard_auth, login_url, logout_url or None)

    def check_mounted(self, *, dashboard: bool, blueprint: bool) -> None:
        """Refuse host login for an app that mounts no dashboard: the arguments would do nothing."""
        if not dashboard:
            raise ConfigurationError(
                "dashboard_auth is given but the dashboard is off (OCTOTP_DASHBOARD is False): "
                "turn the dashboard on or leave dashboard_auth out"
            )
        if not blueprint:
            raise ConfigurationError(
                "dashboard_auth is given but OCTOTP_REGISTER_BLUEPRINT is False, so no dashboard is mounted: "
                "register the blueprint or leave dashboard_auth out"
            )

    def identity(self) -> HostIdentity | None:
        """The current request's host user (call inside the request)."""
        identity = self.dashboard_auth()
        if identity is not None and not isinstance(identity, HostIdentity):
            raise TypeError(
                f"dashboard_auth returned {type(identity).__name__}: it must return an "
                "octotp_flask.HostIdentity, or None when nobody is signed in"
            )
        return identity

    def host_login(self) -> HostLogin:
        """Core's ``HostLogin`` with both addresses built for the current request."""
        logout_url = resolve(self.logout_url, "logout_url") if self.logout_url else None
        return HostLogin(resolve(self.login_url, "login_url"), logout_url)


def resolve(target: str, argument: str) -> str:
    """``target`` as the browser needs it: a URL as given, an endpoint built with ``url_for``."""
    if target.startswith(URL_STARTS):
        return target
    try:
        return url_for(target)
    except BuildError:
        raise RuntimeError(
            f"{argument}={target!r} is neither a URL (starting with /, http:// or https://) "
            "nor an endpoint of this app that url_for can build without arguments"
        ) from None


class HostDashboard:
    """The dashboard of one app signed in by the host: each request's identity from
    ``dashboard_auth``, answered by core's ``DashboardHandler`` in host mode.

    The login addresses are built per request (an endpoint name's URL depends on the app's
    ``SCRIPT_NAME``) and handed to core with the identity."""

    def __init__(self, core: octotp_core.Octotp, auth: HostAuth) -> None:
        self._auth = auth
        self.handler = DashboardHandler(core)

    def __call__(self, request: http.Request, base: str) -> http.Response:
        """Answer one dashboard request (call inside the Flask request)."""
        login = self._auth.host_login()
        return self.handler.handle(request, base, identity=self._auth.identity(), host_login=login)
