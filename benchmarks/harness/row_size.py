"""Bytes per stored token: the tokens table and each of its indexes, divided by the rows it holds.

- PostgreSQL: after ``VACUUM ANALYZE``, ``pg_relation_size`` of the heap (main fork) and of each
  index, and ``pg_total_relation_size`` (heap with its free-space and visibility maps, TOAST and
  every index) as the total;
- SQLite: the sum of ``dbstat``'s ``pgsize`` for the table and for each of its indexes (the pages
  they occupy in the file; needs SQLite built with ``SQLITE_ENABLE_DBSTAT_VTAB``, as Python's is);
- MariaDB/MySQL: ``information_schema.TABLES``' ``DATA_LENGTH`` and ``INDEX_LENGTH`` after
  ``ANALYZE TABLE`` (InnoDB's estimate in whole pages: informational only).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

TABLE = "octotp_tokens"


def _rows(conn: Any) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one())


def _per_row(parts: dict[str, int], rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "bytes": parts,
        "per_token": {name: (size / rows if rows else 0.0) for name, size in parts.items()},
    }


def _postgres(engine: Engine) -> dict[str, Any]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {TABLE}"))
        rows = _rows(conn)
        parts = {"heap": int(conn.execute(text(f"SELECT pg_relation_size('{TABLE}')")).scalar_one())}
        indexes = conn.execute(
            text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                "WHERE indrelid = CAST(:t AS regclass) ORDER BY 1"
            ),
            {"t": TABLE},
        ).all()
        for name, size in indexes:
            parts[f"index {name}"] = int(size)
        parts["total"] = int(conn.execute(text(f"SELECT pg_total_relation_size('{TABLE}')")).scalar_one())
    return _per_row(parts, rows)


def _sqlite(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = _rows(conn)
        names = conn.execute(
            text("SELECT name, type FROM sqlite_schema WHERE tbl_name = :t ORDER BY type DESC, name"), {"t": TABLE}
        ).all()
        parts: dict[str, int] = {}
        for name, kind in names:
            size = conn.execute(text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :n"), {"n": name})
            parts["heap" if kind == "table" else f"index {name}"] = int(size.scalar_one())
        parts["total"] = sum(parts.values())
    return _per_row(parts, rows)


def _mysql(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        conn.execute(text(f"ANALYZE TABLE {TABLE}")).all()
        rows = _rows(conn)
        data, index = conn.execute(
            text(
                "SELECT DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"
            ),
            {"t": TABLE},
        ).one()
    return _per_row({"heap": int(data), "indexes": int(index), "total": int(data) + int(index)}, rows)


def bytes_per_token(engine: Engine) -> dict[str, Any]:
    """``{"rows": n, "bytes": {part: size}, "per_token": {part: size / n}}`` for the tokens table:
    parts ``heap``, ``index <name>`` per index (``indexes`` together on MariaDB/MySQL) and ``total``."""
    name = engine.dialect.name
    if name == "postgresql":
        return _postgres(engine)
    if name == "sqlite":
        return _sqlite(engine)
    if name in ("mysql", "mariadb"):
        return _mysql(engine)
    raise NotImplementedError(f"row size on {name}")
