"""Bytes per stored token on PostgreSQL and SQLite.

For each database and hasher (argon2id ``otp``, ``hmac``): migrate a fresh temporary database with
octotp's Alembic migrations, create one project, insert N tokens of distinct recipients (the real
recipient digest and hint, channel ``email``, purpose ``''``, one create every 10 ms, the hasher's
real output as code hash) with the store's own ``INSERT_TOKEN`` statement as one ``executemany`` per
batch, then print the bytes per token of the table's heap, of each index and in total
(``harness.row_size.bytes_per_token``).

The code hashes are 64 distinct hashes used in turn (hashing 100,000 codes with argon2 would take
minutes and every hash of a hasher has the same length). A benchmark, not a test.

    python benchmarks/row_size.py                           # N=100,000, PostgreSQL and SQLite
    python benchmarks/row_size.py --n 10000 --databases sqlite --hashers hmac
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine

from harness.data import temporary_postgres
from harness.row_size import bytes_per_token
from octotp_core.hashing import make_code_hasher
from octotp_core.migrate import upgrade
from octotp_core.recipients import normalise_email
from octotp_core.store.records import NewToken, Project
from octotp_core.store.sql import SqlAlchemyStore
from octotp_core.store.statements import INSERT_TOKEN, insert_token_params

SECRET = b"row-size-benchmark-secret-key-32b"
HASHES = 64
BATCH = 5_000


@contextmanager
def database(kind: str, args: argparse.Namespace) -> Iterator[Engine]:
    """A fresh, migrated database of ``kind`` (dropped or deleted afterwards)."""
    if kind == "postgres":
        with temporary_postgres(args.postgres_url, prefix="octotp_rows") as url:
            engine = create_engine(url)
            try:
                upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/rows.db")
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def fill(engine: Engine, n: int, hasher_name: str) -> None:
    """One project and ``n`` tokens of distinct recipients, as ``TokenService.create`` stores them."""
    store = SqlAlchemyStore(engine)
    project_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc)
    store.create_project(Project(id=project_id, name="rows", owner_id=None, plan="free", created_at=now))
    hasher = make_code_hasher(hasher_name, [SECRET], "otp")
    hashes = [hasher.hash(f"{i:06d}") for i in range(HASHES)]
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for i in range(n):
            recipient = normalise_email(f"user{i}@example.com")
            token = NewToken(
                id=str(uuid.uuid4()),
                project_id=project_id,
                recipient_digest=recipient.digest(SECRET),
                recipient_hint=recipient.hint,
                channel="email",
                purpose="",
                code_hash=hashes[i % HASHES],
                created_at=now - dt.timedelta(milliseconds=10 * (n - i)),  # one create per 10 ms
                expires_at=now - dt.timedelta(milliseconds=10 * (n - i)) + dt.timedelta(minutes=10),
                max_attempts=5,
            )
            rows.append(insert_token_params(token))
            if len(rows) == BATCH:
                conn.execute(INSERT_TOKEN, rows)
                rows = []
        if rows:
            conn.execute(INSERT_TOKEN, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="tokens per database (default 100,000)")
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--hashers", default="argon2,hmac")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OCTOTP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="a database only used to create and drop the temporary one",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = []
    for kind in args.databases.split(","):
        for hasher in args.hashers.split(","):
            with database(kind, args) as engine:
                fill(engine, args.n, hasher)
                measured = bytes_per_token(engine)
            results.append({"database": kind, "hasher": hasher, **measured})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        print(f"{result['database']} / {result['hasher']}: {result['rows']:,} tokens")
        for part, value in result["per_token"].items():
            print(f"  {part:<48} {value:8.1f} B/token  ({result['bytes'][part]:,} B)")


if __name__ == "__main__":
    main()
