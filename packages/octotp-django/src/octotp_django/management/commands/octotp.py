"""``manage.py octotp ...``: the same commands as the ``octotp`` CLI (run ``manage.py octotp --help``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import click
from django.core.management.base import BaseCommand, CommandError, CommandParser

from octotp_django.cli import build_cli


class Command(BaseCommand):
    help = "octotp commands: projects, keys, plans, accounts, purge, db (see `manage.py octotp --help`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help="An octotp command and its options.")

    def run_from_argv(self, argv: list[str]) -> None:
        """Hand everything after ``octotp`` to click, which owns parsing, help and exit codes."""
        self._called_from_command_line = True
        try:
            self.check()
        except CommandError as exc:  # SystemCheckError: show the checks, not a traceback
            self.stderr.write(str(exc))
            sys.exit(1)
        try:
            build_cli().main(args=argv[2:], prog_name=f"{os.path.basename(argv[0])} {argv[1]}", standalone_mode=True)
        finally:
            from django.db import connections

            connections.close_all()

    def handle(self, *args: str, **options: Any) -> None:
        """``call_command("octotp", "projects", "create", "Shop")``: run in-process, errors as ``CommandError``."""
        try:
            build_cli().main(args=list(args), prog_name="octotp", standalone_mode=False)
        except click.exceptions.Exit as exc:
            if exc.exit_code:
                raise CommandError(f"octotp exited with status {exc.exit_code}") from None
        except click.ClickException as exc:
            raise CommandError(exc.format_message()) from None
        except click.exceptions.Abort:
            raise CommandError("aborted") from None
