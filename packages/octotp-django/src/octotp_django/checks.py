"""System checks (``manage.py check``): every bad octotp setting is named, with its own id.

- ``octotp.E001`` ``OCTOTP`` is not a dict
- ``octotp.E002`` unknown key in ``OCTOTP``
- ``octotp.E003`` invalid value (the message says which key and why)
- ``octotp.E004`` a key that octotp-django does not use (``DATABASE_URL``, ``DATA_DIR``)
- ``octotp.E005`` no secret (neither ``OCTOTP['SECRET_KEY']`` nor Django's ``SECRET_KEY``)
- ``octotp.E006`` ``USE_TZ`` is off (octotp stores aware UTC timestamps)
- ``octotp.E007`` a delivery backend cannot be imported
- ``octotp.E008`` ``RATE_LIMIT_STORAGE`` is ``database://``, which octotp-django cannot offer
- ``octotp.E009`` ``DASHBOARD_AUTH`` is ``"django"`` but ``django.contrib.auth`` is not installed
- ``octotp.E010`` ``DASHBOARD_AUTH`` is ``"django"`` but ``MIDDLEWARE`` lacks Django's session or
  authentication middleware (nothing would set ``request.user``)
- ``octotp.W001`` ``RATE_LIMIT_STORAGE`` counts in each process while ``DEBUG`` is off: several
  worker processes (gunicorn ``--workers``, uWSGI ``processes``) would each count alone
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, register

from octotp_core.ratelimit import DATABASE_SCHEME, storage_scheme, worker_storage_warning

from .conf import DASHBOARD_AUTH, validate


def _importable(dotted_path: str) -> str | None:
    module_name, _, attr = dotted_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return f"cannot import {module_name!r}: {exc}"
    if not hasattr(module, attr):
        return f"{module_name!r} has no attribute {attr!r}"
    return None


@register()
def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Run ``OCTOTP`` through core ``Settings`` and report each problem as an error naming the setting."""
    built, problems = validate()
    errors: list[CheckMessage] = [
        Error(f"{p.setting}: {p.message}", hint=p.hint, id=p.check_id, obj=p.setting) for p in problems
    ]
    if not django_settings.USE_TZ:
        errors.append(
            Error(
                "USE_TZ: octotp stores UTC timestamps and needs USE_TZ = True",
                id="octotp.E006",
                obj="USE_TZ",
            )
        )
    if built is not None:
        for key, path in (
            ("DELIVERY_EMAIL_BACKEND", built.delivery_email_backend),
            ("DELIVERY_SMS_BACKEND", built.delivery_sms_backend),
        ):
            problem = _importable(path)
            if problem:
                errors.append(Error(f"OCTOTP[{key!r}]: {problem}", id="octotp.E007", obj=f"OCTOTP[{key!r}]"))
    return errors


@register()
def check_worker_storage(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Rate limits must be shared by every process of a deployment; Django cannot see how many
    worker processes its server runs, so a per-process storage in production settings is a warning."""
    built, _problems = validate()
    if built is None:
        return []  # check_settings reports why
    setting = "OCTOTP['RATE_LIMIT_STORAGE']"
    if storage_scheme(built.rate_limit_storage) == DATABASE_SCHEME:
        return [
            Error(
                f"{setting}: database:// needs octotp's SQLAlchemy store; octotp-django keeps its tables "
                "through the Django ORM",
                hint="set RATE_LIMIT_STORAGE to a shared storage such as 'redis://HOST:6379/0'",
                id="octotp.E008",
                obj=setting,
            )
        ]
    warning = worker_storage_warning(built, database_storage_available=False)
    if warning is None or django_settings.DEBUG:
        return []
    return [
        Warning(
            f"{setting}: {warning}",
            hint="with several gunicorn/uWSGI workers set OCTOTP['RATE_LIMIT_STORAGE'] = 'redis://HOST:6379/0'",
            id="octotp.W001",
            obj=setting,
        )
    ]


AUTH_APP = "django.contrib.auth"
#: What ``request.user`` needs in ``MIDDLEWARE`` (a subclass of each will do), in this order.
HOST_LOGIN_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


def _has_subclass(dotted_path: str, middleware: Sequence[str]) -> bool:
    """Whether one of ``middleware`` is the class ``dotted_path`` or a subclass (as the admin's check asks)."""
    from django.utils.module_loading import import_string

    wanted = import_string(dotted_path)
    for path in middleware:
        try:
            candidate = import_string(path)
        except ImportError:
            continue  # Django's own start-up reports a middleware that does not import
        if isinstance(candidate, type) and issubclass(candidate, wanted):
            return True
    return False


@register()
def check_host_login(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``OCTOTP["DASHBOARD_AUTH"] = "django"`` takes the dashboard's user from ``request.user``: that
    needs ``django.contrib.auth`` and the middleware that sets ``request.user``."""
    raw = getattr(django_settings, "OCTOTP", {})
    if not isinstance(raw, Mapping) or raw.get(DASHBOARD_AUTH) != "django":
        return []  # the default (octotp's own accounts), or a bad value check_settings reports
    setting = f"OCTOTP[{DASHBOARD_AUTH!r}]"
    if not apps.is_installed(AUTH_APP):
        return [
            Error(
                f"{setting} is 'django', which signs users in with Django's auth, but {AUTH_APP!r} is not in "
                "INSTALLED_APPS",
                hint=f"add {AUTH_APP!r} (and 'django.contrib.contenttypes') to INSTALLED_APPS, or leave "
                f"{setting} out to use octotp's own dashboard accounts",
                id="octotp.E009",
                obj=setting,
            )
        ]
    middleware = list(getattr(django_settings, "MIDDLEWARE", None) or [])
    missing = [path for path in HOST_LOGIN_MIDDLEWARE if not _has_subclass(path, middleware)]
    if not missing:
        return []
    return [
        Error(
            f"{setting} is 'django', which takes the dashboard's user from request.user, but MIDDLEWARE lacks "
            + " and ".join(repr(path) for path in missing),
            hint="add " + " and then ".join(repr(path) for path in HOST_LOGIN_MIDDLEWARE) + " to MIDDLEWARE",
            id="octotp.E010",
            obj=setting,
        )
    ]
