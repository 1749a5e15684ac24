"""``SqlAlchemyStore``: the ``Store`` protocol on SQLAlchemy Core, for SQLite, PostgreSQL and MariaDB/MySQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ..errors import Conflict
from . import statements as sql
from .console_store import ConsoleStoreMixin
from .guard import storage_guard
from .job_store import JobStoreMixin
from .models import AccountRow, DashboardSessionRow, ProjectRow
from .protocol import IdempotencyClaimRaced
from .purge_store import PurgeStoreMixin
from .records import (
    PROJECT_SETTABLE,
    Account,
    ApiKey,
    DashboardSession,
    IdempotencyRecord,
    NewToken,
    Project,
    Token,
    UsageDay,
)
from .runner import Step

# The shared statements' tables, re-exported under the names tests and benchmarks seed through.
from .statements import api_keys as api_keys
from .statements import idempotency_keys as idempotency_keys
from .statements import tokens as tokens
from .statements import usage_daily as usage_daily
from .webhook_store import WebhookStoreMixin

accounts: Table = AccountRow.__table__  # type: ignore[assignment]
projects: Table = ProjectRow.__table__  # type: ignore[assignment]
dashboard_sessions: Table = DashboardSessionRow.__table__  # type: ignore[assignment]

_guard = storage_guard((OperationalError, DBAPIError), passthrough=(IntegrityError,))


def _project(row: Any) -> Project:
    return Project(**{c.name: row._mapping[c.name] for c in projects.c})


def _account(row: Any) -> Account:
    return Account(**dict(row._mapping))


class _NoChange(Exception):
    """A transaction's first step changed nothing: roll it back."""


class SqlAlchemyStore(ConsoleStoreMixin, JobStoreMixin, WebhookStoreMixin, PurgeStoreMixin):
    """The store on any SQLAlchemy engine (its own, or a host application's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # On PostgreSQL a single statement needs no explicit transaction: run the hot ones in
        # autocommit and save the BEGIN and COMMIT/ROLLBACK round trips around each. (On MySQL the
        # switch itself is a round trip; SQLite has none to save.)
        self._postgres = engine.dialect.name == "postgresql"
        self._single: Engine = engine.execution_options(isolation_level="AUTOCOMMIT") if self._postgres else engine
        # SQLite has one writer at a time, and a writer that finds the database locked sleeps in
        # SQLite's busy handler (1, 2, 5, ... up to 100 ms) however soon the lock frees. This
        # process's own writers queue on a lock instead, which hands over at once; only writers of
        # other processes still meet the busy handler.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._returning = engine.dialect.name in ("postgresql", "sqlite") and engine.dialect.update_returning

    @contextlib.contextmanager
    def _begin(self, engine: Engine | None = None) -> Iterator[Connection]:
        """A write transaction (``engine.begin()``), queued behind this process's other SQLite writers."""
        if self._write_lock is None:
            with (engine or self.engine).begin() as conn:
                yield conn
            return
        with self._write_lock, (engine or self.engine).begin() as conn:
            yield conn

    # -- the console's primitives (``ConsoleStoreMixin``) ------------------------------------
    @_guard
    def _run_write(self, statement: Any, params: Mapping[str, Any]) -> int:
        with self._begin() as conn:
            return int(conn.execute(statement, dict(params)).rowcount)

    @_guard
    def _run_rows(self, statement: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(statement, dict(params)).all())

    @_guard
    def _run_insert(self, statement: Any, params: Mapping[str, Any], conflict: str) -> None:
        try:
            with self._begin() as conn:
                conn.execute(statement, dict(params))
        except IntegrityError:
            raise Conflict(conflict) from None

    @_guard
    def _run_transaction(self, steps: Sequence[Step], *, first_must_change: bool = False) -> list[int] | None:
        counts: list[int] = []
        try:
            with self._begin() as conn:
                for statement, params in steps:
                    counts.append(int(conn.execute(statement, dict(params)).rowcount))
                    if first_must_change and counts == [0]:
                        raise _NoChange
        except _NoChange:
            return None
        return counts

    @_guard
    def _run_claim(
        self,
        candidates: Any,
        params: Mapping[str, Any],
        claim: Any,
        claim_params: Callable[[Sequence[Any]], Mapping[str, Any]],
    ) -> list[Sequence[Any]]:
        claimed: list[Sequence[Any]] = []
        with self._begin() as conn:
            for row in conn.execute(candidates, dict(params)).all():
                if conn.execute(claim, dict(claim_params(row))).rowcount == 1:
                    claimed.append(row)
        return claimed

    # -- health ------------------------------------------------------------------------------
    @_guard
    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- accounts ----------------------------------------------------------------------------
    @_guard
    def create_account(self, account: Account) -> None:
        try:
            with self._begin() as conn:
                conn.execute(insert(accounts).values(**account.__dict__))
        except IntegrityError:
            raise Conflict(f"an account with email {account.email!r} already exists") from None

    @_guard
    def get_account(self, account_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
        return _account(row) if row else None

    @_guard
    def get_account_by_email(self, email: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.email == email)).first()
        return _account(row) if row else None

    @_guard
    def list_accounts(self) -> list[Account]:
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.created_at))]

    # -- projects ----------------------------------------------------------------------------
    @_guard
    def create_project(self, project: Project) -> None:
        with self._begin() as conn:
            conn.execute(insert(projects).values(**project.__dict__))

    @_guard
    def get_project(self, project_id: str) -> Project | None:
        with self._single.connect() as conn:
            row = conn.execute(sql.GET_PROJECT, {"b_id": project_id}).first()
        return Project(*row) if row else None

    @_guard
    def list_projects(self, owner_id: str | None = None) -> list[Project]:
        query = select(projects).order_by(projects.c.created_at, projects.c.id)
        if owner_id is not None:
            query = query.where(projects.c.owner_id == owner_id)
        with self.engine.connect() as conn:
            return [_project(r) for r in conn.execute(query)]

    @_guard
    def set_project_plan(self, project_id: str, plan: str) -> bool:
        with self._begin() as conn:
            return conn.execute(update(projects).where(projects.c.id == project_id).values(plan=plan)).rowcount == 1

    @_guard
    def update_project(self, project: Project) -> bool:
        values = {k: v for k, v in project.__dict__.items() if k in PROJECT_SETTABLE}
        with self._begin() as conn:
            return conn.execute(update(projects).where(projects.c.id == project.id).values(**values)).rowcount == 1

    # -- API keys ----------------------------------------------------------------------------
    @_guard
    def create_api_key(self, key: ApiKey, digest: str) -> None:
        with self._begin() as conn:
            conn.execute(sql.INSERT_API_KEY, sql.insert_api_key_params(key, digest))

    @_guard
    def find_api_key(self, digest: str) -> tuple[ApiKey, Project] | None:
        with self._single.connect() as conn:
            row = conn.execute(sql.FIND_API_KEY, {"b_digest": digest}).first()
        if row is None:
            return None
        return ApiKey(*row[: sql.API_KEY_WIDTH]), Project(*row[sql.API_KEY_WIDTH :])

    @_guard
    def list_api_keys(self, project_id: str) -> list[ApiKey]:
        with self.engine.connect() as conn:
            return [ApiKey(*r) for r in conn.execute(sql.LIST_API_KEYS, {"b_project_id": project_id})]

    @_guard
    def revoke_api_key(self, key_id: str, now: dt.datetime) -> bool:
        with self._begin() as conn:
            return conn.execute(sql.REVOKE_API_KEY, {"b_id": key_id, "b_now": now}).rowcount == 1

    @_guard
    def touch_api_key(self, key_id: str, now: dt.datetime) -> None:
        with self._begin() as conn:
            conn.execute(sql.TOUCH_API_KEY, {"b_id": key_id, "b_now": now})

    # -- tokens ------------------------------------------------------------------------------
    @_guard
    def insert_token(self, token: NewToken) -> None:
        params = sql.insert_token_params(token)
        if self._postgres:
            with self._single.connect() as conn:
                conn.execute(sql.PG_SUPERSEDING_INSERT, params)
            return
        with self._begin() as conn:
            conn.execute(sql.SUPERSEDE_TOKENS, params)
            conn.execute(sql.INSERT_TOKEN, params)

    @staticmethod
    def latest_token_query(project_id: str, recipient_digest: str, purpose: str) -> Select[Any]:
        """The validate lookup: one seek on ``ix_octotp_tokens_binding``, newest first (the statement
        ``latest_token`` runs, with these values in place of its bound parameters)."""
        return sql.latest_token_select(project_id, recipient_digest, purpose)  # type: ignore[no-any-return]

    @_guard
    def latest_token(self, project_id: str, recipient_digest: str, purpose: str) -> Token | None:
        with self._single.connect() as conn:
            row = conn.execute(sql.LATEST_TOKEN, sql.binding_params(project_id, recipient_digest, purpose)).first()
        return Token(*row) if row else None

    @_guard
    def get_token(self, token_id: str) -> Token | None:
        with self._single.connect() as conn:
            row = conn.execute(sql.GET_TOKEN, {"b_id": token_id}).first()
        return Token(*row) if row else None

    @_guard
    def reserve_attempt(self, token_id: str, now: dt.datetime) -> bool:
        with self._begin(self._single) as conn:
            return conn.execute(sql.RESERVE_ATTEMPT, {"b_id": token_id, "b_now": now}).rowcount == 1

    @_guard
    def reserve_latest(self, project_id: str, recipient_digest: str, purpose: str, now: dt.datetime) -> Token | None:
        if not self._returning:
            return sql.reserve_latest_in_two_steps(self, project_id, recipient_digest, purpose, now)
        with self._begin(self._single) as conn:
            row = conn.execute(
                sql.RESERVE_LATEST, sql.binding_params(project_id, recipient_digest, purpose, now)
            ).first()
        return Token(*row) if row else None

    @_guard
    def consume_token(self, token_id: str, now: dt.datetime) -> bool:
        with self._begin(self._single) as conn:
            return conn.execute(sql.CONSUME_TOKEN, {"b_id": token_id, "b_now": now}).rowcount == 1

    @_guard
    def close_token(self, token_id: str, now: dt.datetime, reason: str, project_id: str | None = None) -> bool:
        params = {"b_id": token_id, "b_now": now, "b_reason": reason, "b_project_id": project_id}
        statement = sql.CLOSE_TOKEN if project_id is None else sql.CLOSE_PROJECT_TOKEN
        with self._begin() as conn:
            return conn.execute(statement, params).rowcount == 1

    # -- idempotency keys --------------------------------------------------------------------
    @_guard
    def claim_idempotency_key(
        self, project_id: str, key: str, fingerprint: str, now: dt.datetime
    ) -> IdempotencyRecord | None:
        params = sql.claim_idempotency_key_params(project_id, key, fingerprint, now)
        try:
            with self._begin() as conn:
                conn.execute(sql.INSERT_IDEMPOTENCY_KEY, params)
            return None
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            row = conn.execute(sql.GET_IDEMPOTENCY_KEY, params).first()
        if row is None:
            raise IdempotencyClaimRaced
        return IdempotencyRecord(*row)

    @_guard
    def reclaim_idempotency_key(
        self, project_id: str, key: str, expected_token_id: str | None, claimed_before: dt.datetime, now: dt.datetime
    ) -> bool:
        statement, params = sql.reclaim_idempotency_key(project_id, key, expected_token_id, claimed_before, now)
        with self._begin() as conn:
            return conn.execute(statement, params).rowcount == 1

    @_guard
    def complete_idempotency_key(self, project_id: str, key: str, token_id: str, response: str, sent: bool) -> None:
        params = sql.idempotency_key_params(project_id, key, v_token_id=token_id, v_response=response, v_sent=sent)
        with self._begin() as conn:
            conn.execute(sql.COMPLETE_IDEMPOTENCY_KEY, params)

    @_guard
    def release_idempotency_key(self, project_id: str, key: str) -> None:
        with self._begin() as conn:
            conn.execute(sql.RELEASE_IDEMPOTENCY_KEY, sql.idempotency_key_params(project_id, key))

    # -- usage -------------------------------------------------------------------------------
    @_guard
    def add_usage(
        self,
        project_id: str,
        day: dt.date,
        *,
        created: int = 0,
        approved: int = 0,
        failed: int = 0,
        rate_limited: int = 0,
    ) -> None:
        counts = sql.usage_counts(project_id, day, created, approved, failed, rate_limited)
        if counts is None:
            return
        counted, params = counts
        with self._begin() as conn:
            conn.execute(sql.usage_upsert(conn.dialect.name, counted), params)

    @_guard
    def usage(self, project_id: str, since: dt.date) -> list[UsageDay]:
        with self.engine.connect() as conn:
            rows = conn.execute(sql.USAGE_SINCE, {"b_project_id": project_id, "b_since": since})
            return [UsageDay(*r) for r in rows]

    # -- dashboard sessions ------------------------------------------------------------------
    @_guard
    def create_session(self, session: DashboardSession) -> None:
        with self._begin() as conn:
            conn.execute(insert(dashboard_sessions).values(**session.__dict__))

    @_guard
    def get_session(self, id_digest: str) -> DashboardSession | None:
        query = select(dashboard_sessions).where(dashboard_sessions.c.id_digest == id_digest)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return DashboardSession(**dict(row._mapping)) if row else None

    @_guard
    def touch_session(self, id_digest: str, last_seen_at: dt.datetime, expires_at: dt.datetime) -> bool:
        stmt = (
            update(dashboard_sessions)
            .where(dashboard_sessions.c.id_digest == id_digest)
            .values(last_seen_at=last_seen_at, expires_at=expires_at)
        )
        with self._begin() as conn:
            return conn.execute(stmt).rowcount == 1

    @_guard
    def set_session_flash(self, id_digest: str, flash: str) -> bool:
        stmt = update(dashboard_sessions).where(dashboard_sessions.c.id_digest == id_digest).values(flash=flash)
        with self._begin() as conn:
            return conn.execute(stmt).rowcount == 1

    @_guard
    def take_session_flash(self, id_digest: str, flash: str) -> bool:
        c = dashboard_sessions.c
        stmt = update(dashboard_sessions).where(c.id_digest == id_digest, c.flash == flash).values(flash=None)
        with self._begin() as conn:
            return conn.execute(stmt).rowcount == 1

    @_guard
    def delete_session(self, id_digest: str) -> bool:
        with self._begin() as conn:
            stmt = delete(dashboard_sessions).where(dashboard_sessions.c.id_digest == id_digest)
            return conn.execute(stmt).rowcount == 1

    @_guard
    def delete_account_sessions(self, account_id: str) -> int:
        with self._begin() as conn:
            stmt = delete(dashboard_sessions).where(dashboard_sessions.c.account_id == account_id)
            return int(conn.execute(stmt).rowcount)
