"""Alembic migrations for ``SqlAlchemyStore`` (version table ``octotp_alembic_version``)."""
