"""Shipped migrations: complete (``makemigrations --check``), apply from empty, and match core's schema."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connections
from sqlalchemy import Table

from octotp_core.store.models import Base

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_makemigrations_check_is_clean() -> None:
    call_command("makemigrations", "octotp", "--check", "--dry-run", verbosity=0)


def test_migrate_from_empty_and_back(octotp_db: str) -> None:
    connection = connections[octotp_db]
    call_command("migrate", "octotp", "zero", database=octotp_db, verbosity=0)
    assert not {t for t in connection.introspection.table_names() if t.startswith("octotp_")}
    call_command("migrate", "octotp", database=octotp_db, verbosity=0)
    assert {t for t in connection.introspection.table_names() if t.startswith("octotp_")} == set(Base.metadata.tables)


def test_same_columns_and_indexes_as_core(octotp_db: str) -> None:
    connection = connections[octotp_db]
    with connection.cursor() as cursor:
        for name, table in Base.metadata.tables.items():
            assert isinstance(table, Table)
            columns = {c.name for c in connection.introspection.get_table_description(cursor, name)}
            extra = {"id"} if name == "octotp_usage_daily" else set()  # Django 4.2 has no composite keys
            assert columns == {c.name for c in table.columns} | extra, name
            constraints = connection.introspection.get_constraints(cursor, name)
            indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"]}
            for index in table.indexes:
                assert tuple(c.name for c in index.columns) in indexed, (name, index.name)
