"""Shipped migrations: complete (``makemigrations --check``), apply from empty, and match core's schema."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connections
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, LargeBinary, String, Table, Text, TypeDecorator

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
    from octotp_core.store import statements
    from octotp_django.conf import get_settings
    from octotp_django.store import DjangoStore, compiled

    octotp = Octotp(get_settings(), store=DjangoStore())
    project = octotp.accounts.create_project("plans").project
    for i in range(3):
        octotp.create_token(project.id, email=f"p{i}@example.com")
    connection = connections[octotp_db]
    latest = compiled(connection, statements.LATEST_TOKEN)  # the statement latest_token() runs
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # tiny tables: can an index serve it?
        explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
        params = latest.bind(statements.binding_params(project.id, "ab" * 32, ""), connection)
        cursor.execute(f"{explain} {latest.sql}", params)
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


_DJANGO_TYPES = {
    "CharField": String,
    "TextField": Text,
    "IntegerField": Integer,
    "BigAutoField": BigInteger,
    "BooleanField": Boolean,
    "DateTimeField": DateTime,
    "DateField": Date,
    "BinaryField": LargeBinary,
}


def test_models_keep_the_column_types_cores_statements_use() -> None:
    """Core's statements (``octotp_core.store.statements``) are built from core's tables and run on
    Django's: every core column is a Django column of the same kind, length and nullability."""
    from octotp_core.store import statements

    models = {model._meta.db_table: model for model in apps.get_app_config("octotp").get_models()}
    shared = (statements.projects, statements.api_keys, statements.tokens, statements.usage_daily)
    for table in (*shared, statements.idempotency_keys):
        name = table.name
        fields = {f.column: f for f in models[name]._meta.concrete_fields}
        for column in table.columns:
            field = fields[column.name]
            target = field.target_field if field.is_relation else field  # a foreign key's column
            kind = _DJANGO_TYPES[target.get_internal_type()]
            core_type = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            assert isinstance(core_type, kind), (name, column.name, core_type, kind)
            if isinstance(core_type, (String, LargeBinary)) and not isinstance(core_type, Text):
                assert target.max_length == core_type.length, (name, column.name)
            assert field.null == (column.nullable and not column.primary_key), (name, column.name)


def test_0010_keeps_stored_tokens_valid_and_downgrades_back_to_hex(octotp_db: str) -> None:
    """A token stored at 0009 (hex digest text) validates once 0010 has made the digest 32 bytes (and
    the id a uuid on PostgreSQL); a token made at 0010 reads back as the same hex text after a downgrade."""
    import uuid

    from octotp_django.conf import get_settings
    from octotp_django.store import DjangoStore

    connection = connections[octotp_db]
    octotp = Octotp(get_settings(), store=DjangoStore())
    project = octotp.accounts.create_project("old tokens").project
    old_id, digest = str(uuid.uuid4()), octotp.tokens.recipient_digest(project, email="old@example.com")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    call_command("migrate", "octotp", "0009", database=octotp_db, verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO octotp_tokens (id, project_id, recipient_digest, recipient_hint, channel, purpose,"
                " code_hash, created_at, expires_at, attempts, max_attempts)"
                " VALUES (%s, %s, %s, 'o***@example.com', 'email', '', %s, %s, %s, 0, 5)",
                [old_id, project.id, digest, octotp.hasher.hash("246810"), now, now + dt.timedelta(minutes=10)],
            )
    finally:
        call_command("migrate", "octotp", database=octotp_db, verbosity=0)
    token = octotp.store.get_token(old_id)
    assert token is not None
    assert (token.id, token.recipient_digest) == (old_id, digest)
    assert octotp.tokens.validate(project, code="246810", email="old@example.com").status == "approved"
    new = octotp.create_token(project.id, email="new@example.com")
    call_command("migrate", "octotp", "0009", database=octotp_db, verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, recipient_digest FROM octotp_tokens WHERE project_id = %s", [project.id])
            rows = {str(token_id): value for token_id, value in cursor.fetchall()}
    finally:
        call_command("migrate", "octotp", database=octotp_db, verbosity=0)
    assert rows == {old_id: digest, new.id: octotp.tokens.recipient_digest(project, email="new@example.com")}
