"""System checks (``manage.py check``): every bad octotp setting is named, with its own id.

- ``octotp.E001`` ``OCTOTP`` is not a dict
- ``octotp.E002`` unknown key in ``OCTOTP``
- ``octotp.E003`` invalid value (the message says which key and why)
- ``octotp.E004`` a key that octotp-django does not use (``DATABASE_URL``)
- ``octotp.E005`` no secret (neither ``OCTOTP['SECRET_KEY']`` nor Django's ``SECRET_KEY``)
- ``octotp.E006`` ``USE_TZ`` is off (octotp stores aware UTC timestamps)
- ``octotp.E007`` a delivery backend cannot be imported
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, register

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
