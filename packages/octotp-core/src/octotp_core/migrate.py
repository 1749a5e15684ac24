"""Running octotp's Alembic migrations programmatically (``octotp db upgrade`` calls this).

Alembic is imported by the functions that use it, not with this module: it brings Mako (and Mako
Pygments, where installed), a third of the ``octotp`` command's start-up, which every command but
the ones that migrate or compare revisions would pay for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "octotp_alembic_version"
TABLE_PREFIX = "octotp_"
_SCRIPT_LOCATION = str(Path(__file__).parent / "migrations")


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the migrations shipped in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the newest)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (``base`` removes every octotp table)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when octotp's tables were never created."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped in this package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """An Alembic ``include_name`` hook for a host app that shares its database with octotp.

    Without it the host's autogenerate sees octotp's tables as unknown and proposes dropping them.
    ``context.configure(..., include_name=include_name)`` in the host's env.py, or with
    Flask-Migrate ``Migrate(app, db, include_name=include_name)``.
    """
    return not (type_ == "table" and (name or "").startswith(TABLE_PREFIX))
