"""``octotp db backup``: a consistent copy of a live SQLite database through SQLite's online backup
API (``sqlite3.Connection.backup``), never a file copy.

A ``cp`` of ``octotp.db`` while the server writes can tear a page, and in WAL mode it misses every
transaction still in ``octotp.db-wal``. The backup API reads the database as one snapshot (a read
transaction, which in WAL mode blocks no writer) and writes a self-contained file: no ``-wal`` to
copy along. It is copied in one step on purpose: a backup copied a few pages at a time restarts
whenever another connection writes, so under steady traffic it might never finish.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from .files import create_private_file

OTHER_DATABASES = (
    "octotp db backup copies SQLite databases only; this one is {dialect}. Use pg_dump (PostgreSQL) or "
    "mariadb-dump --single-transaction (MariaDB/MySQL): see docs/operations/backups.md."
)


class BackupRefused(Exception):
    """The database is not a SQLite file this command can copy (the message says what to use)."""


@dataclass(frozen=True)
class BackupResult:
    """Where the copy went, how big it is, and SQLite's ``PRAGMA integrity_check`` of it."""

    path: Path
    size: int
    integrity: str


def sqlite_file(url: str | URL) -> Path:
    """The database file of a SQLite URL; ``BackupRefused`` for any other database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupRefused(OTHER_DATABASES.format(dialect=parsed.get_backend_name()))
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file::memory:"):
        raise BackupRefused("an in-memory SQLite database has no file to back up")
    return Path(parsed.database)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy the live database ``source`` to ``target`` (mode 0600) with the online backup API, then
    check the copy. The copy is written next to ``target`` and renamed into place, so ``target`` is
    never a half-written file."""
    if not source.is_file():
        raise BackupRefused(f"there is no SQLite database at {source}")
    target = target.resolve()
    if target == source.resolve():
        raise BackupRefused("the backup must go to another file than the database itself")
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    create_private_file(partial)
    try:
        # Read-only source: the backup never writes to the live database (nor creates it).
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # pages=-1: the whole database from one snapshot
                (integrity,) = dst.execute("PRAGMA integrity_check").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return BackupResult(target, target.stat().st_size, str(integrity))
