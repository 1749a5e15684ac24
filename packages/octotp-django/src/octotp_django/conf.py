"""Reading the ``OCTOTP = {...}`` Django setting into core ``Settings``.

Keys are the core ``Settings`` field names in upper case (``"CODE_LENGTH"``, ``"PLANS"``,
``"RATE_LIMIT_STORAGE"``...). Only this dict configures octotp under Django: ``OCTOTP_*``
environment variables are not read, and there is no ``DATABASE_URL`` or ``DATA_DIR`` (octotp uses
Django's database and keeps no files). Without ``SECRET_KEY``, octotp derives its secret from
Django's ``SECRET_KEY`` (and its ``SECRET_KEY_FALLBACKS``, so rotating Django's secret rotates octotp's).

One key is octotp-django's own, not a core setting: ``DASHBOARD_AUTH`` (``dashboard_auth()``), who
signs in to the dashboard: ``"octotp"`` (octotp's own accounts, the default) or ``"django"`` (Django's
users, ``LOGIN_URL`` and permissions).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import ValidationError

from octotp_core import Settings
from octotp_core.settings import OWN_PROCESS_SETTINGS, ExplicitSettings, closest_setting

SETTING = "OCTOTP"
DEFAULT_EMAIL_BACKEND = "octotp_django.mail.DjangoEmailBackend"
# Core fields that make no sense under Django (storage is Django's database).
NOT_USED = {
    "DATABASE_URL": "octotp stores its tables in Django's database; configure DATABASES instead",
    "DATA_DIR": "octotp-django keeps no files: its secret derives from Django's SECRET_KEY (or is "
    "OCTOTP['SECRET_KEY']) and its tables are in DATABASES",
    "LOG_FORMAT": f"{OWN_PROCESS_SETTINGS['log_format']}: Django's LOGGING configures octotp's loggers; for JSON "
    "lines give a handler the formatter {'()': 'octotp_core.logs.JsonFormatter'}",
    "PURGE_INTERVAL_SECONDS": f"{OWN_PROCESS_SETTINGS['purge_interval_seconds']}; run `manage.py octotp purge` "
    "from cron",
}
#: Where every ``OCTOTP`` key is documented (named by the ``octotp.E002`` hint).
SETTINGS_DOCS = "packages/octotp-django/README.md#settings"
#: octotp-django's own key (not a core setting): who signs in to the dashboard.
DASHBOARD_AUTH = "DASHBOARD_AUTH"
DashboardAuth = Literal["octotp", "django"]
DASHBOARD_AUTH_MODES: tuple[DashboardAuth, ...] = ("octotp", "django")


DjangoSettings = ExplicitSettings
"""Core ``Settings`` filled only from the ``OCTOTP`` dict (never from the environment)."""


@dataclass(frozen=True)
class SettingProblem:
    """One thing wrong with the configuration, and which setting it is in."""

    setting: str
    message: str
    check_id: str
    hint: str | None = None


def derive_secret(django_secret: str) -> str:
    """octotp's secret from a Django secret (domain-separated, so the two never coincide)."""
    return hmac.new(django_secret.encode(), b"octotp-django-secret-key", hashlib.sha256).hexdigest()


def _label(loc: tuple[Any, ...]) -> str:
    if not loc:
        return SETTING
    head, *rest = loc
    return f"{SETTING}[{str(head).upper()!r}]" + "".join(f"[{part!r}]" for part in rest)


def _unknown_hint(key: object) -> str:
    """One "did you mean" from core's ``closest_setting`` (never a key octotp-django does not use),
    else where the keys are documented: a list of every key buries the one that was meant."""
    used = [name for name in DjangoSettings.model_fields if name.upper() not in NOT_USED] + [DASHBOARD_AUTH.lower()]
    close = closest_setting(key, used) if isinstance(key, str) else None
    if close is not None:
        return f"did you mean {SETTING}[{close.upper()!r}]?"
    return f"the keys are listed in octotp-django's README, section Settings ({SETTINGS_DOCS})"


def _user_dict() -> tuple[dict[str, Any], list[SettingProblem]]:
    raw = getattr(django_settings, SETTING, {})
    if not isinstance(raw, Mapping):
        return {}, [SettingProblem(SETTING, f"{SETTING} must be a dict, not {type(raw).__name__}", "octotp.E001")]
    return dict(raw), []


def _values() -> tuple[dict[str, Any], list[SettingProblem]]:
    """The keyword arguments for ``DjangoSettings`` and any problems found on the way."""
    raw, problems = _user_dict()
    fields = DjangoSettings.model_fields
    values: dict[str, Any] = {"delivery_email_backend": DEFAULT_EMAIL_BACKEND}
    for key, value in raw.items():
        label = f"{SETTING}[{key!r}]"
        if key in NOT_USED:
            problems.append(SettingProblem(label, f"{key} is not used by octotp-django", "octotp.E004", NOT_USED[key]))
            continue
        if key == DASHBOARD_AUTH:
            problem = _dashboard_auth_problem(value)
            if problem is not None:
                problems.append(problem)
            continue
        name = key.lower() if isinstance(key, str) else ""
        if not isinstance(key, str) or key != key.upper() or name not in fields:
            problems.append(SettingProblem(label, f"unknown octotp setting {key!r}", "octotp.E002", _unknown_hint(key)))
            continue
        if name == "plans" and isinstance(value, Mapping):  # plan dicts may use upper-case keys too
            value = {
                plan: {str(k).lower(): v for k, v in spec.items()} if isinstance(spec, Mapping) else spec
                for plan, spec in value.items()
            }
        values[name] = value
    if "secret_key" not in values:
        try:
            django_secret = getattr(django_settings, "SECRET_KEY", "")
        except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
            django_secret = ""
        if not django_secret:
            problems.append(
                SettingProblem(
                    f"{SETTING}['SECRET_KEY']",
                    "no secret: set OCTOTP['SECRET_KEY'] or Django's SECRET_KEY",
                    "octotp.E005",
                )
            )
        else:
            values["secret_key"] = derive_secret(django_secret)
            if "secret_key_fallbacks" not in values:
                fallbacks = getattr(django_settings, "SECRET_KEY_FALLBACKS", [])
                values["secret_key_fallbacks"] = [derive_secret(s) for s in fallbacks]
    return values, problems


def _dashboard_auth_problem(value: object) -> SettingProblem | None:
    if value in DASHBOARD_AUTH_MODES:
        return None
    return SettingProblem(
        f"{SETTING}[{DASHBOARD_AUTH!r}]",
        f"must be 'octotp' (octotp's own dashboard accounts, the default) or 'django' (your Django users, "
        f"LOGIN_URL and permissions), not {value!r}",
        "octotp.E003",
    )


def dashboard_auth() -> DashboardAuth:
    """``OCTOTP["DASHBOARD_AUTH"]``: ``"octotp"`` (the default) or ``"django"``;
    ``ImproperlyConfigured`` for any other value (``manage.py check`` reports it as ``octotp.E003``)."""
    raw, _problems = _user_dict()
    value = raw.get(DASHBOARD_AUTH, "octotp")
    problem = _dashboard_auth_problem(value)
    if problem is not None:
        raise ImproperlyConfigured(f"{problem.setting}: {problem.message}")
    return cast(DashboardAuth, value)


def validate() -> tuple[Settings | None, list[SettingProblem]]:
    """Build the settings, returning every problem instead of raising (used by the system checks)."""
    values, problems = _values()
    if problems:
        return None, problems
    try:
        return DjangoSettings(**values), []
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            problems.append(SettingProblem(_label(loc), str(error["msg"]), "octotp.E003"))
        return None, problems


def get_settings() -> Settings:
    """The core ``Settings`` for this Django project; ``ImproperlyConfigured`` naming every bad setting."""
    built, problems = validate()
    if built is None:
        raise ImproperlyConfigured("; ".join(f"{p.setting}: {p.message}" for p in problems))
    return built
