"""``manage.py octotp ...``: the core click commands, built once in core and mounted here.

Only ``db`` differs: octotp's tables belong to Django's migrations, so ``db upgrade`` runs
``migrate octotp`` and ``db current`` reports Django's migration state.
"""

from __future__ import annotations

import click
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, router
from django.db.migrations.loader import MigrationLoader
from sqlalchemy.engine import URL

from octotp_core import Octotp
from octotp_core.cli import CliContext, add_core_commands, emit, json_option, masked_url

from .api import get_octotp

APP_LABEL = "octotp"
VERBOSITY = "octotp_django.verbosity"
"""The ``click.Context.meta`` key holding Django's ``--verbosity``."""
STANDARD_OPTIONS_EPILOG = (
    "Django's standard options (--settings, --pythonpath, --traceback, --no-color, --force-color, "
    "-v/--verbosity, --skip-checks) work anywhere on the line, as with every manage.py command."
)


def _default_database() -> str:
    from .models import Token

    return router.db_for_write(Token) or DEFAULT_DB_ALIAS


def _state(database: str) -> tuple[str | None, str | None]:
    """(newest applied, newest available) octotp migration on ``database``."""
    loader = MigrationLoader(connections[database])
    applied = sorted(name for app, name in loader.applied_migrations if app == APP_LABEL)
    heads = loader.graph.leaf_nodes(APP_LABEL)
    return (applied[-1] if applied else None), (heads[0][1] if heads else None)


database_option = click.option("--database", default=None, help="Database alias (default: where octotp is routed).")


@click.group("db")
def db() -> None:
    """Database schema (Django migrations of the octotp app)."""


@db.command("upgrade")
@database_option
@json_option
def db_upgrade(database: str | None, as_json: bool) -> None:
    """Apply octotp's Django migrations (``manage.py migrate octotp``)."""
    database = database or _default_database()
    verbosity = 0 if as_json else int(click.get_current_context().meta.get(VERBOSITY, 1))
    call_command("migrate", APP_LABEL, database=database, verbosity=verbosity)
    current, _ = _state(database)
    emit(as_json, {"revision": current, "database": database}, f"Database {database!r} is at migration {current}.")


@db.command("current")
@database_option
@json_option
def db_current(database: str | None, as_json: bool) -> None:
    """Show the newest applied octotp migration and the newest available one."""
    database = database or _default_database()
    current, head = _state(database)
    emit(as_json, {"revision": current, "head": head}, f"current: {current or 'none'}  head: {head}")


def build_cli(*, verbosity: int = 1) -> click.Group:
    """The ``octotp`` click group with the core commands, using ``get_octotp()`` and Django migrations.

    ``verbosity`` is Django's ``-v``/``--verbosity`` (``db upgrade`` hands it to ``migrate``)."""

    @click.group("octotp", epilog=STANDARD_OPTIONS_EPILOG)
    @click.pass_context
    def octotp(ctx: click.Context) -> None:
        """octotp: projects, API keys, plans, purge and migrations for this Django project."""
        ctx.obj = CliContext(
            get_octotp,
            auto_migrate=False,
            describe_database=describe_django_database,
            # As Django does around each request: ``worker`` runs for days, through database restarts.
            between_batches=close_old_connections,
        )
        ctx.meta[VERBOSITY] = verbosity

    add_core_commands(octotp)
    octotp.add_command(db)  # replaces core's Alembic ``db`` group
    return octotp


def describe_django_database(octotp: Octotp) -> str:
    """The Django database octotp's tables live in: its alias, vendor and name, with host and user
    (never the password). Every data command says it on stderr, so the ``--settings`` in use shows."""
    alias = _default_database()
    connection = connections[alias]
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite file {params.get('NAME')} (Django alias {alias!r})"
    url = URL.create(
        connection.vendor,
        username=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=int(params["PORT"]) if params.get("PORT") else None,
        database=str(params.get("NAME") or ""),
    )
    return f"{masked_url(url)} (Django alias {alias!r})"
