"""``manage.py octotp ...``: the same commands as the ``octotp`` CLI (run ``manage.py octotp --help``).

click parses octotp's commands; Django's standard options (``--settings``, ``--pythonpath``,
``--traceback``, ``--no-color``, ``--force-color``, ``-v``/``--verbosity``, ``--skip-checks``) are
taken out first, wherever they stand on the line, by Django's own parser for them, and mean what
they mean for every other command. After ``--`` nothing is taken out.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import click
from django.core.management.base import BaseCommand, CommandError, CommandParser, handle_default_options

from octotp_django.cli import build_cli


class Command(BaseCommand):
    help = "octotp commands: projects, keys, plans, accounts, purge, db (see `manage.py octotp --help`)."

    _standard_options_only = False

    def add_arguments(self, parser: CommandParser) -> None:
        if not self._standard_options_only:
            parser.add_argument("args", nargs=argparse.REMAINDER, help="An octotp command and its options.")

    def standard_options_parser(self, prog_name: str, subcommand: str) -> CommandParser:
        """Django's parser with only the options every command has (``create_parser`` adds them), no
        abbreviations (``--set`` stays click's) and no ``--help`` (click's help lists octotp's commands)."""
        self._standard_options_only = True
        try:
            parser = self.create_parser(prog_name, subcommand, add_help=False, allow_abbrev=False)
        finally:
            self._standard_options_only = False
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        """Apply Django's standard options, then hand the rest of the line to click, which owns
        parsing, help and exit codes for octotp's commands."""
        self._called_from_command_line = True
        prog_name = f"{os.path.basename(argv[0])} {argv[1]}"
        options, click_args = self.standard_options_parser(argv[0], argv[1]).parse_known_args(argv[2:])
        handle_default_options(options)  # --settings, --pythonpath (ManagementUtility applied them too)
        if not options.skip_checks:
            try:
                self.check()
            except CommandError as exc:  # SystemCheckError: show the checks, not a traceback
                if options.traceback:
                    raise
                self.stderr.write(str(exc))
                sys.exit(1)
        color = False if options.no_color else (True if options.force_color else None)
        cli = build_cli(verbosity=options.verbosity)
        try:
            # --traceback: click's errors propagate with their stack, as CommandError does in Django.
            status = cli.main(args=click_args, prog_name=prog_name, standalone_mode=not options.traceback, color=color)
            if isinstance(status, int) and status:  # only without standalone mode: an ``Exit`` code
                sys.exit(status)
        finally:
            from django.db import connections

            connections.close_all()

    def handle(self, *args: str, **options: Any) -> None:
        """``call_command("octotp", "projects", "create", "Shop")``: run in-process, errors as ``CommandError``."""
        cli = build_cli(verbosity=int(options.get("verbosity", 1)))
        color = False if options.get("no_color") else (True if options.get("force_color") else None)
        try:
            cli.main(args=list(args), prog_name="octotp", standalone_mode=False, color=color)
        except click.exceptions.Exit as exc:
            if exc.exit_code:
                raise CommandError(f"octotp exited with status {exc.exit_code}") from None
        except click.ClickException as exc:
            raise CommandError(exc.format_message()) from None
        except click.exceptions.Abort:
            raise CommandError("aborted") from None
