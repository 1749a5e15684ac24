"""``OCTOTP_*`` keys in ``app.config``: their defaults, and the core ``Settings`` built from them.

Every core ``Settings`` field ``name`` is read from ``OCTOTP_<NAME>``; a few keys are Flask-only
(``OCTOTP_URL_PREFIX``, ``OCTOTP_ENGINE``, ``OCTOTP_AUTO_MIGRATE``, ...). ``app.config`` is the only
source: the process environment is not read, as with every Flask extension (use
``app.config.from_prefixed_env()`` if you configure through the environment).

Mistakes fail at ``init_app`` with ``ConfigurationError`` naming the config key: an ``OCTOTP_*``
key octotp does not know (with a did-you-mean), or a value the setting refuses. Values are never
repeated in the message (a refused one may be a secret).
"""

from __future__ import annotations

import os
import re
from typing import Any

from flask import Flask
from pydantic import ValidationError

from octotp_core import Settings
from octotp_core.settings import OWN_PROCESS_SETTINGS, ExplicitSettings, closest_setting

PREFIX = "OCTOTP_"

#: Keys that only the Flask extension knows, with their defaults.
FLASK_DEFAULTS: dict[str, Any] = {
    "URL_PREFIX": "",
    "ENGINE": None,
    "AUTO_MIGRATE": False,
    "REGISTER_BLUEPRINT": True,
    "HANDLE_ERRORS": False,
}

#: Core settings only octotp's own processes act on (``OWN_PROCESS_SETTINGS``), with what to do under
#: Flask instead: a value other than the default is refused rather than ignored (as Django's
#: ``NOT_USED`` check does).
NOT_USED: dict[str, str] = {
    "LOG_FORMAT": f"{OWN_PROCESS_SETTINGS['log_format']}: configure the octotp.* loggers in your app's "
    "logging; for JSON lines give a handler octotp_core.logs.JsonFormatter",
    "PURGE_INTERVAL_SECONDS": f"{OWN_PROCESS_SETTINGS['purge_interval_seconds']}; run `flask octotp purge` from cron",
}

#: Core settings whose default is worked out per app rather than taken from ``Settings``.
_PER_APP = {"data_dir", "secret_key", "secret_key_fallbacks"}


FlaskSettings = ExplicitSettings
"""``Settings`` read only from the values given (``app.config``), never from the environment."""


class ConfigurationError(ValueError):
    """An ``OCTOTP_*`` key in ``app.config`` is unknown, or its value is refused; raised by ``init_app``."""


def option_keys() -> set[str]:
    """Every option name ``Octotp(**options)`` accepts (lower case, without the prefix)."""
    return set(Settings.model_fields) | {key.lower() for key in FLASK_DEFAULTS}


def set_defaults(app: Flask, options: dict[str, Any]) -> None:
    """``app.config.setdefault`` every ``OCTOTP_*`` key: the extension's option if given, else the default."""
    for key, default in FLASK_DEFAULTS.items():
        app.config.setdefault(PREFIX + key, options.get(key.lower(), default))
    for name, field in Settings.model_fields.items():
        if name in options:
            default = options[name]
        elif name == "data_dir":
            default = os.path.join(app.instance_path, "octotp")
        elif name in _PER_APP:
            default = None  # falls back to the app's SECRET_KEY / SECRET_KEY_FALLBACKS
        else:
            default = field.get_default(call_default_factory=True)
        app.config.setdefault(PREFIX + name.upper(), default)


def check_keys(app: Flask) -> None:
    """Refuse ``OCTOTP_*`` keys that octotp does not know: a misspelt one would otherwise be ignored
    in silence, and the setting meant would keep its default."""
    known = option_keys()
    problems = []
    for key in sorted(k for k in app.config if isinstance(k, str) and k.startswith(PREFIX)):
        name = key[len(PREFIX) :].lower()
        if name in known:
            continue
        meant = closest_setting(name, known)
        hint = f"did you mean {PREFIX}{meant.upper()}?" if meant else "see octotp-flask's README, Configuration"
        problems.append(f"{key} is not an octotp setting ({hint})")
    if problems:
        raise ConfigurationError("; ".join(problems))


def refuse_not_used(app: Flask) -> None:
    """Refuse a ``NOT_USED`` key given a value other than its default (in ``app.config`` or as an
    option; call after ``set_defaults``): the app would otherwise go without what it asked for."""
    problems = []
    for key, instead in NOT_USED.items():
        if app.config[PREFIX + key] != Settings.model_fields[key.lower()].get_default(call_default_factory=True):
            problems.append(f"{PREFIX}{key} is not used by octotp-flask ({instead})")
    if problems:
        raise ConfigurationError("; ".join(problems))


def settings_from_config(app: Flask) -> Settings:
    """The core ``Settings`` for ``app``, from its ``OCTOTP_*`` keys; ``ConfigurationError`` names
    each refused key (``OCTOTP_CODE_LENGTH: ...``)."""
    config = app.config
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}  # the config key each value came from, where it is not OCTOTP_<NAME>
    for name in Settings.model_fields:
        value = config.get(PREFIX + name.upper())
        if value is not None:
            values[name] = value
    if values.get("secret_key") is None and config.get("SECRET_KEY"):
        # The app's own secret, and its rotation list (Flask 3.1+), unless octotp has its own.
        values["secret_key"] = _text(config["SECRET_KEY"])
        keys["secret_key"] = "SECRET_KEY (octotp's secret while OCTOTP_SECRET_KEY is not set)"  # noqa: S105 - a key's name
        if "secret_key_fallbacks" not in values:
            values["secret_key_fallbacks"] = [_text(v) for v in config.get("SECRET_KEY_FALLBACKS") or []]
            keys["secret_key_fallbacks"] = "SECRET_KEY_FALLBACKS"  # noqa: S105 - a key's name
    try:
        return FlaskSettings(**values)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, keys)) from None


def _describe(exc: ValidationError, keys: dict[str, str]) -> str:
    """pydantic's errors with each field named as its config key, and without the input values."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = error["loc"]
        message = error["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across settings ("code_length (4) is below ..."): name them as keys
            lines.append(_keys_named(message))
            continue
        head, *rest = loc
        key = keys.get(str(head), PREFIX + str(head).upper()) + "".join(f"[{part!r}]" for part in rest)
        lines.append(f"{key}: {message}")
    return "invalid octotp configuration: " + "; ".join(lines)


def _keys_named(message: str) -> str:
    for name in sorted(Settings.model_fields, key=len, reverse=True):
        message = re.sub(rf"\b{name}\b", PREFIX + name.upper(), message)
    return message


def _text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:  # e.g. os.urandom bytes: any stable text form will do
        return value.hex()
