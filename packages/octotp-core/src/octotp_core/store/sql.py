"""``SqlAlchemyStore``: the ``Store`` protocol on SQLAlchemy Core, for SQLite, PostgreSQL and MariaDB/MySQL."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ..errors import Conflict
from .guard import storage_guard
from .models import AccountRow, ApiKeyRow, DashboardSessionRow, IdempotencyKeyRow, ProjectRow, TokenRow, UsageRow
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

accounts: Table = AccountRow.__table__  # type: ignore[assignment]
projects: Table = ProjectRow.__table__  # type: ignore[assignment]
api_keys: Table = ApiKeyRow.__table__  # type: ignore[assignment]
tokens: Table = TokenRow.__table__  # type: ignore[assignment]
usage_daily: Table = UsageRow.__table__  # type: ignore[assignment]
idempotency_keys: Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]
dashboard_sessions: Table = DashboardSessionRow.__table__  # type: ignore[assignment]

_TOKEN_COLUMNS = [c for c in tokens.c if c.name != "pk"]
_COUNTERS = ("created", "approved", "failed", "rate_limited")


# The statements on the token hot path are built once, with bound parameters, and executed with a
# parameter dict: building them per call (``.values(**...)``, ``.where(col == value)``, the upsert's
# ``excluded`` alias) cost more CPU than the database round trips themselves.
def _param(name: str, column: str) -> Any:
    return bindparam(name, type_=tokens.c[column].type)


_SUPERSEDE_TOKENS = (
    update(tokens)
    .where(
        tokens.c.project_id == _param("b_project_id", "project_id"),
        tokens.c.recipient_digest == _param("b_recipient_digest", "recipient_digest"),
        tokens.c.purpose == _param("b_purpose", "purpose"),
        tokens.c.closed_at.is_(None),
    )
    .values(closed_at=_param("b_now", "closed_at"), closed_reason="superseded")
)
_INSERT_TOKEN = insert(tokens)
_GET_TOKEN = select(*_TOKEN_COLUMNS).where(tokens.c.id == _param("b_id", "id"))
_RESERVE_ATTEMPT = (
    update(tokens)
    .where(
        tokens.c.id == _param("b_id", "id"),
        tokens.c.attempts < tokens.c.max_attempts,
        tokens.c.closed_at.is_(None),
        tokens.c.expires_at > _param("b_now", "expires_at"),
    )
    .values(attempts=tokens.c.attempts + 1)
)
# Validation's usual case in one statement: reserve an attempt on the binding's newest token if it
# is open, unexpired and under its cap, and return it (PostgreSQL and SQLite; MariaDB/MySQL have no
# UPDATE ... RETURNING and no self-referencing subquery in an UPDATE, so they take the two steps).
_RESERVE_LATEST = (
    update(tokens)
    .where(
        tokens.c.pk
        == select(tokens.c.pk)
        .where(
            tokens.c.project_id == _param("b_project_id", "project_id"),
            tokens.c.recipient_digest == _param("b_recipient_digest", "recipient_digest"),
            tokens.c.purpose == _param("b_purpose", "purpose"),
        )
        .order_by(tokens.c.pk.desc())
        .limit(1)
        .scalar_subquery(),
        tokens.c.attempts < tokens.c.max_attempts,
        tokens.c.closed_at.is_(None),
        tokens.c.expires_at > _param("b_now", "expires_at"),
    )
    .values(attempts=tokens.c.attempts + 1)
    .returning(*_TOKEN_COLUMNS)
)
_CONSUME_TOKEN = (
    update(tokens)
    .where(tokens.c.id == _param("b_id", "id"), tokens.c.closed_at.is_(None))
    .values(closed_at=_param("b_now", "closed_at"), closed_reason="approved")
)


# PostgreSQL runs a create as one statement (one round trip, atomic on its own): a data-modifying
# CTE supersedes the binding's open tokens and the INSERT adds the new one, both on the statement's
# snapshot, so the new row is never among those superseded. (SQLAlchemy's own CTE-in-INSERT would
# turn the execution parameters into SET columns of the inner UPDATE, hence text with typed binds.)
def _pg_superseding_insert() -> Any:
    inserted = [c for c in _TOKEN_COLUMNS if c.name in {f.name for f in dataclasses.fields(NewToken)} | {"attempts"}]
    names = [c.name for c in inserted]
    sql = (
        f"WITH superseded AS (UPDATE {tokens.name} SET closed_at = :b_now, closed_reason = 'superseded' "
        "WHERE project_id = :b_project_id AND recipient_digest = :b_recipient_digest AND purpose = :b_purpose "
        f"AND closed_at IS NULL) INSERT INTO {tokens.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)})"
    )
    binds = [bindparam(c.name, type_=c.type) for c in inserted]
    binds += [_param("b_now", "closed_at"), _param("b_project_id", "project_id")]
    binds += [_param("b_recipient_digest", "recipient_digest"), _param("b_purpose", "purpose")]
    return text(sql).bindparams(*binds)


_PG_SUPERSEDING_INSERT = _pg_superseding_insert()
_GET_PROJECT = select(projects).where(projects.c.id == bindparam("b_id", type_=projects.c.id.type))


def _latest_token_select(project_id: Any, recipient_digest: Any, purpose: Any) -> Select[Any]:
    """The validate lookup: one seek on ``ix_octotp_tokens_binding``, newest first."""
    return (
        select(*_TOKEN_COLUMNS)
        .where(
            tokens.c.project_id == project_id,
            tokens.c.recipient_digest == recipient_digest,
            tokens.c.purpose == purpose,
        )
        .order_by(tokens.c.pk.desc())
        .limit(1)
        # MySQL/MariaDB may pick a shorter project index for ORDER BY ... LIMIT 1 and scan a busy
        # project's rows; name the binding index so the lookup stays one seek at any size.
        .with_hint(tokens, "FORCE INDEX (ix_octotp_tokens_binding)", "mysql")
        .with_hint(tokens, "FORCE INDEX (ix_octotp_tokens_binding)", "mariadb")
    )


_LATEST_TOKEN = _latest_token_select(
    _param("b_project_id", "project_id"),
    _param("b_recipient_digest", "recipient_digest"),
    _param("b_purpose", "purpose"),
)


@functools.lru_cache(maxsize=64)
def _usage_upsert(dialect: str, counted: tuple[str, ...]) -> Any:
    """The usage-counter upsert adding to the ``counted`` columns, for one dialect (values bound at execution)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        s = sqlite_insert(usage_daily)
        return s.on_conflict_do_update(
            index_elements=["project_id", "day"], set_={k: usage_daily.c[k] + s.excluded[k] for k in counted}
        )
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        p = pg_insert(usage_daily)
        return p.on_conflict_do_update(
            index_elements=["project_id", "day"], set_={k: usage_daily.c[k] + p.excluded[k] for k in counted}
        )
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        m = mysql_insert(usage_daily)
        return m.on_duplicate_key_update({k: usage_daily.c[k] + m.inserted[k] for k in counted})
    raise NotImplementedError(f"usage counters on {dialect}")  # pragma: no cover - not supported


_guard = storage_guard((OperationalError, DBAPIError), passthrough=(IntegrityError,))


def _token(row: Any) -> Token:
    return Token(**{c.name: row._mapping[c.name] for c in _TOKEN_COLUMNS})


def _project(row: Any) -> Project:
    return Project(**{c.name: row._mapping[c.name] for c in projects.c})


def _api_key(row: Any) -> ApiKey:
    return ApiKey(**{c.name: row._mapping[c.name] for c in api_keys.c if c.name != "digest"})


def _account(row: Any) -> Account:
    return Account(**dict(row._mapping))


class SqlAlchemyStore:
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
            row = conn.execute(_GET_PROJECT, {"b_id": project_id}).first()
        return _project(row) if row else None

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
            conn.execute(insert(api_keys).values(digest=digest, **key.__dict__))

    @_guard
    def find_api_key(self, digest: str) -> tuple[ApiKey, Project] | None:
        query = (
            select(api_keys, *[c.label(f"p_{c.name}") for c in projects.c])
            .join(projects, projects.c.id == api_keys.c.project_id)
            .where(api_keys.c.digest == digest)
        )
        with self._single.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        m = row._mapping
        project = Project(**{c.name: m[f"p_{c.name}"] for c in projects.c})
        return _api_key(row), project

    @_guard
    def list_api_keys(self, project_id: str) -> list[ApiKey]:
        query = select(api_keys).where(api_keys.c.project_id == project_id).order_by(api_keys.c.created_at)
        with self.engine.connect() as conn:
            return [_api_key(r) for r in conn.execute(query)]

    @_guard
    def revoke_api_key(self, key_id: str, now: dt.datetime) -> bool:
        stmt = update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
        with self._begin() as conn:
            return conn.execute(stmt).rowcount == 1

    @_guard
    def touch_api_key(self, key_id: str, now: dt.datetime) -> None:
        with self._begin() as conn:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))

    # -- tokens ------------------------------------------------------------------------------
    @_guard
    def insert_token(self, token: NewToken) -> None:
        supersede = {
            "b_project_id": token.project_id,
            "b_recipient_digest": token.recipient_digest,
            "b_purpose": token.purpose,
            "b_now": token.created_at,
        }
        row = {"attempts": 0, **token.__dict__}
        if self._postgres:
            with self._single.connect() as conn:
                conn.execute(_PG_SUPERSEDING_INSERT, {**supersede, **row})
            return
        with self._begin() as conn:
            conn.execute(_SUPERSEDE_TOKENS, supersede)
            conn.execute(_INSERT_TOKEN, row)

    @staticmethod
    def latest_token_query(project_id: str, recipient_digest: str, purpose: str) -> Select[Any]:
        """The validate lookup: one seek on ``ix_octotp_tokens_binding``, newest first (the statement
        ``latest_token`` runs, with these values in place of its bound parameters)."""
        return _latest_token_select(project_id, recipient_digest, purpose)

    @_guard
    def latest_token(self, project_id: str, recipient_digest: str, purpose: str) -> Token | None:
        params = {"b_project_id": project_id, "b_recipient_digest": recipient_digest, "b_purpose": purpose}
        with self._single.connect() as conn:
            row = conn.execute(_LATEST_TOKEN, params).first()
        return _token(row) if row else None

    @_guard
    def get_token(self, token_id: str) -> Token | None:
        with self._single.connect() as conn:
            row = conn.execute(_GET_TOKEN, {"b_id": token_id}).first()
        return _token(row) if row else None

    @_guard
    def list_tokens(self, project_id: str, limit: int = 50) -> list[Token]:
        query = (
            select(*_TOKEN_COLUMNS)
            .where(tokens.c.project_id == project_id)
            .order_by(tokens.c.created_at.desc(), tokens.c.pk.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_token(r) for r in conn.execute(query)]

    @_guard
    def reserve_attempt(self, token_id: str, now: dt.datetime) -> bool:
        with self._begin(self._single) as conn:
            return conn.execute(_RESERVE_ATTEMPT, {"b_id": token_id, "b_now": now}).rowcount == 1

    @_guard
    def reserve_latest(self, project_id: str, recipient_digest: str, purpose: str, now: dt.datetime) -> Token | None:
        if not self._returning:
            token = self.latest_token(project_id, recipient_digest, purpose)
            if token is None or not self.reserve_attempt(token.id, now):
                return None
            return dataclasses.replace(token, attempts=token.attempts + 1)
        params = {
            "b_project_id": project_id,
            "b_recipient_digest": recipient_digest,
            "b_purpose": purpose,
            "b_now": now,
        }
        with self._begin(self._single) as conn:
            row = conn.execute(_RESERVE_LATEST, params).first()
        return _token(row) if row else None

    @_guard
    def consume_token(self, token_id: str, now: dt.datetime) -> bool:
        with self._begin(self._single) as conn:
            return conn.execute(_CONSUME_TOKEN, {"b_id": token_id, "b_now": now}).rowcount == 1

    @_guard
    def close_token(self, token_id: str, now: dt.datetime, reason: str, project_id: str | None = None) -> bool:
        stmt = update(tokens).where(tokens.c.id == token_id, tokens.c.closed_at.is_(None))
        if project_id is not None:
            stmt = stmt.where(tokens.c.project_id == project_id)
        with self._begin() as conn:
            return conn.execute(stmt.values(closed_at=now, closed_reason=reason)).rowcount == 1

    @_guard
    def purge_tokens(self, expired_before: dt.datetime) -> int:
        with self._begin() as conn:
            return int(conn.execute(delete(tokens).where(tokens.c.expires_at < expired_before)).rowcount)

    # -- idempotency keys --------------------------------------------------------------------
    @_guard
    def claim_idempotency_key(
        self, project_id: str, key: str, fingerprint: str, now: dt.datetime
    ) -> IdempotencyRecord | None:
        values = {"project_id": project_id, "key": key, "fingerprint": fingerprint, "claimed_at": now, "sent": False}
        query = select(idempotency_keys).where(
            idempotency_keys.c.project_id == project_id, idempotency_keys.c.key == key
        )
        for _ in range(3):  # a record released between our insert and our read: try again, a few times
            try:
                with self._begin() as conn:
                    conn.execute(insert(idempotency_keys).values(**values))
                return None
            except IntegrityError:
                pass
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
            if row is not None:
                return IdempotencyRecord(**dict(row._mapping))
        raise Conflict("this Idempotency-Key could not be claimed; retry the request")

    @_guard
    def reclaim_idempotency_key(
        self, project_id: str, key: str, expected_token_id: str | None, claimed_before: dt.datetime, now: dt.datetime
    ) -> bool:
        c = idempotency_keys.c
        stmt = update(idempotency_keys).where(c.project_id == project_id, c.key == key)
        if expected_token_id is None:
            stmt = stmt.where(c.token_id.is_(None), c.claimed_at < claimed_before)
        else:
            stmt = stmt.where(c.token_id == expected_token_id)
        with self._begin() as conn:
            return conn.execute(stmt.values(token_id=None, response=None, claimed_at=now)).rowcount == 1

    @_guard
    def complete_idempotency_key(self, project_id: str, key: str, token_id: str, response: str, sent: bool) -> None:
        c = idempotency_keys.c
        stmt = (
            update(idempotency_keys)
            .where(c.project_id == project_id, c.key == key)
            .values(token_id=token_id, response=response, sent=sent)
        )
        with self._begin() as conn:
            conn.execute(stmt)

    @_guard
    def release_idempotency_key(self, project_id: str, key: str) -> None:
        c = idempotency_keys.c
        with self._begin() as conn:
            conn.execute(delete(idempotency_keys).where(c.project_id == project_id, c.key == key))

    @_guard
    def purge_idempotency_keys(self, claimed_before: dt.datetime) -> int:
        with self._begin() as conn:
            stmt = delete(idempotency_keys).where(idempotency_keys.c.claimed_at < claimed_before)
            return int(conn.execute(stmt).rowcount)

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
        counts = {"created": created, "approved": approved, "failed": failed, "rate_limited": rate_limited}
        counts = {k: v for k, v in counts.items() if v}
        if not counts:
            return
        values = {"project_id": project_id, "day": day, **dict.fromkeys(_COUNTERS, 0), **counts}
        with self._begin() as conn:
            conn.execute(_usage_upsert(conn.dialect.name, tuple(counts)), values)

    @_guard
    def usage(self, project_id: str, since: dt.date) -> list[UsageDay]:
        query = (
            select(usage_daily)
            .where(usage_daily.c.project_id == project_id, usage_daily.c.day >= since)
            .order_by(usage_daily.c.day)
        )
        with self.engine.connect() as conn:
            return [UsageDay(**dict(r._mapping)) for r in conn.execute(query)]

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

    @_guard
    def purge_sessions(self, expired_before: dt.datetime) -> int:
        with self._begin() as conn:
            stmt = delete(dashboard_sessions).where(dashboard_sessions.c.expires_at < expired_before)
            return int(conn.execute(stmt).rowcount)
