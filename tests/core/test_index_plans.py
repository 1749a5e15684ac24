"""Every hot lookup is an index seek: the database's own plan for each query names our index."""

from __future__ import annotations

from sqlalchemy import text

from octotp_core import Octotp
from octotp_core.apikeys import key_digest
from octotp_core.store.sql import SqlAlchemyStore, api_keys, select


def _plan(octotp: Octotp, statement: object) -> str:
    assert octotp.engine is not None
    with octotp.engine.connect() as conn:
        dialect = conn.dialect.name
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        if dialect == "sqlite":
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).fetchall()
            return " ".join(str(r[-1]) for r in rows)
        if dialect == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # tiny test tables: ask whether an index *can* serve it
            return " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
        rows = conn.execute(text(f"EXPLAIN {compiled}")).mappings().fetchall()
        return " ".join(f"{r['type']}:{r['key']}" for r in rows)


def _some_rows(octotp: Octotp) -> str:
    # MySQL answers "impossible WHERE" without choosing an index on empty tables.
    created = octotp.accounts.create_project("plans")
    for i in range(3):
        octotp.create_token(created.project.id, email=f"p{i}@example.com")
    return key_digest(created.api_key.secret)


def test_validate_lookup_uses_binding_index(octotp: Octotp) -> None:
    _some_rows(octotp)
    query = SqlAlchemyStore.latest_token_query("6f1c1b7e-0000-4000-8000-000000000000", "ab" * 32, "")
    plan = _plan(octotp, query)
    assert "ix_octotp_tokens_binding" in plan, plan
    assert "SCAN octotp_tokens" not in plan  # SQLite's full-table scan wording


def test_api_key_lookup_uses_unique_digest_index(octotp: Octotp) -> None:
    digest = _some_rows(octotp)
    plan = _plan(octotp, select(api_keys).where(api_keys.c.digest == digest))
    # SQLite names a unique constraint's index itself (sqlite_autoindex_...); the search is on digest.
    assert "uq_octotp_api_keys_digest" in plan or "USING INDEX sqlite_autoindex_octotp_api_keys" in plan, plan
