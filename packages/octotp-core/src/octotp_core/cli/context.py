"""How commands find their ``Octotp``: a ``CliContext`` on the click context, made lazily."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import cached_property, update_wrapper
from typing import Any, TypeVar, cast

import click

from ..core import Octotp
from ..errors import OctotpError, StorageUnavailable
from ..logs import configure_logging
from .database import describe_database

_log = logging.getLogger("octotp.cli")

F = TypeVar("F", bound=Callable[..., Any])


class CliContext:
    """Holds the factory that builds the ``Octotp`` (from env settings, a Flask app, Django settings).

    ``describe_database`` names the database a command uses (default: the engine's URL with its
    password masked); every command that reaches the data prints it on stderr, so a command run
    against a database other than the intended one says so.

    ``owns_logging``: the process is octotp's own (the ``octotp`` command), so it logs in
    ``log_format`` (the ``worker`` configures logging; with ``json`` the database line above is a log
    record too); under ``flask`` or ``manage.py`` the host's logging stays as the host set it.

    ``between_batches``: what ``worker`` calls around each batch (``Worker.between_batches``; the
    Django adapter closes old connections).
    """

    def __init__(
        self,
        factory: Callable[[], Octotp],
        *,
        auto_migrate: bool | None = None,
        describe_database: Callable[[Octotp], str] = describe_database,
        owns_logging: bool = False,
        between_batches: Callable[[], object] | None = None,
    ) -> None:
        self._factory = factory
        self.owns_logging = owns_logging
        self._auto_migrate = auto_migrate
        self._describe_database = describe_database
        self.between_batches = between_batches

    @cached_property
    def octotp(self) -> Octotp:
        """The configured ``Octotp``, migrated first when it is the embedded SQLite default; says
        which database it uses on stderr (stdout stays the command's own output, ``--json`` too)."""
        octotp = self._factory()
        said = f"database {self._describe_database(octotp)}"
        if self.owns_logging and octotp.settings.log_format == "json":
            # stderr is JSON lines in this process (a log collector reads it): a record, not a line of text.
            configure_logging("json")
            _log.info(said)
        else:
            click.echo(f"octotp: {said}", err=True)
        auto = self._auto_migrate
        if auto is None:
            auto = octotp.engine is not None and octotp.engine.dialect.name == "sqlite"
        if auto:
            octotp.migrate()
        return octotp

    def build(self) -> Octotp:
        """A new ``Octotp`` from the factory, never migrated and not announced (``octotp check``
        inspects a deployment and changes nothing); the caller closes it."""
        return self._factory()


def pass_octotp(func: F) -> F:
    """Give the command the ``Octotp`` as its first argument and turn octotp errors into clean exits."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        cli_context = ctx.find_object(CliContext)
        if cli_context is None:  # pragma: no cover - only if mounted without a context
            raise click.UsageError("octotp commands need a CliContext")
        try:
            return ctx.invoke(func, cli_context.octotp, *args, **kwargs)
        except StorageUnavailable as exc:
            raise click.ClickException(_storage_hint(cli_context.octotp) or exc.detail) from None
        except OctotpError as exc:
            raise click.ClickException(exc.detail) from None

    return cast(F, update_wrapper(wrapper, func))


def _storage_hint(octotp: Octotp) -> str | None:
    """When the database answers but octotp's tables are missing or old, say what to run."""
    from ..migrate import current_revision, head_revision

    if octotp.engine is None:
        return None
    try:
        current = current_revision(octotp.engine)
    except Exception:  # the database itself is down: the original message says so
        return None
    if current != head_revision():
        return f"the database is at revision {current or 'none'}, not {head_revision()}: run `octotp db upgrade`"
    return None


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print ``data`` as JSON, or ``text`` for people."""
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)
