"""Operator policy for projects: the one validation every project write goes through, and the bounds
a token request is held to whatever a project row holds.

An operator decides the plans and the bounds (``Settings.project_expiry_max_ceiling``,
``Settings.project_min_code_length``); a project's owner chooses within them. Every writer — the
dashboard, the CLI, the Django admin form, the Python API — calls ``validate_project`` before it
stores, so no writer can skip a rule. ``token_policy`` clamps what is read back, so a value that
reached a row some other way (an older version, a hand-edited database) still cannot make a request
fail with a 500.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from .codes import MAX_CODE_LENGTH
from .delivery.overrides import FIELDS as OVERRIDE_FIELDS
from .delivery.overrides import validate_overrides
from .errors import FieldError, InvalidInput
from .settings import Settings
from .store import Project

MAX_NAME_LENGTH = 200

log = logging.getLogger("octotp.projects")


def overrides_json(values: Mapping[str, object]) -> str | None:
    """What ``Project.message_overrides`` stores for ``values``: JSON of the fields that are set
    (stripped; blank means "octotp's default"), in ``FIELDS`` order; None when none is set."""
    kept = {
        field: value.strip()
        for field in OVERRIDE_FIELDS
        if isinstance(value := values.get(field), str) and value.strip()
    }
    return json.dumps(kept, ensure_ascii=False) if kept else None


def message_overrides(project: Project) -> dict[str, object]:
    """The project's message overrides (``Project.message_overrides`` read), for ``delivery.render``
    and the dashboard's form; {} when it has none or the stored text is not a JSON object."""
    if not project.message_overrides:
        return {}
    try:
        parsed = json.loads(project.message_overrides)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        log.warning("project message overrides unreadable project=%s; octotp's messages are used", project.id)
        return {}
    return parsed


def _overrides_errors(project: Project, name: str, changes: dict[str, object]) -> list[FieldError]:
    """The rules ``project.message_overrides`` breaks (``delivery.validate_overrides``); on success it
    is normalised into ``changes``."""
    if project.message_overrides is None:
        return []
    try:
        parsed = json.loads(project.message_overrides) if isinstance(project.message_overrides, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return [FieldError("message_overrides", "must be a JSON object of message settings")]
    errors = validate_overrides(parsed, project=name or None)
    if not errors:
        changes["message_overrides"] = overrides_json(parsed)
    return errors


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_project(project: Project, settings: Settings) -> Project:
    """The project as it may be stored (name stripped, region upper-cased), or ``InvalidInput`` naming
    every field that breaks the operator's policy.

    Rules: a 1-200 character name; a plan defined in ``settings.plans``; a code length from
    ``settings.project_min_code_length`` to 10; expiry bounds from 1 to
    ``settings.project_expiry_max_ceiling`` seconds, ordered ``expiry_min <= expiry_default <=
    expiry_max`` (unset bounds count as the server defaults); a supported phone region; message overrides
    that keep ``delivery.validate_overrides`` (stored normalised: ``overrides_json``). ``None`` in an
    optional field means "the server default".
    """
    errors: list[FieldError] = []
    changes: dict[str, object] = {}

    name = project.name.strip() if isinstance(project.name, str) else ""
    if not name or len(name) > MAX_NAME_LENGTH:
        errors.append(FieldError("name", f"must be 1-{MAX_NAME_LENGTH} characters"))
    changes["name"] = name

    if project.plan not in settings.plans:
        errors.append(FieldError("plan", f"must be one of {', '.join(sorted(settings.plans))}"))

    shortest = settings.project_min_code_length
    if project.code_length is not None and not (
        _whole(project.code_length) and shortest <= project.code_length <= MAX_CODE_LENGTH
    ):
        reason = f"must be {shortest}-{MAX_CODE_LENGTH} digits (the shortest this server allows is {shortest})"
        errors.append(FieldError("code_length", reason))

    ceiling = settings.project_expiry_max_ceiling
    bounds_ok = True
    for field, value in (
        ("expiry_min", project.expiry_min),
        ("expiry_default", project.expiry_default),
        ("expiry_max", project.expiry_max),
    ):
        if value is not None and not (_whole(value) and 1 <= value <= ceiling):
            bounds_ok = False
            reason = f"must be 1-{ceiling} seconds (the highest this server allows is {ceiling})"
            errors.append(FieldError(field, reason))
    if bounds_ok:
        low = project.expiry_min or settings.expiry_min
        default = project.expiry_default or settings.expiry_default
        high = project.expiry_max or settings.expiry_max
        if not low <= default <= high:
            reason = f"need expiry_min <= expiry_default <= expiry_max, got {low} <= {default} <= {high}"
            errors.append(FieldError("expiry", reason))

    if project.default_phone_region is not None:
        region = project.default_phone_region.strip().upper() if isinstance(project.default_phone_region, str) else ""
        if region not in phonenumbers.SUPPORTED_REGIONS:
            errors.append(FieldError("default_phone_region", "must be a two-letter region code, e.g. GB"))
        changes["default_phone_region"] = region

    for field in ("deliver_only", "validate_requires_key"):
        if not isinstance(getattr(project, field), bool):
            errors.append(FieldError(field, "must be true or false"))

    errors.extend(_overrides_errors(project, name, changes))

    if errors:
        raise InvalidInput(errors)
    return dataclasses.replace(project, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TokenPolicy:
    """What a token request of one project is held to: always within the operator's bounds."""

    code_length: int
    expiry_min: int
    expiry_default: int
    expiry_max: int


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def token_policy(project: Project, settings: Settings) -> TokenPolicy:
    """The code length and expiry bounds in force for ``project``.

    Stored values are clamped into the operator's bounds rather than trusted: a row written before
    the bounds existed, or by hand, may hold a code length below the minimum or an expiry above the
    ceiling, and must still never make a request fail (an oversized expiry overflowed the date
    arithmetic).
    """

    def stored(value: int | None, default: int) -> int:
        return value if _whole(value) and value is not None and value > 0 else default

    shortest = settings.project_min_code_length
    code_length = _clamp(stored(project.code_length, settings.code_length), shortest, MAX_CODE_LENGTH)
    high = _clamp(stored(project.expiry_max, settings.expiry_max), 1, settings.project_expiry_max_ceiling)
    low = _clamp(stored(project.expiry_min, settings.expiry_min), 1, high)
    default = _clamp(stored(project.expiry_default, settings.expiry_default), low, high)
    return TokenPolicy(code_length, low, default, high)
