"""Running octotp's Alembic migrations programmatically (``octotp db upgrade`` calls this)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

VERSION_TABLE = "octotp_alembic_version"
TABLE_PREFIX = "octotp_"
_SCRIPT_LOCATION = str(Path(__file__).parent / "migrations")


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the newest)."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (``base`` removes every octotp table)."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when octotp's tables were never created."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped in this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """An Alembic ``include_name`` hook for a host app that shares its database with octotp.

    Without it the host's autogenerate sees octotp's tables as unknown and proposes dropping them.
    ``context.configure(..., include_name=include_name)`` in the host's env.py, or with
    Flask-Migrate ``Migrate(app, db, include_name=include_name)``.
    """
    return not (type_ == "table" and (name or "").startswith(TABLE_PREFIX))
