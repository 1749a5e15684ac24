"""The ``octotp`` root command and the hook other front ends use to mount the same commands."""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from ..core import Octotp
from ..settings import Settings
from ..version import __version__
from .commands import CORE_COMMANDS
from .context import CliContext

OCTOTP_ENTRY_POINT_GROUP = "octotp.commands"


def add_core_commands(group: click.Group) -> click.Group:
    """Mount the core commands on ``group`` (``flask octotp`` and ``manage.py octotp`` call this)."""
    for command in CORE_COMMANDS:
        group.add_command(command)
    return group


class _OctotpGroup(click.Group):
    """Loads plugin subcommands from the ``octotp.commands`` entry points on first use."""

    _plugins_loaded = False

    def _load_plugins(self) -> None:
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for ep in entry_points(group=OCTOTP_ENTRY_POINT_GROUP):
                self.add_command(ep.load(), ep.name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_plugins()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_OctotpGroup)
@click.version_option(__version__, prog_name="octotp")
@click.pass_context
def main(ctx: click.Context) -> None:
    """octotp: one-time verification codes. Configure with OCTOTP_* environment variables."""
    ctx.obj = CliContext(lambda: Octotp(Settings()), owns_logging=True)


add_core_commands(main)
