"""The shipped Alembic migrations on every database: upgrade from empty, down to base and up again,
and the SQLAlchemy models agree with what the migrations built (autogenerate finds no difference)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from octotp_core import Octotp, Settings
from octotp_core.migrate import VERSION_TABLE, current_revision, downgrade, head_revision, upgrade
from octotp_core.store import SqlAlchemyStore, make_engine
from octotp_core.store.models import Base

OCTOTP_TABLES = {table.name for table in Base.metadata.sorted_tables}


@pytest.fixture
def empty_engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on a brand-new, empty database of the current backend."""
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_from_empty_creates_every_table_and_stamps_own_version_table(empty_engine: Engine) -> None:
    assert _tables(empty_engine) == set()
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert _tables(empty_engine) == OCTOTP_TABLES | {VERSION_TABLE}
    assert "alembic_version" not in _tables(empty_engine)  # a host app's own Alembic history is untouched
    assert current_revision(empty_engine) == head_revision()


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert _tables(empty_engine) <= {VERSION_TABLE}
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert _tables(empty_engine) == OCTOTP_TABLES | {VERSION_TABLE}
    assert current_revision(empty_engine) == head_revision()
    assert _schema_diff(empty_engine) == []


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert _schema_diff(empty_engine) == []


def test_migrated_tokens_table_has_the_lookup_indexes(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(empty_engine).get_indexes("octotp_tokens")}
    assert indexes["ix_octotp_tokens_binding"] == ["project_id", "recipient_digest", "purpose", "pk"]
    assert indexes["ix_octotp_tokens_expires_at"] == ["expires_at"]


def test_0004_leaves_existing_projects_validating_without_a_key(empty_engine: Engine) -> None:
    """Projects from before ``validate_requires_key`` keep the Octotp behaviour (anonymous validate);
    projects made afterwards by octotp have it on, and a downgrade keeps the other rows."""
    upgrade(empty_engine, "0003")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO octotp_projects (id, name, plan, deliver_only, created_at)"
                " VALUES ('00000000-0000-4000-8000-000000000001', 'old', 'free', :false, :now)"
            ),
            {"false": False, "now": dt.datetime(2026, 1, 1)},
        )
        conn.execute(
            text(
                "INSERT INTO octotp_api_keys (id, project_id, digest, prefix, name, created_at) VALUES"
                " ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001',"
                " :digest, 'octotp_abc', 'k', :now)"
            ),
            {"digest": "d" * 64, "now": dt.datetime(2026, 1, 1)},
        )
    upgrade(empty_engine)
    store = SqlAlchemyStore(empty_engine)
    old = store.get_project("00000000-0000-4000-8000-000000000001")
    assert old is not None
    assert old.validate_requires_key is False
    downgrade(empty_engine, "0003")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM octotp_api_keys")).scalar_one() == 1
        columns = {c["name"] for c in inspect(empty_engine).get_columns("octotp_projects")}
    assert "validate_requires_key" not in columns


def test_0011_keeps_stored_tokens_valid_and_downgrades_back_to_hex(
    empty_engine: Engine, empty_database_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Tokens stored at 0010 (hex digest text, id text) still validate once 0011 has made the digest
    32 bytes (and the id a uuid on PostgreSQL); a downgrade gives back the same hex text."""
    upgrade(empty_engine, "0010")
    octotp = Octotp(make_settings(database_url=empty_database_url))
    try:
        project = octotp.accounts.create_project("old tokens").project
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        stored = {}
        for i, email in enumerate(("a@example.com", "b@example.com")):
            token_id = str(uuid.uuid4())
            digest = octotp.tokens.recipient_digest(project, email=email)
            stored[token_id] = digest
            with empty_engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO octotp_tokens (id, project_id, recipient_digest, recipient_hint, channel,"
                        " purpose, code_hash, created_at, expires_at, attempts, max_attempts) VALUES (:id, :p,"
                        " :d, 'a***@example.com', 'email', '', :h, :now, :exp, 0, 5)"
                    ),
                    {
                        "id": token_id,
                        "p": project.id,
                        "d": digest,
                        "h": octotp.hasher.hash(f"12345{i}"),
                        "now": now,
                        "exp": now + dt.timedelta(minutes=10),
                    },
                )
        octotp.store.engine.dispose()  # type: ignore[attr-defined]
        upgrade(empty_engine)
        assert _schema_diff(empty_engine) == []
        for token_id, digest in stored.items():
            token = octotp.store.get_token(token_id)
            assert token is not None
            assert (token.id, token.recipient_digest) == (token_id, digest)
        assert octotp.tokens.validate(project, code="123451", email="a@example.com").status == "incorrect"
        assert octotp.tokens.validate(project, code="123450", email="a@example.com").status == "approved"
        assert octotp.tokens.validate(project, code="123451", email="b@example.com").status == "approved"
        with empty_engine.connect() as conn:
            raw = conn.execute(text("SELECT recipient_digest FROM octotp_tokens")).scalars().all()
        assert sorted(bytes(value) for value in raw) == sorted(bytes.fromhex(d) for d in stored.values())
        octotp.store.engine.dispose()  # type: ignore[attr-defined]
        downgrade(empty_engine, "0010")
        with empty_engine.connect() as conn:
            rows = conn.execute(text("SELECT id, recipient_digest FROM octotp_tokens")).all()
        assert {str(token_id): digest for token_id, digest in rows} == stored
    finally:
        octotp.close()
