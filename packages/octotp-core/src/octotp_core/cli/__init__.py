"""The ``octotp`` command line (click). Other packages add subcommands through the
``octotp.commands`` entry-point group (octotp-fastapi adds ``serve``)."""

from .app import OCTOTP_ENTRY_POINT_GROUP, add_core_commands, main
from .context import CliContext, emit, json_option, pass_octotp
from .database import describe_database, masked_url
from .invocation import octotp_command

__all__ = [
    "OCTOTP_ENTRY_POINT_GROUP",
    "CliContext",
    "add_core_commands",
    "describe_database",
    "emit",
    "json_option",
    "main",
    "masked_url",
    "octotp_command",
    "pass_octotp",
]
