"""``OCTOTP_*`` keys in ``app.config``: their defaults, and the core ``Settings`` built from them.

Every core ``Settings`` field ``name`` is read from ``OCTOTP_<NAME>``; a few keys are Flask-only
(``OCTOTP_URL_PREFIX``, ``OCTOTP_ENGINE``, ``OCTOTP_AUTO_MIGRATE``). ``app.config`` is the only
source: the process environment is not read, as with every Flask extension (use
``app.config.from_prefixed_env()`` if you configure through the environment).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from octotp_core import Settings
from octotp_core.settings import ExplicitSettings

PREFIX = "OCTOTP_"

#: Keys that only the Flask extension knows, with their defaults.
FLASK_DEFAULTS: dict[str, Any] = {
    "URL_PREFIX": "",
    "ENGINE": None,
    "AUTO_MIGRATE": False,
    "REGISTER_BLUEPRINT": True,
}

#: Core settings whose default is worked out per app rather than taken from ``Settings``.
_PER_APP = {"data_dir", "secret_key", "secret_key_fallbacks"}


FlaskSettings = ExplicitSettings
"""``Settings`` read only from the values given (``app.config``), never from the environment."""


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


def settings_from_config(app: Flask) -> Settings:
    """The core ``Settings`` for ``app``, from its ``OCTOTP_*`` keys."""
    config = app.config
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = config.get(PREFIX + name.upper())
        if value is not None:
            values[name] = value
    if values.get("secret_key") is None and config.get("SECRET_KEY"):
        # The app's own secret, and its rotation list (Flask 3.1+), unless octotp has its own.
        values["secret_key"] = _text(config["SECRET_KEY"])
        if "secret_key_fallbacks" not in values:
            values["secret_key_fallbacks"] = [_text(v) for v in config.get("SECRET_KEY_FALLBACKS") or []]
    return FlaskSettings(**values)


def _text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:  # e.g. os.urandom bytes: any stable text form will do
        return value.hex()
