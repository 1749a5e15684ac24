"""Shipped migrations: complete (``makemigrations --check``), apply from empty, and match core's schema."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connections
from sqlalchemy import Table

from octotp_core import Octotp
from octotp_core.store.models import SQLALCHEMY_ONLY_TABLES, Base

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_makemigrations_check_is_clean() -> None:
    call_command("makemigrations", "octotp", "--check", "--dry-run", verbosity=0)


def test_migrate_from_empty_and_back(octotp_db: str) -> None:
    connection = connections[octotp_db]
    call_command("migrate", "octotp", "zero", database=octotp_db, verbosity=0)
    assert not {t for t in connection.introspection.table_names() if t.startswith("octotp_")}
    call_command("migrate", "octotp", database=octotp_db, verbosity=0)
    tables = set(Base.metadata.tables) - SQLALCHEMY_ONLY_TABLES
    assert {t for t in connection.introspection.table_names() if t.startswith("octotp_")} == tables


def test_same_columns_and_indexes_as_core(octotp_db: str) -> None:
    connection = connections[octotp_db]
    with connection.cursor() as cursor:
        for name, table in Base.metadata.tables.items():
            if name in SQLALCHEMY_ONLY_TABLES:
                continue
            assert isinstance(table, Table)
            columns = {c.name for c in connection.introspection.get_table_description(cursor, name)}
            # Django 4.2 has no composite primary keys: a surrogate id beside a unique constraint
            extra = {"id"} if name in ("octotp_usage_daily", "octotp_idempotency_keys") else set()
            assert columns == {c.name for c in table.columns} | extra, name
            constraints = connection.introspection.get_constraints(cursor, name)
            indexed = {
                tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"] or c["primary_key"]
            }
            for index in table.indexes:
                assert tuple(c.name for c in index.columns) in indexed, (name, index.name)
            if table.primary_key.columns:
                assert tuple(c.name for c in table.primary_key.columns) in indexed, name


def test_validate_lookup_is_a_seek_on_the_binding_index(octotp_db: str) -> None:
    """As core's index-plan test: the database's own plan for the newest-token lookup names our index."""
    from octotp_django.conf import get_settings
    from octotp_django.store import DjangoStore, _statements

    octotp = Octotp(get_settings(), store=DjangoStore())
    project = octotp.accounts.create_project("plans").project
    for i in range(3):
        octotp.create_token(project.id, email=f"p{i}@example.com")
    connection = connections[octotp_db]
    sql = _statements(connection).latest_token  # the statement latest_token() runs
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # tiny tables: can an index serve it?
        explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
        cursor.execute(f"{explain} {sql}", [project.id, "ab" * 32, ""])
        plan = " ".join(str(row) for row in cursor.fetchall())
        if connection.vendor == "postgresql":
            cursor.execute("RESET enable_seqscan")
    assert "ix_octotp_tokens_binding" in plan, plan


def test_0004_leaves_existing_projects_validating_without_a_key(octotp_db: str) -> None:
    """Projects from before ``validate_requires_key`` keep anonymous validates; new ones require a key."""
    from octotp_django.models import Project

    connection = connections[octotp_db]
    call_command("migrate", "octotp", "0003", database=octotp_db, verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO octotp_projects (id, name, plan, deliver_only, created_at) VALUES (%s, %s, %s, %s, %s)",
                ["00000000-0000-4000-8000-000000000004", "old", "free", False, dt.datetime(2026, 1, 1)],
            )
    finally:
        call_command("migrate", "octotp", database=octotp_db, verbosity=0)
    old = Project.objects.using(octotp_db).get(id="00000000-0000-4000-8000-000000000004")
    assert old.validate_requires_key is False
    assert Project(name="new", plan="free").validate_requires_key is True
