"""System checks (``manage.py check``): every bad octotp setting is named, with its own id.

- ``octotp.E001`` ``OCTOTP`` is not a dict
- ``octotp.E002`` unknown key in ``OCTOTP``
- ``octotp.E003`` invalid value (the message says which key and why)
- ``octotp.E004`` a key that octotp-django does not use (``DATABASE_URL``, ``DATA_DIR``)
- ``octotp.E005`` no secret (neither ``OCTOTP['SECRET_KEY']`` nor Django's ``SECRET_KEY``)
- ``octotp.E006`` ``USE_TZ`` is off (octotp stores aware UTC timestamps)
- ``octotp.E007`` a delivery backend cannot be imported
- ``octotp.E008`` ``RATE_LIMIT_STORAGE`` is ``database://``, which octotp-django cannot offer
- ``octotp.W001`` ``RATE_LIMIT_STORAGE`` counts in each process while ``DEBUG`` is off: several
  worker processes (gunicorn ``--workers``, uWSGI ``processes``) would each count alone
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, register

from octotp_core.ratelimit import DATABASE_SCHEME, storage_scheme, worker_storage_warning

from .conf import validate


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
