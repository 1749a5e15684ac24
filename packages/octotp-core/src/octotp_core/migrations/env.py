"""Alembic environment: runs on the connection handed over by ``octotp_core.migrate``."""

from __future__ import annotations

from alembic import context

from octotp_core.migrate import VERSION_TABLE
from octotp_core.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached through the alembic CLI
    from octotp_core.store.engine import make_engine

    connection = make_engine(config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
