"""Jinja2 templates shipped in this package (autoescaped), rendered into neutral ``Response``s."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..http.messages import Response


def _when(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(value: dt.datetime) -> str:
    """A ``<time datetime>`` value: ISO 8601 in UTC, to the second ("2026-02-14T12:05:00Z")."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def environment() -> Environment:
    """The dashboard's Jinja2 environment (autoescape on for every template)."""
    env = Environment(
        loader=PackageLoader("octotp_core.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["iso"] = _iso
    # What a page in a host-login dashboard adds (``DashboardViews.page``); absent elsewhere.
    env.globals.update(host_csrf=None, host_login=False, who=None)
    return env


def render(status: int, template: str, **context: Any) -> Response:
    """An HTML response from ``templates/<template>``."""
    return Response.html(status, environment().get_template(template).render(**context))


@cache
def stylesheet() -> bytes:
    """The dashboard's one CSS file."""
    return files("octotp_core.dashboard").joinpath("static/dashboard.css").read_bytes()
