"""``Octotp``: the Flask extension (``Octotp(app)`` or ``Octotp()`` + ``init_app(app)``), and the
in-process API for the current app (``get_octotp``, ``create_token``, ``validate_token``,
``cancel_token``).

Per-app state is the core ``octotp_core.Octotp`` kept in ``app.extensions["octotp"]``; the
extension object itself holds only options, so one instance can serve any number of apps.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import Engine
from typing_extensions import Unpack

import octotp_core
from octotp_core import Clock, CreatedToken, Validation, http
from octotp_core.dashboard import DashboardHandler
from octotp_core.delivery import DeliveryBackend
from octotp_core.http import ApiHandler, normalise_prefix
from octotp_core.inprocess import CreateOptions, InProcessApi, ValidateOptions
from octotp_core.ratelimit import worker_storage_warning
from octotp_core.settings import closest_setting
from octotp_core.store import SqlAlchemyStore, Store

from .blueprint import make_blueprint
from .cli import octotp_cli
from .config import PREFIX, check_keys, option_keys, refuse_not_used, set_defaults, settings_from_config
from .errors import handle_octotp_errors
from .host_login import DashboardAuth, HostAuth, HostDashboard
from .signals import send_token_signal

EXTENSION_KEY = "octotp"
log = logging.getLogger("octotp.flask")


class HasEngine(Protocol):
    """Anything with an ``engine`` attribute, such as a Flask-SQLAlchemy ``db``."""

    @property
    def engine(self) -> Engine: ...


EngineSource = Engine | HasEngine | Callable[[], Engine]


class Octotp:
    """octotp inside a Flask app: the API and dashboard blueprint, ``flask octotp ...`` and the in-process API.

    ``options`` are defaults for the app's ``OCTOTP_*`` config keys (``database_url="..."`` sets the
    default of ``OCTOTP_DATABASE_URL``); the app's config wins. Objects that are not configuration:

    - ``engine``: reuse the host's SQLAlchemy engine instead of opening one; an ``Engine``, a
      Flask-SQLAlchemy ``db`` (initialised on the app first) or a function returning an engine,
      called inside the app context. Same as the ``OCTOTP_ENGINE`` key.
    - ``store``: a ready ``Store`` (then ``engine`` is only used for migrations).
    - ``clock``, ``backends``: passed to core (tests, custom delivery).
    - ``dashboard_auth``, ``login_url``, ``logout_url``: the dashboard signed in by the app's own
      users (host login, ``octotp_flask.host_login``): ``dashboard_auth()`` returns the current
      user's ``HostIdentity`` or None; anonymous visitors are sent to ``login_url`` (a URL, or an
      endpoint name built with ``url_for``). Without ``dashboard_auth``, octotp's own accounts.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        backends: dict[str, DeliveryBackend] | None = None,
        dashboard_auth: DashboardAuth | None = None,
        login_url: str | None = None,
        logout_url: str | None = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - option_keys()
        if unknown:
            raise TypeError(f"unknown octotp option(s): {', '.join(_with_guess(name) for name in sorted(unknown))}")
        self._options = options
        self._store = store
        self._clock = clock
        self._backends = backends
        self._dashboard_auth, self._login_url, self._logout_url = dashboard_auth, login_url, logout_url
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        dashboard_auth: DashboardAuth | None = None,
        login_url: str | None = None,
        logout_url: str | None = None,
    ) -> None:
        """Configure octotp for ``app``: defaults for ``OCTOTP_*``, the core ``Octotp``, blueprint, CLI.

        ``dashboard_auth``, ``login_url``, ``logout_url``: host login for this app, as for ``Octotp(...)``
        (each one given here wins over the extension's).

        Raises ``octotp_flask.config.ConfigurationError`` naming the key for an unknown ``OCTOTP_*``
        key or a refused value, or naming the argument for host-login arguments that do not fit
        together (``dashboard_auth`` without ``login_url``, or while no dashboard is mounted)."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("octotp is already initialised on this app")
        host_auth = HostAuth.from_arguments(
            dashboard_auth if dashboard_auth is not None else self._dashboard_auth,
            login_url if login_url is not None else self._login_url,
            logout_url if logout_url is not None else self._logout_url,
        )
        check_keys(app)
        set_defaults(app, self._options)
        refuse_not_used(app)
        settings = settings_from_config(app)
        if host_auth is not None:
            host_auth.check_mounted(dashboard=settings.dashboard, blueprint=app.config[PREFIX + "REGISTER_BLUEPRINT"])
        with app.app_context():
            engine = resolve_engine(app.config[PREFIX + "ENGINE"])
        core = octotp_core.Octotp(
            settings, store=self._store, engine=engine, clock=self._clock, backends=self._backends
        )
        core.tokens.listeners.append(functools.partial(send_token_signal, app=app))  # the outbox's too
        _warn_if_limits_are_per_process(app, core)
        if app.config[PREFIX + "AUTO_MIGRATE"]:
            core.migrate()
        app.extensions[EXTENSION_KEY] = core

        if app.config[PREFIX + "REGISTER_BLUEPRINT"]:
            handler = ApiHandler(core)
            dashboard: Callable[[http.Request, str], http.Response] | None = None
            if host_auth is not None:
                dashboard = HostDashboard(core, host_auth)
            elif settings.dashboard:
                dashboard = DashboardHandler(core).handle
            prefix = normalise_prefix(app.config[PREFIX + "URL_PREFIX"])
            blueprint = make_blueprint(prefix, lambda: handler, dashboard)
            app.register_blueprint(blueprint, url_prefix=prefix or None)
        if app.config[PREFIX + "HANDLE_ERRORS"]:
            handle_octotp_errors(app)
        app.cli.add_command(octotp_cli)

    # -- the in-process API, for the current app ---------------------------------------------
    @property
    def core(self) -> octotp_core.Octotp:
        """The current app's core ``Octotp`` (same as ``get_octotp()``)."""
        return get_octotp()

    def create_token(self, project_id: str, **options: Unpack[CreateOptions]) -> CreatedToken:
        """Issue a code in the current app; see ``octotp_flask.create_token``."""
        return _api.create_token(project_id, **options)

    def validate_token(self, project_id: str, *, code: str, **options: Unpack[ValidateOptions]) -> Validation:
        """Check a code in the current app; see ``octotp_flask.validate_token``."""
        return _api.validate_token(project_id, code=code, **options)

    def cancel_token(self, project_id: str, token_id: str) -> None:
        """Cancel a token in the current app; see ``octotp_flask.cancel_token``."""
        _api.cancel_token(project_id, token_id)


def _with_guess(name: str) -> str:
    meant = closest_setting(name, option_keys())
    return f"{name} (did you mean {meant}?)" if meant else name


def resolve_engine(source: EngineSource | None) -> Engine | None:
    """The engine named by ``OCTOTP_ENGINE`` / ``engine=`` (call inside the app context)."""
    if source is None or isinstance(source, Engine):
        return source
    if hasattr(source, "engine"):  # Flask-SQLAlchemy's db, or anything holding an engine
        engine = source.engine
    elif callable(source):
        engine = source()
    else:
        raise TypeError(f"OCTOTP_ENGINE must be an Engine, a Flask-SQLAlchemy db or a callable, not {source!r}")
    if not isinstance(engine, Engine):
        raise TypeError(f"OCTOTP_ENGINE gave {engine!r}, not a SQLAlchemy Engine")
    return engine


def _warn_if_limits_are_per_process(app: Flask, core: octotp_core.Octotp) -> None:
    """Flask cannot see how many worker processes its server runs: outside debug and testing, say
    so when every process would count its own rate limits."""
    if app.debug or app.testing:
        return
    warning = worker_storage_warning(core.settings, database_storage_available=isinstance(core.store, SqlAlchemyStore))
    if warning is not None:
        log.warning("%s (OCTOTP_RATE_LIMIT_STORAGE)", warning)


def get_octotp() -> octotp_core.Octotp:
    """The current app's core ``Octotp`` (needs an app or request context)."""
    if not has_app_context():
        raise RuntimeError("octotp_flask needs an application context (inside a request, or `with app.app_context():`)")
    core = current_app.extensions.get(EXTENSION_KEY)
    if core is None:
        raise RuntimeError("octotp is not initialised on this app: call Octotp(app) or octotp.init_app(app)")
    return core  # type: ignore[no-any-return]


_api = InProcessApi(get_octotp)
create_token = _api.create_token
validate_token = _api.validate_token
cancel_token = _api.cancel_token
