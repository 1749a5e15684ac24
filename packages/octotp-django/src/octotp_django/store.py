"""``DjangoStore``: the core ``Store`` protocol on Django's database connections.

It runs core's statements (``octotp_core.store.statements``), not SQL of its own: each statement
is compiled once per database alias for that connection's SQLAlchemy dialect (SQLite, PostgreSQL,
MySQL/MariaDB) in the ``%s`` parameter style Django's cursors take, and run through
``connection.cursor()``, so Django's error translation, execute wrappers, query logging and
transactions all apply. Values go in through the model fields' ``get_db_prep_value`` and come out
through the backend's and fields' converters, exactly as the ORM writes and reads them; the
compiled statements hold no connection, so every thread's connection to an alias shares them.

Token state changes are core's conditional ``UPDATE`` statements whose row count decides the
winner (no read-then-write), and usage counters core's single-statement upserts, so they are
race-free on every backend.

The database comes from Django's routers for the ``octotp`` app (or a fixed ``using=`` alias),
asked on every call. Inside a caller's ``atomic()`` block (``ATOMIC_REQUESTS`` in the host's own
views) every write joins that transaction: ``insert_token`` through a savepoint, and a single
statement that fails marks the caller's block for rollback, as ``QuerySet.update()`` does. No
model signals (``pre_save``/``post_save``) are sent for tokens; the token signals of
``octotp_django.signals`` are. Accounts, project administration (create, list, update) and
dashboard sessions use the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, InterfaceError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from sqlalchemy import Date, Dialect
from sqlalchemy.dialects.mysql.base import MySQLDialect
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import Label

from octotp_core.errors import Conflict
from octotp_core.store import Account, ApiKey, DashboardSession, IdempotencyRecord, NewToken, Project, Token, UsageDay
from octotp_core.store import statements as sql
from octotp_core.store.console_store import ConsoleStoreMixin
from octotp_core.store.guard import storage_guard
from octotp_core.store.job_store import JobStoreMixin
from octotp_core.store.models import HexDigest, UTCDateTime
from octotp_core.store.protocol import IdempotencyClaimRaced
from octotp_core.store.purge_store import PurgeStoreMixin
from octotp_core.store.records import PROJECT_SETTABLE
from octotp_core.store.runner import Step
from octotp_core.store.webhook_store import WebhookStoreMixin

from . import models as m

_ACCOUNT_FIELDS = [f.name for f in fields(Account)]
_PROJECT_FIELDS = [f.name for f in fields(Project)]
_SESSION_FIELDS = [f.name for f in fields(DashboardSession)]

_guard = storage_guard((DatabaseError, InterfaceError), passthrough=(IntegrityError,))

Converter = Callable[..., Any]
Prep = Callable[[Any, BaseDatabaseWrapper], Any]

# Django's vendor → the SQLAlchemy dialect its statements are compiled for (MariaDB is vendor
# ``mysql``: the same SQL). Only compilation: no SQLAlchemy connection or driver is involved.
_DIALECTS: dict[str, Callable[..., Dialect]] = {
    "sqlite": SQLiteDialect,
    "postgresql": PGDialect,
    "mysql": MySQLDialect,
}


def _field(model: type[Model], column: str) -> Field[Any, Any]:
    """The concrete field of ``model`` stored in ``column``."""
    for field in model._meta.concrete_fields:
        if field.column == column:
            assert isinstance(field, Field), field
            return field
    raise LookupError(f"{model.__name__} has no column {column!r}")


_DATETIME_FIELD = _field(m.Token, "created_at")  # every DateTimeField prepares values alike


def _model(table: str) -> type[Model]:
    """The ``octotp`` model whose table is ``table``."""
    for model in apps.get_app_config("octotp").get_models():
        if model._meta.db_table == table:
            return model
    raise LookupError(f"no octotp model for table {table!r}")


def _unbound(converter: Converter, ops: Any) -> tuple[Converter, bool]:
    """A converter that is a method of ``ops`` as its function (and ``True``: call it with the ops)."""
    if getattr(converter, "__self__", None) is ops:
        return converter.__func__, True  # type: ignore[attr-defined]
    return converter, False


def _prep_datetime(value: dt.datetime, connection: BaseDatabaseWrapper) -> Any:
    """A time as the ORM binds it: an aware one straight to the backend (``DateTimeField`` only
    checks it), a naive one through the field (which warns and makes it aware, as the ORM does)."""
    if value.tzinfo is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return _DATETIME_FIELD.get_db_prep_value(value, connection)


def _prep(bind_type: Any) -> Prep | None:
    """How the ORM binds a value of this SQLAlchemy type (None: as it is, e.g. a token id, which
    PostgreSQL casts to its ``uuid`` column)."""
    if isinstance(bind_type, UTCDateTime):
        return _prep_datetime
    if isinstance(bind_type, Date):
        return _field(m.UsageDay, "day").get_db_prep_value
    if isinstance(bind_type, HexDigest):  # hex text to the column's raw bytes (``DigestField``)
        return _field(m.Token, "recipient_digest").get_db_prep_value
    return None


class _Compiled:
    """One core statement compiled for one backend: its SQL, how to order and prepare its parameters,
    and the converters the ORM applies to each column it returns (``SQLCompiler.get_converters``).

    The backend's converters are methods of ``connection.ops``; they are kept unbound and applied with
    the ops of the connection that ran the query, so no connection is held here.
    """

    def __init__(self, statement: ClauseElement, connection: BaseDatabaseWrapper, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), compiled
        self.sql = compiled.string
        # Each parameter's name and default (a value written into the statement, e.g. a LIMIT), and
        # where a value needs the ORM's preparation (times and dates).
        self.params: list[tuple[str, Any]] = []
        self.preps: list[tuple[int, Prep]] = []
        for i, name in enumerate(compiled.positiontup or ()):
            bind = compiled.binds[name]
            self.params.append((name, bind.value))
            prep = _prep(bind.type)
            if prep is not None:
                self.preps.append((i, prep))
        self.converters: list[tuple[int, list[tuple[Converter, bool]], Any]] = []
        columns = getattr(statement, "exported_columns", ())
        for i, column in enumerate(columns):
            if getattr(column.element if isinstance(column, Label) else column, "table", None) is None:
                continue  # no model field behind it (a COUNT): the driver's value as it is
            field = self._field(column)
            if field is None:  # an aggregate (COUNT): the driver's integer, nothing to convert
                continue
            col = field.get_col(field.model._meta.db_table)
            converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if converters:
                self.converters.append((i, [_unbound(c, connection.ops) for c in converters], col))

    @staticmethod
    def _field(column: ColumnElement[Any]) -> Field[Any, Any] | None:
        element = column.element if isinstance(column, Label) else column
        table = getattr(element, "table", None)
        if table is None:
            return None
        return _field(_model(table.name), element.name)  # type: ignore[attr-defined]

    def bind(
        self, values: Mapping[str, Any], connection: BaseDatabaseWrapper, prepared: dict[int, Any] | None = None
    ) -> list[Any]:
        """The parameters in the statement's order, prepared as the ORM prepares them. ``prepared``
        keeps the values one call already prepared (a create binds its creation time twice, and
        preparing a time is most of the cost of binding)."""
        bound = [values.get(name, default) for name, default in self.params]
        memo = {} if prepared is None else prepared
        for i, prep in self.preps:
            value = bound[i]
            if value is not None:
                key = id(value)
                if key not in memo:
                    memo[key] = prep(value, connection)
                bound[i] = memo[key]
        return bound

    def convert(self, row: Sequence[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """The row's values as the ORM's ``values()`` would return them."""
        values = list(row)
        ops = connection.ops
        for i, converters, col in self.converters:
            value = values[i]
            for converter, on_ops in converters:
                value = converter(ops, value, col, connection) if on_ops else converter(value, col, connection)
            values[i] = value
        return values


class _Backend:
    """Core's statements for one database alias and backend class, each compiled on first use."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.dialect = _DIALECTS[connection.vendor](paramstyle="format")
        self.dialect_name = connection.vendor
        # UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (the version Django's feature names).
        self.returning = connection.vendor == "postgresql" or (
            connection.vendor == "sqlite" and bool(connection.features.can_return_columns_from_insert)
        )
        self._compiled: dict[ClauseElement, _Compiled] = {}

    def compiled(self, statement: ClauseElement, connection: BaseDatabaseWrapper) -> _Compiled:
        found = self._compiled.get(statement)
        if found is None:
            found = self._compiled[statement] = _Compiled(statement, connection, self.dialect)
        return found


# One entry per alias and backend class: compiled statements depend only on the backend (its
# dialect and converters) and hold no connection, so the hot path never compiles.
_BACKENDS: dict[tuple[str, type[BaseDatabaseWrapper]], _Backend] = {}


def _backend(connection: BaseDatabaseWrapper) -> _Backend:
    key = (connection.alias, type(connection))
    backend = _BACKENDS.get(key)
    if backend is None:
        backend = _BACKENDS[key] = _Backend(connection)
    return backend


def compiled(connection: BaseDatabaseWrapper, statement: ClauseElement) -> _Compiled:
    """``statement`` (one of ``octotp_core.store.statements``) as this store runs it on ``connection``."""
    return _backend(connection).compiled(statement, connection)


class _Run:
    """One call's database: runs core statements on it (``db`` for transactions, ``connection``)."""

    __slots__ = ("backend", "connection", "db", "prepared")

    def __init__(self, db: str) -> None:
        self.db = db
        self.connection = connections[db]
        self.backend = _backend(self.connection)
        # Values this call prepared, by identity (alive as long as the caller's parameters are).
        self.prepared: dict[int, Any] = {}

    def write(self, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        """Run one statement; its row count. A failure inside a caller's ``atomic()`` block marks that
        block for rollback, as ``QuerySet.update()`` does."""
        with transaction.mark_for_rollback_on_error(using=self.db), self.connection.cursor() as cursor:
            return self.execute(cursor, statement, params)

    def execute(self, cursor: Any, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        """Run ``statement`` on an open cursor of this connection; its row count."""
        stmt = self.backend.compiled(statement, self.connection)
        cursor.execute(stmt.sql, stmt.bind(params, self.connection, self.prepared))
        return int(cursor.rowcount)

    def first(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[Any] | None:
        """The first row the statement reads (converted), or None."""
        stmt = self.backend.compiled(statement, self.connection)
        with self.connection.cursor() as cursor:
            cursor.execute(stmt.sql, stmt.bind(params, self.connection))
            row = cursor.fetchone()
        return None if row is None else stmt.convert(row, self.connection)

    def returning(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[Any] | None:
        """``first`` for a statement that writes (``UPDATE ... RETURNING``), marked as ``write`` is."""
        with transaction.mark_for_rollback_on_error(using=self.db):
            return self.first(statement, params)

    def all(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[list[Any]]:
        stmt = self.backend.compiled(statement, self.connection)
        with self.connection.cursor() as cursor:
            cursor.execute(stmt.sql, stmt.bind(params, self.connection))
            return [stmt.convert(row, self.connection) for row in cursor.fetchall()]


class _NoChange(Exception):
    """A transaction's first step changed nothing: roll it back."""


def _statement_model(statement: Any) -> type[Model]:
    """The model whose table a core statement writes (or, for a select, reads first)."""
    table = getattr(statement, "table", None)
    if table is None:
        table = statement.get_final_froms()[0]
    return _model(table.name)


class DjangoStore(ConsoleStoreMixin, JobStoreMixin, WebhookStoreMixin, PurgeStoreMixin):
    """The store on Django's database connections (routed like any model of the ``octotp`` app)."""

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    # -- the console's primitives (``ConsoleStoreMixin``) ------------------------------------
    @_guard
    def _run_write(self, statement: Any, params: Mapping[str, Any]) -> int:
        return self._writer(_statement_model(statement)).write(statement, params)

    @_guard
    def _run_rows(self, statement: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        return list(self._reader(_statement_model(statement)).all(statement, params))

    @_guard
    def _run_purge_keys(self, statement: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        # From the write database: a lagging replica would end a purge early with a short batch.
        return list(self._writer(_statement_model(statement)).all(statement, params))

    @_guard
    def _run_insert(self, statement: Any, params: Mapping[str, Any], conflict: str) -> None:
        run = self._writer(_statement_model(statement))
        try:
            with transaction.atomic(using=run.db):  # a savepoint inside a caller's transaction
                run.write(statement, params)
        except IntegrityError:
            raise Conflict(conflict) from None

    @_guard
    def _run_transaction(self, steps: Sequence[Step], *, first_must_change: bool = False) -> list[int] | None:
        run = self._writer(_statement_model(steps[0][0]))
        counts: list[int] = []
        try:
            with transaction.atomic(using=run.db), run.connection.cursor() as cursor:
                for statement, params in steps:
                    counts.append(run.execute(cursor, statement, params))
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
        run = self._writer(_statement_model(claim))
        claimed: list[Sequence[Any]] = []
        if run.backend.dialect_name == "sqlite":
            # No row locks to take, and a deferred transaction that reads before it writes would fail
            # at once against another writer ("database is locked"): each claim is its own statement,
            # which is all the conditional update needs.
            return [row for row in run.all(candidates, params) if run.write(claim, claim_params(row)) == 1]
        with transaction.atomic(using=run.db):
            for row in run.all(candidates, params):
                with run.connection.cursor() as cursor:
                    if run.execute(cursor, claim, claim_params(row)) == 1:
                        claimed.append(row)
        return claimed

    # -- helpers -----------------------------------------------------------------------------
    def _write_db(self, model: type[Model]) -> str:
        return self.using or router.db_for_write(model) or DEFAULT_DB_ALIAS

    def _read_db(self, model: type[Model]) -> str:
        return self.using or router.db_for_read(model) or DEFAULT_DB_ALIAS

    def _writer(self, model: type[Model]) -> _Run:
        return _Run(self._write_db(model))

    def _reader(self, model: type[Model]) -> _Run:
        return _Run(self._read_db(model))

    # -- health ------------------------------------------------------------------------------
    @_guard
    def ping(self) -> None:
        with connections[self._read_db(m.Token)].cursor() as cursor:
            cursor.execute("SELECT 1")

    # -- accounts ----------------------------------------------------------------------------
    @_guard
    def create_account(self, account: Account) -> None:
        db = self._write_db(m.Account)
        try:
            with transaction.atomic(using=db):
                m.Account.objects.using(db).create(**account.__dict__)
        except IntegrityError:
            raise Conflict(f"an account with email {account.email!r} already exists") from None

    @_guard
    def get_account(self, account_id: str) -> Account | None:
        row = m.Account.objects.using(self._read_db(m.Account)).filter(id=account_id).values(*_ACCOUNT_FIELDS).first()
        return Account(**row) if row else None

    @_guard
    def get_account_by_email(self, email: str) -> Account | None:
        row = m.Account.objects.using(self._read_db(m.Account)).filter(email=email).values(*_ACCOUNT_FIELDS).first()
        return Account(**row) if row else None

    @_guard
    def list_accounts(self) -> list[Account]:
        rows = m.Account.objects.using(self._read_db(m.Account)).order_by("created_at").values(*_ACCOUNT_FIELDS)
        return [Account(**r) for r in rows]

    # -- projects ----------------------------------------------------------------------------
    @_guard
    def create_project(self, project: Project) -> None:
        db = self._write_db(m.Project)
        # A savepoint: a duplicate id (the console's project, inserted by two first uses at once)
        # fails this insert alone, not a transaction the caller holds (ATOMIC_REQUESTS).
        with transaction.atomic(using=db):
            m.Project.objects.using(db).create(**project.__dict__)

    @_guard
    def get_project(self, project_id: str) -> Project | None:
        row = self._reader(m.Project).first(sql.GET_PROJECT, {"b_id": project_id})
        return Project(*row) if row else None

    @_guard
    def list_projects(self, owner_id: str | None = None) -> list[Project]:
        query = m.Project.objects.using(self._read_db(m.Project)).order_by("created_at", "id")
        if owner_id is not None:
            query = query.filter(owner_id=owner_id)
        return [Project(**r) for r in query.values(*_PROJECT_FIELDS)]

    @_guard
    def set_project_plan(self, project_id: str, plan: str) -> bool:
        return int(m.Project.objects.using(self._write_db(m.Project)).filter(id=project_id).update(plan=plan)) == 1

    @_guard
    def update_project(self, project: Project) -> bool:
        values = {k: v for k, v in project.__dict__.items() if k in PROJECT_SETTABLE}
        return int(m.Project.objects.using(self._write_db(m.Project)).filter(id=project.id).update(**values)) == 1

    # -- API keys ----------------------------------------------------------------------------
    @_guard
    def create_api_key(self, key: ApiKey, digest: str) -> None:
        self._writer(m.ApiKey).write(sql.INSERT_API_KEY, sql.insert_api_key_params(key, digest))

    @_guard
    def find_api_key(self, digest: str) -> tuple[ApiKey, Project] | None:
        row = self._reader(m.ApiKey).first(sql.FIND_API_KEY, {"b_digest": digest})
        if row is None:
            return None
        return ApiKey(*row[: sql.API_KEY_WIDTH]), Project(*row[sql.API_KEY_WIDTH :])

    @_guard
    def list_api_keys(self, project_id: str) -> list[ApiKey]:
        return [ApiKey(*r) for r in self._reader(m.ApiKey).all(sql.LIST_API_KEYS, {"b_project_id": project_id})]

    @_guard
    def revoke_api_key(self, key_id: str, now: dt.datetime) -> bool:
        return self._writer(m.ApiKey).write(sql.REVOKE_API_KEY, {"b_id": key_id, "b_now": now}) == 1

    @_guard
    def touch_api_key(self, key_id: str, now: dt.datetime) -> None:
        self._writer(m.ApiKey).write(sql.TOUCH_API_KEY, {"b_id": key_id, "b_now": now})

    # -- tokens ------------------------------------------------------------------------------
    @_guard
    def insert_token(self, token: NewToken) -> None:
        run = self._writer(m.Token)
        params = sql.insert_token_params(token)
        if run.backend.dialect_name == "postgresql" and not run.connection.in_atomic_block:
            run.write(sql.PG_SUPERSEDING_INSERT, params)  # one statement: atomic on its own
            return
        # Both statements or neither; inside a caller's atomic() block, a savepoint, so a failed
        # insert leaves the caller's transaction usable.
        with transaction.atomic(using=run.db), run.connection.cursor() as cursor:
            if run.backend.dialect_name == "postgresql":
                run.execute(cursor, sql.PG_SUPERSEDING_INSERT, params)
                return
            run.execute(cursor, sql.SUPERSEDE_TOKENS, params)
            run.execute(cursor, sql.INSERT_TOKEN, params)

    # Token reads that feed a decision go to the write database: a lagging replica must never
    # make a code that was just issued look missing.
    @_guard
    def latest_token(self, project_id: str, recipient_digest: str, purpose: str) -> Token | None:
        row = self._writer(m.Token).first(sql.LATEST_TOKEN, sql.binding_params(project_id, recipient_digest, purpose))
        return Token(*row) if row else None

    @_guard
    def get_token(self, token_id: str) -> Token | None:
        row = self._writer(m.Token).first(sql.GET_TOKEN, {"b_id": token_id})
        return Token(*row) if row else None

    @_guard
    def reserve_attempt(self, token_id: str, now: dt.datetime) -> bool:
        return self._writer(m.Token).write(sql.RESERVE_ATTEMPT, {"b_id": token_id, "b_now": now}) == 1

    @_guard
    def reserve_latest(self, project_id: str, recipient_digest: str, purpose: str, now: dt.datetime) -> Token | None:
        run = self._writer(m.Token)
        if not run.backend.returning:
            return sql.reserve_latest_in_two_steps(self, project_id, recipient_digest, purpose, now)
        params = sql.binding_params(project_id, recipient_digest, purpose, now)
        row = run.returning(sql.RESERVE_LATEST, params)
        return Token(*row) if row else None

    @_guard
    def consume_token(self, token_id: str, now: dt.datetime) -> bool:
        return self._writer(m.Token).write(sql.CONSUME_TOKEN, {"b_id": token_id, "b_now": now}) == 1

    @_guard
    def close_token(self, token_id: str, now: dt.datetime, reason: str, project_id: str | None = None) -> bool:
        params = {"b_id": token_id, "b_now": now, "b_reason": reason, "b_project_id": project_id}
        statement = sql.CLOSE_TOKEN if project_id is None else sql.CLOSE_PROJECT_TOKEN
        return self._writer(m.Token).write(statement, params) == 1

    # -- idempotency keys --------------------------------------------------------------------
    @_guard
    def claim_idempotency_key(
        self, project_id: str, key: str, fingerprint: str, now: dt.datetime
    ) -> IdempotencyRecord | None:
        run = self._writer(m.IdempotencyKey)
        params = sql.claim_idempotency_key_params(project_id, key, fingerprint, now)
        try:
            with transaction.atomic(using=run.db):  # a savepoint inside a caller's transaction
                run.write(sql.INSERT_IDEMPOTENCY_KEY, params)
            return None
        except IntegrityError:
            pass
        row = run.first(sql.GET_IDEMPOTENCY_KEY, params)
        if row is None:
            raise IdempotencyClaimRaced
        return IdempotencyRecord(*row)

    @_guard
    def reclaim_idempotency_key(
        self, project_id: str, key: str, expected_token_id: str | None, claimed_before: dt.datetime, now: dt.datetime
    ) -> bool:
        statement, params = sql.reclaim_idempotency_key(project_id, key, expected_token_id, claimed_before, now)
        return self._writer(m.IdempotencyKey).write(statement, params) == 1

    @_guard
    def complete_idempotency_key(self, project_id: str, key: str, token_id: str, response: str, sent: bool) -> None:
        params = sql.idempotency_key_params(project_id, key, v_token_id=token_id, v_response=response, v_sent=sent)
        self._writer(m.IdempotencyKey).write(sql.COMPLETE_IDEMPOTENCY_KEY, params)

    @_guard
    def release_idempotency_key(self, project_id: str, key: str) -> None:
        self._writer(m.IdempotencyKey).write(sql.RELEASE_IDEMPOTENCY_KEY, sql.idempotency_key_params(project_id, key))

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
        run = self._writer(m.UsageDay)
        counted, params = counts
        run.write(sql.usage_upsert(run.backend.dialect_name, counted), params)

    @_guard
    def usage(self, project_id: str, since: dt.date) -> list[UsageDay]:
        rows = self._reader(m.UsageDay).all(sql.USAGE_SINCE, {"b_project_id": project_id, "b_since": since})
        return [UsageDay(*r) for r in rows]

    # -- dashboard sessions ------------------------------------------------------------------
    # Read from the write database too: a lagging replica must not log out someone who just logged in.
    @_guard
    def create_session(self, session: DashboardSession) -> None:
        m.DashboardSession.objects.using(self._write_db(m.DashboardSession)).create(**session.__dict__)

    @_guard
    def get_session(self, id_digest: str) -> DashboardSession | None:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession)).filter(id_digest=id_digest)
        row = query.values(*_SESSION_FIELDS).first()
        return DashboardSession(**row) if row else None

    @_guard
    def touch_session(self, id_digest: str, last_seen_at: dt.datetime, expires_at: dt.datetime) -> bool:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession)).filter(id_digest=id_digest)
        return int(query.update(last_seen_at=last_seen_at, expires_at=expires_at)) == 1

    @_guard
    def set_session_flash(self, id_digest: str, flash: str) -> bool:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession)).filter(id_digest=id_digest)
        return int(query.update(flash=flash)) == 1

    @_guard
    def take_session_flash(self, id_digest: str, flash: str) -> bool:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession))
        return int(query.filter(id_digest=id_digest, flash=flash).update(flash=None)) == 1

    @_guard
    def delete_session(self, id_digest: str) -> bool:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession)).filter(id_digest=id_digest)
        deleted, _ = query.delete()
        return int(deleted) == 1

    @_guard
    def delete_account_sessions(self, account_id: str) -> int:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession)).filter(account_id=account_id)
        deleted, _ = query.delete()
        return int(deleted)
