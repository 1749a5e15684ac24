"""``DjangoStore``: the core ``Store`` protocol on the Django ORM.

It mirrors ``SqlAlchemyStore`` statement for statement: token state changes are conditional
``UPDATE`` statements whose row count decides the winner (no read-then-write),
``transaction.atomic`` wraps exactly what the reference runs in one transaction, and usage counters
are single-statement upserts (``ON CONFLICT`` / ``ON DUPLICATE KEY``), so they are race-free on
SQLite, PostgreSQL and MariaDB/MySQL.

The database comes from Django's routers for the ``octotp`` app (or a fixed ``using=`` alias),
asked on every call. Inside a caller's ``atomic()`` block (``ATOMIC_REQUESTS`` in the host's own
views) every write joins that transaction: ``insert_token`` through a savepoint, and a single
statement that fails marks the caller's block for rollback, as ``QuerySet.update()`` does.

The token hot path (``get_project``, ``find_api_key``, ``insert_token``, ``latest_token``,
``get_token``, ``reserve_attempt``, ``consume_token``, ``close_token``, ``add_usage``) skips
queryset construction, which cost more CPU than the database round trips: its statements are
written once per database alias from the models' own table and column names (quoted by that
alias's backend) and run through ``connection.cursor()``, so Django's error translation, execute
wrappers and query logging still apply. Values go in through the model fields'
``get_db_prep_value`` and come out through the backend's and fields' converters, exactly as the
ORM writes and reads them. No model signals (``pre_save``/``post_save``) are sent for tokens; the
token signals of ``octotp_django.signals`` are. Everything else (accounts, project and key
administration, listings, idempotency keys, purges) uses the ORM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, InterfaceError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from octotp_core.errors import Conflict
from octotp_core.store import Account, ApiKey, DashboardSession, IdempotencyRecord, NewToken, Project, Token, UsageDay
from octotp_core.store.guard import storage_guard
from octotp_core.store.records import PROJECT_SETTABLE

from . import models as m

_COUNTERS = ("created", "approved", "failed", "rate_limited")
_ACCOUNT_FIELDS = [f.name for f in fields(Account)]
_PROJECT_FIELDS = [f.name for f in fields(Project)]
_API_KEY_FIELDS = [f.name for f in fields(ApiKey)]
# Token records call the public UUID ``id``; the model calls it ``token_id``.
_TOKEN_FIELDS = ["token_id" if f.name == "id" else f.name for f in fields(Token)]
_NEW_TOKEN_FIELDS = ["token_id" if f.name == "id" else f.name for f in fields(NewToken)]
_USAGE_FIELDS = [f.name for f in fields(UsageDay)]
_IDEMPOTENCY_FIELDS = [f.name for f in fields(IdempotencyRecord)]
_SESSION_FIELDS = [f.name for f in fields(DashboardSession)]


_guard = storage_guard((DatabaseError, InterfaceError), passthrough=(IntegrityError,))

Converter = Callable[..., Any]


def _token(row: dict[str, Any]) -> Token:
    row["id"] = row.pop("token_id")
    return Token(**row)


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    """A concrete field of ``model`` by name or attname (``project_id``)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field), field
    return field


def _column(model: type[Model], name: str) -> str:
    """The column name of a field of ``model``."""
    column = _field(model, name).column
    assert column is not None
    return column


class _Columns:
    """Some columns of one model as a database backend reads them: the quoted select list, and the
    converters the ORM applies to each value (``SQLCompiler.get_converters``).

    The backend's converters are methods of ``connection.ops``; they are kept unbound and applied
    with the ops of the connection that ran the query, so no connection is held here.
    """

    def __init__(self, connection: BaseDatabaseWrapper, model: type[Model], names: Sequence[str]) -> None:
        qn = connection.ops.quote_name
        table = model._meta.db_table
        self.sql = ", ".join(f"{qn(table)}.{qn(_column(model, name))}" for name in names)
        self.converters: list[tuple[int, list[tuple[Converter, bool]], Any]] = []
        for i, name in enumerate(names):
            col = _field(model, name).get_col(table)
            converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if converters:
                self.converters.append((i, [_unbound(c, connection.ops) for c in converters], col))

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


def _unbound(converter: Converter, ops: Any) -> tuple[Converter, bool]:
    """A converter that is a method of ``ops`` as its function (and ``True``: call it with the ops)."""
    if getattr(converter, "__self__", None) is ops:
        return converter.__func__, True  # type: ignore[attr-defined]
    return converter, False


class _Statements:
    """The hot-path SQL for one database alias and backend (built once, see ``_statements``)."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        qn = connection.ops.quote_name
        token_meta = m.Token._meta

        def col(model: type[Model], name: str) -> str:
            return qn(_column(model, name))

        def tcol(name: str) -> str:
            return col(m.Token, name)

        tokens = qn(token_meta.db_table)
        projects = qn(m.Project._meta.db_table)
        api_keys = qn(m.ApiKey._meta.db_table)
        # Every DateTimeField prepares values alike (aware: the backend's form; naive: warned about and
        # made aware, as the ORM does); the hot path binds its times through this one.
        self.datetime_field = _field(m.Token, "created_at")

        self.project = _Columns(connection, m.Project, _PROJECT_FIELDS)
        self.get_project = f"SELECT {self.project.sql} FROM {projects} WHERE {col(m.Project, 'id')} = %s"

        self.api_key = _Columns(connection, m.ApiKey, _API_KEY_FIELDS)
        self.find_api_key = (
            f"SELECT {self.api_key.sql}, {self.project.sql} FROM {api_keys}"
            f" INNER JOIN {projects} ON ({api_keys}.{col(m.ApiKey, 'project')} = {projects}.{col(m.Project, 'id')})"
            f" WHERE {api_keys}.{col(m.ApiKey, 'digest')} = %s"
        )

        self.token = _Columns(connection, m.Token, _TOKEN_FIELDS)
        open_ = f"{tcol('closed_at')} IS NULL"
        binding = f"{tcol('project')} = %s AND {tcol('recipient_digest')} = %s AND {tcol('purpose')} = %s"
        self.supersede = (
            f"UPDATE {tokens} SET {tcol('closed_at')} = %s, {tcol('closed_reason')} = %s WHERE {binding} AND {open_}"
        )
        inserted = [*_NEW_TOKEN_FIELDS, "attempts"]
        self.insert_token = (
            f"INSERT INTO {tokens} ({', '.join(tcol(name) for name in inserted)})"
            f" VALUES ({', '.join(['%s'] * len(inserted))})"
        )
        # The validate lookup: one seek on ix_octotp_tokens_binding, newest first. MySQL/MariaDB may
        # pick the shorter project index for ORDER BY ... LIMIT 1 and scan a busy project's rows; name
        # the binding index (as SqlAlchemyStore does) so it stays one seek.
        hint = f" FORCE INDEX ({qn('ix_octotp_tokens_binding')})" if connection.vendor == "mysql" else ""
        self.latest_token = (
            f"SELECT {self.token.sql} FROM {tokens}{hint} WHERE {binding} ORDER BY {tcol('seq')} DESC LIMIT 1"
        )
        self.get_token = f"SELECT {self.token.sql} FROM {tokens} WHERE {tcol('token_id')} = %s"
        self.reserve_attempt = (
            f"UPDATE {tokens} SET {tcol('attempts')} = {tcol('attempts')} + 1"
            f" WHERE {tcol('token_id')} = %s AND {tcol('attempts')} < {tcol('max_attempts')}"
            f" AND {open_} AND {tcol('expires_at')} > %s"
        )
        self.close_token = (
            f"UPDATE {tokens} SET {tcol('closed_at')} = %s, {tcol('closed_reason')} = %s"
            f" WHERE {tcol('token_id')} = %s AND {open_}"
        )
        self.close_project_token = f"{self.close_token} AND {tcol('project')} = %s"
        self._usage: dict[tuple[str, ...], str] = {}

    def prep_datetime(self, value: dt.datetime, connection: BaseDatabaseWrapper) -> Any:
        """``value`` as the ORM binds a ``DateTimeField`` value on ``connection``."""
        return self.datetime_field.get_db_prep_value(value, connection)

    def add_usage(self, counted: tuple[str, ...], connection: BaseDatabaseWrapper) -> str:
        """The usage upsert adding to the ``counted`` columns (values: project, day, then every counter)."""
        sql = self._usage.get(counted)
        if sql is None:
            sql = self._usage[counted] = _usage_upsert(connection, counted)
        return sql


def _usage_upsert(connection: BaseDatabaseWrapper, counted: tuple[str, ...]) -> str:
    qn = connection.ops.quote_name
    table = qn(m.UsageDay._meta.db_table)
    columns = [qn(_column(m.UsageDay, name)) for name in ("project", "day", *_COUNTERS)]
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    if connection.vendor in ("sqlite", "postgresql"):
        sets = ", ".join(f"{qn(c)} = {table}.{qn(c)} + EXCLUDED.{qn(c)}" for c in counted)
        return f"{insert} ON CONFLICT ({qn('project_id')}, {qn('day')}) DO UPDATE SET {sets}"
    if connection.vendor == "mysql":
        sets = ", ".join(f"{qn(c)} = {qn(c)} + VALUES({qn(c)})" for c in counted)
        return f"{insert} ON DUPLICATE KEY UPDATE {sets}"
    raise NotImplementedError(f"usage counters on {connection.vendor}")  # pragma: no cover - not supported


# One entry per alias and backend class: the statements depend only on the backend (its quoting and
# converters), and hold no connection, so every thread's connection to an alias shares them.
_STATEMENTS: dict[tuple[str, type[BaseDatabaseWrapper]], _Statements] = {}


def _statements(connection: BaseDatabaseWrapper) -> _Statements:
    """The hot-path statements for ``connection``'s alias and backend (built on first use)."""
    key = (connection.alias, type(connection))
    statements = _STATEMENTS.get(key)
    if statements is None:
        statements = _STATEMENTS[key] = _Statements(connection)
    return statements


def _write(connection: BaseDatabaseWrapper, db: str, sql: str, params: Sequence[Any]) -> int:
    """Run one statement; its row count. A failure inside a caller's ``atomic()`` block marks that
    block for rollback, as ``QuerySet.update()`` does."""
    with transaction.mark_for_rollback_on_error(using=db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _fetch_one(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


class DjangoStore:
    """The store on Django's database connections (routed like any model of the ``octotp`` app)."""

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    # -- helpers -----------------------------------------------------------------------------
    def _write_db(self, model: type[Model]) -> str:
        return self.using or router.db_for_write(model) or DEFAULT_DB_ALIAS

    def _read_db(self, model: type[Model]) -> str:
        return self.using or router.db_for_read(model) or DEFAULT_DB_ALIAS

    def _connection(self, model: type[Model]) -> tuple[str, BaseDatabaseWrapper, _Statements]:
        """The write database for ``model``, its connection and that connection's hot-path statements."""
        db = self.using or router.db_for_write(model) or DEFAULT_DB_ALIAS
        connection = connections[db]
        return db, connection, _statements(connection)

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
        m.Project.objects.using(self._write_db(m.Project)).create(**project.__dict__)

    @_guard
    def get_project(self, project_id: str) -> Project | None:
        connection = connections[self._read_db(m.Project)]
        statements = _statements(connection)
        row = _fetch_one(connection, statements.get_project, (project_id,))
        return Project(*statements.project.convert(row, connection)) if row else None

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
        m.ApiKey.objects.using(self._write_db(m.ApiKey)).create(digest=digest, **key.__dict__)

    @_guard
    def find_api_key(self, digest: str) -> tuple[ApiKey, Project] | None:
        connection = connections[self._read_db(m.ApiKey)]
        statements = _statements(connection)
        row = _fetch_one(connection, statements.find_api_key, (digest,))
        if row is None:
            return None
        split = len(_API_KEY_FIELDS)
        key = ApiKey(*statements.api_key.convert(row[:split], connection))
        return key, Project(*statements.project.convert(row[split:], connection))

    @_guard
    def list_api_keys(self, project_id: str) -> list[ApiKey]:
        query = m.ApiKey.objects.using(self._read_db(m.ApiKey)).filter(project_id=project_id)
        return [ApiKey(**r) for r in query.order_by("created_at", "id").values(*_API_KEY_FIELDS)]

    @_guard
    def revoke_api_key(self, key_id: str, now: dt.datetime) -> bool:
        query = m.ApiKey.objects.using(self._write_db(m.ApiKey)).filter(id=key_id, revoked_at__isnull=True)
        return int(query.update(revoked_at=now)) == 1

    @_guard
    def touch_api_key(self, key_id: str, now: dt.datetime) -> None:
        m.ApiKey.objects.using(self._write_db(m.ApiKey)).filter(id=key_id).update(last_used_at=now)

    # -- tokens ------------------------------------------------------------------------------
    @_guard
    def insert_token(self, token: NewToken) -> None:
        db, connection, statements = self._connection(m.Token)
        created_at = statements.prep_datetime(token.created_at, connection)
        binding = [token.project_id, token.recipient_digest, token.purpose]
        row = [  # in _NEW_TOKEN_FIELDS order, then attempts
            token.id,
            token.project_id,
            token.recipient_digest,
            token.recipient_hint,
            token.channel,
            token.purpose,
            token.code_hash,
            created_at,
            statements.prep_datetime(token.expires_at, connection),
            token.max_attempts,
            0,
        ]
        # Both statements or neither; inside a caller's atomic() block, a savepoint.
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(statements.supersede, [created_at, "superseded", *binding])
            cursor.execute(statements.insert_token, row)

    # Token reads that feed a decision go to the write database: a lagging replica must never
    # make a code that was just issued look missing.
    @_guard
    def latest_token(self, project_id: str, recipient_digest: str, purpose: str) -> Token | None:
        _, connection, statements = self._connection(m.Token)
        row = _fetch_one(connection, statements.latest_token, (project_id, recipient_digest, purpose))
        return Token(*statements.token.convert(row, connection)) if row else None

    @_guard
    def get_token(self, token_id: str) -> Token | None:
        _, connection, statements = self._connection(m.Token)
        row = _fetch_one(connection, statements.get_token, (token_id,))
        return Token(*statements.token.convert(row, connection)) if row else None

    @_guard
    def list_tokens(self, project_id: str, limit: int = 50) -> list[Token]:
        query = m.Token.objects.using(self._read_db(m.Token)).filter(project_id=project_id)
        query = query.order_by("-created_at", "-seq")
        return [_token(r) for r in query.values(*_TOKEN_FIELDS)[:limit]]

    @_guard
    def reserve_attempt(self, token_id: str, now: dt.datetime) -> bool:
        db, connection, statements = self._connection(m.Token)
        params = (token_id, statements.prep_datetime(now, connection))
        return _write(connection, db, statements.reserve_attempt, params) == 1

    @_guard
    def reserve_latest(self, project_id: str, recipient_digest: str, purpose: str, now: dt.datetime) -> Token | None:
        token = self.latest_token(project_id, recipient_digest, purpose)
        if token is None or not self.reserve_attempt(token.id, now):
            return None
        return dataclasses.replace(token, attempts=token.attempts + 1)

    @_guard
    def consume_token(self, token_id: str, now: dt.datetime) -> bool:
        db, connection, statements = self._connection(m.Token)
        params = (statements.prep_datetime(now, connection), "approved", token_id)
        return _write(connection, db, statements.close_token, params) == 1

    @_guard
    def close_token(self, token_id: str, now: dt.datetime, reason: str, project_id: str | None = None) -> bool:
        db, connection, statements = self._connection(m.Token)
        params = [statements.prep_datetime(now, connection), reason, token_id]
        if project_id is None:
            return _write(connection, db, statements.close_token, params) == 1
        return _write(connection, db, statements.close_project_token, [*params, project_id]) == 1

    @_guard
    def purge_tokens(self, expired_before: dt.datetime) -> int:
        deleted, _ = m.Token.objects.using(self._write_db(m.Token)).filter(expires_at__lt=expired_before).delete()
        return int(deleted)

    # -- idempotency keys --------------------------------------------------------------------
    @_guard
    def claim_idempotency_key(
        self, project_id: str, key: str, fingerprint: str, now: dt.datetime
    ) -> IdempotencyRecord | None:
        db = self._write_db(m.IdempotencyKey)
        for _ in range(3):  # a record released between our insert and our read: claim again
            try:
                with transaction.atomic(using=db):
                    m.IdempotencyKey.objects.using(db).create(
                        project_id=project_id, key=key, fingerprint=fingerprint, claimed_at=now, sent=False
                    )
                return None
            except IntegrityError:
                pass
            row = (
                m.IdempotencyKey.objects.using(db)
                .filter(project_id=project_id, key=key)
                .values(*_IDEMPOTENCY_FIELDS)
                .first()
            )
            if row is not None:
                return IdempotencyRecord(**row)
        raise Conflict("the Idempotency-Key could not be claimed")

    @_guard
    def reclaim_idempotency_key(
        self, project_id: str, key: str, expected_token_id: str | None, claimed_before: dt.datetime, now: dt.datetime
    ) -> bool:
        query = m.IdempotencyKey.objects.using(self._write_db(m.IdempotencyKey)).filter(project_id=project_id, key=key)
        if expected_token_id is None:
            query = query.filter(token_id__isnull=True, claimed_at__lt=claimed_before)
        else:
            query = query.filter(token_id=expected_token_id)
        return int(query.update(token_id=None, response=None, claimed_at=now)) == 1

    @_guard
    def complete_idempotency_key(self, project_id: str, key: str, token_id: str, response: str, sent: bool) -> None:
        query = m.IdempotencyKey.objects.using(self._write_db(m.IdempotencyKey)).filter(project_id=project_id, key=key)
        query.update(token_id=token_id, response=response, sent=sent)

    @_guard
    def release_idempotency_key(self, project_id: str, key: str) -> None:
        query = m.IdempotencyKey.objects.using(self._write_db(m.IdempotencyKey)).filter(project_id=project_id, key=key)
        query.delete()

    @_guard
    def purge_idempotency_keys(self, claimed_before: dt.datetime) -> int:
        query = m.IdempotencyKey.objects.using(self._write_db(m.IdempotencyKey))
        deleted, _ = query.filter(claimed_at__lt=claimed_before).delete()
        return int(deleted)

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
        counts = (created, approved, failed, rate_limited)
        counted = tuple(name for name, count in zip(_COUNTERS, counts, strict=True) if count)
        if not counted:
            return
        db, connection, statements = self._connection(m.UsageDay)
        day_value = _field(m.UsageDay, "day").get_db_prep_value(day, connection)
        _write(connection, db, statements.add_usage(counted, connection), (project_id, day_value, *counts))

    @_guard
    def usage(self, project_id: str, since: dt.date) -> list[UsageDay]:
        query = m.UsageDay.objects.using(self._read_db(m.UsageDay)).filter(project_id=project_id, day__gte=since)
        return [UsageDay(**r) for r in query.order_by("day").values(*_USAGE_FIELDS)]

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

    @_guard
    def purge_sessions(self, expired_before: dt.datetime) -> int:
        query = m.DashboardSession.objects.using(self._write_db(m.DashboardSession))
        deleted, _ = query.filter(expires_at__lt=expired_before).delete()
        return int(deleted)
