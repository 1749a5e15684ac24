"""``flask octotp ...``: the ``octotp`` CLI's own commands, mounted on a Flask ``AppGroup``."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from octotp_core.cli import CliContext, add_core_commands


@click.group("octotp", cls=AppGroup)
@with_appcontext
def octotp_cli() -> None:
    """octotp: database, accounts, projects, API keys, plans, purge (configured by the app's OCTOTP_* keys)."""
    from .extension import get_octotp

    click.get_current_context().obj = CliContext(get_octotp)


add_core_commands(octotp_cli)
