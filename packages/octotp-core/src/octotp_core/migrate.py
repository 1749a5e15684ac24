"""Running octotp's Alembic migrations programmatically (``octotp db upgrade`` calls this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

VERSION_TABLE = "octotp_alembic_version"
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
