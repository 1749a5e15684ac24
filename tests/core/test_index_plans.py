"""Every hot lookup is an index seek: the database's own plan for each query names our index."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, text

from octotp_core import Octotp
from octotp_core.apikeys import key_digest
from octotp_core.store.sql import SqlAlchemyStore, api_keys, select, tokens


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
            conn.execute(text("ANALYZE octotp_tokens"))  # current statistics, not whatever autovacuum last saw
            return " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
        rows = conn.execute(text(f"EXPLAIN {compiled}")).mappings().fetchall()
        return " ".join(f"{r['type']}:{r['key']}" for r in rows)


def _some_rows(octotp: Octotp) -> str:
    # MySQL answers "impossible WHERE" without choosing an index on empty tables.
    created = octotp.accounts.create_project("plans")
    for i in range(3):
        octotp.create_token(created.project.id, email=f"p{i}@example.com")
    return key_digest(created.api_key.secret)


def _busy_project(octotp: Octotp, recipients: int = 300) -> tuple[str, str]:
    """A project with one token for each of many recipients (so a project-only index would have to
    filter them all); returns its id and one recipient's digest."""
    created = octotp.accounts.create_project("busy")
    now = octotp.clock.now()
    rows = [
        {
            "id": str(uuid.uuid4()),
            "project_id": created.project.id,
            "recipient_digest": f"{n:064x}",
            "recipient_hint": "u***@example.com",
            "channel": "email",
            "purpose": "",
            "code_hash": "x",
            "created_at": now,
            "expires_at": now,
            "attempts": 0,
            "max_attempts": 5,
        }
        for n in range(recipients)
    ]
    assert octotp.engine is not None
    with octotp.engine.begin() as conn:
        conn.execute(insert(tokens), rows)
    return created.project.id, rows[recipients // 2]["recipient_digest"]


def test_validate_lookup_uses_binding_index(octotp: Octotp) -> None:
    project_id, digest = _busy_project(octotp)
    query = SqlAlchemyStore.latest_token_query(project_id, digest, "")
    plan = _plan(octotp, query)
    assert "ix_octotp_tokens_binding" in plan, plan
    assert "SCAN octotp_tokens" not in plan  # SQLite's full-table scan wording


def test_api_key_lookup_uses_unique_digest_index(octotp: Octotp) -> None:
    digest = _some_rows(octotp)
    plan = _plan(octotp, select(api_keys).where(api_keys.c.digest == digest))
    # SQLite names a unique constraint's index itself (sqlite_autoindex_...); the search is on digest.
    assert "uq_octotp_api_keys_digest" in plan or "USING INDEX sqlite_autoindex_octotp_api_keys" in plan, plan
