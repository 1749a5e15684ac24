"""Databases, schema, the benchmark project and seeded tokens.

Tokens to validate are bulk-inserted with SQLAlchemy core ``executemany`` (not through the API): all
share one code, so one hash made with the server's hasher serves every row, and each request of a
validate run can use its own recipient.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from benchapps.reference import metadata as reference_metadata
from octotp_core import Octotp, Settings
from octotp_core.hashing import make_code_hasher
from octotp_core.migrate import upgrade
from octotp_core.recipients import normalise_email
from octotp_core.store.sql import SqlAlchemyStore, tokens

from .servers import BENCH_DIR, ServerKind, server_environ

CODE = "123456"
WRONG_CODE = "654321"
PLAN = "bench"
# High enough that no limit is ever reached, with the default windows so counters live as long as usual.
LIMIT_SETTINGS = {
    "OCTOTP_PLANS": json.dumps({PLAN: {"creates_per_minute": 10_000_000}}),
    "OCTOTP_DEFAULT_PLAN": PLAN,
    "OCTOTP_RECIPIENT_SEND_BUDGET": "1000/10 minutes",
    "OCTOTP_RECIPIENT_FAILURE_BUDGET": "1000/hour",
}


def email(pool: str, thread: int, n: int) -> str:
    """The recipient the load scripts use for request ``n`` of wrk thread ``thread`` in ``pool``."""
    return f"{pool}{thread}-{n}@bench.example"


@dataclass(frozen=True)
class Project:
    id: str
    api_key: str


def engine_for(url: str) -> Engine:
    """An engine for seeding: naive datetimes are UTC on every backend (Django's columns are timestamptz)."""
    if make_url(url).get_backend_name() == "postgresql":
        return create_engine(url, connect_args={"options": "-c timezone=UTC"})
    return create_engine(url)


@contextmanager
def temporary_postgres(server_url: str, prefix: str = "octotp_bench") -> Iterator[str]:
    """A new database ``<prefix>_<random>`` on the PostgreSQL server (the shared database is only
    used to issue CREATE/DROP)."""
    admin_url = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def django_manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=server_environ(env),
        cwd=BENCH_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"django {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(kind: ServerKind, env: dict[str, str]) -> Project:
    """Create octotp's schema (Alembic, or Django migrations), the reference table and one project."""
    url = env["OCTOTP_DATABASE_URL"]
    engine = engine_for(url)
    try:
        if kind.django:
            django_manage(env, "migrate", "--noinput", "-v", "0")
            out = django_manage(env, "octotp", "projects", "create", "bench", "--plan", PLAN, "--json")
            data = json.loads(out)
            project = Project(data["projectId"], data["apiKey"])
        else:
            upgrade(engine)
            core = Octotp(settings_from(env), engine=engine)
            created = core.accounts.create_project("bench", plan=PLAN)
            project = Project(created.project.id, created.api_key.secret)
        reference_metadata.create_all(engine)
    finally:
        engine.dispose()
    return project


def settings_from(env: dict[str, str]) -> Settings:
    return Settings(
        database_url=env["OCTOTP_DATABASE_URL"],
        secret_key=SecretStr(env["OCTOTP_SECRET_KEY"]),
        data_dir=Path(env["OCTOTP_DATA_DIR"]),
        plans=json.loads(env["OCTOTP_PLANS"]),
        default_plan=PLAN,
    )


class Seeder:
    """Inserts token rows for a project directly, the way ``TokenService.create`` would store them."""

    def __init__(self, env: dict[str, str], project: Project) -> None:
        self.engine = engine_for(env["OCTOTP_DATABASE_URL"])
        self.project = project
        self.secret = env["OCTOTP_SECRET_KEY"].encode()
        hasher = make_code_hasher(
            env.get("OCTOTP_HASHER", "argon2"),
            [self.secret],
            env.get("OCTOTP_ARGON2_PROFILE", "otp"),  # type: ignore[arg-type]
        )
        self.code_hash = hasher.hash(CODE)

    def _row(self, digest: str, hint: str, now: dt.datetime) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "project_id": self.project.id,
            "recipient_digest": digest,
            "recipient_hint": hint,
            "channel": "email",
            "purpose": "",
            "code_hash": self.code_hash,
            "created_at": now,
            "expires_at": now + dt.timedelta(hours=2),
            "attempts": 0,
            "max_attempts": 5,
            "closed_at": None,
            "closed_reason": None,
        }

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(tokens), rows)

    def seed_pool(self, pool: str, threads: int, per_thread: int) -> None:
        """Open tokens (code ``CODE``) for every recipient the load scripts will name in ``pool``."""
        now = dt.datetime.now(dt.timezone.utc)
        rows = []
        for t in range(1, threads + 1):
            for n in range(1, per_thread + 1):
                recipient = normalise_email(email(pool, t, n))
                rows.append(self._row(recipient.digest(self.secret), recipient.hint, now))
                if len(rows) >= 10_000:
                    self._insert(rows)
                    rows = []
        if rows:
            self._insert(rows)

    def fill(self, count: int, batch: int = 10_000) -> None:
        """``count`` more tokens of other recipients (random digests) in the same project."""
        now = dt.datetime.now(dt.timezone.utc)
        done = 0
        while done < count:
            size = min(batch, count - done)
            self._insert([self._row(secrets.token_hex(32), "f***@bench.example", now) for _ in range(size)])
            done += size

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tokens)).scalar_one())

    def analyze(self) -> None:
        """What autovacuum would do on PostgreSQL after a table grew (SQLite is left as deployed)."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE octotp_tokens"))

    def lookup_plan(self) -> str:
        """The database's plan for the validate lookup (``SqlAlchemyStore.latest_token_query``)."""
        query = SqlAlchemyStore.latest_token_query(self.project.id, "0" * 64, "")
        compiled = query.compile(self.engine, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if self.engine.dialect.name == "sqlite" else "EXPLAIN "
        with self.engine.connect() as conn:
            rows = conn.execute(text(prefix + str(compiled))).all()
        return " / ".join(str(r[-1]).strip() for r in rows)

    def close(self) -> None:
        self.engine.dispose()
