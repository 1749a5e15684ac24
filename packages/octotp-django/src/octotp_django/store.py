"""``DjangoStore``: the core ``Store`` protocol on the Django ORM.

It mirrors ``SqlAlchemyStore`` statement for statement: token state changes are conditional
``update()`` calls with ``F()`` expressions whose row count decides the winner (no read-then-write),
``transaction.atomic`` wraps exactly what the reference runs in one transaction, and usage counters
are single-statement upserts (``ON CONFLICT`` / ``ON DUPLICATE KEY``), so they are race-free on
SQLite, PostgreSQL and MariaDB/MySQL.

The database comes from Django's routers for the ``octotp`` app (or a fixed ``using=`` alias).
Inside a caller's ``atomic()`` block (``ATOMIC_REQUESTS`` in the host's own views) every write joins
that transaction through a savepoint.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, InterfaceError, connections, router, transaction
from django.db.models import F, Model, QuerySet

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
_USAGE_FIELDS = [f.name for f in fields(UsageDay)]
_IDEMPOTENCY_FIELDS = [f.name for f in fields(IdempotencyRecord)]
_SESSION_FIELDS = [f.name for f in fields(DashboardSession)]


_guard = storage_guard((DatabaseError, InterfaceError), passthrough=(IntegrityError,))


def _token(row: dict[str, Any]) -> Token:
    row["id"] = row.pop("token_id")
    return Token(**row)


def _forced_binding_index(query: QuerySet[m.Token]) -> tuple[str, list[Any]]:
    """The newest-token query as SQL with ``FORCE INDEX (ix_octotp_tokens_binding)`` (MySQL/MariaDB)."""
    connection = connections[query.db]
    qn = connection.ops.quote_name
    table = qn(m.Token._meta.db_table)
    sql, params = query.order_by("-seq")[:1].query.get_compiler(query.db).as_sql()
    hinted = sql.replace(f"FROM {table}", f"FROM {table} FORCE INDEX ({qn('ix_octotp_tokens_binding')})", 1)
    assert hinted != sql, sql
    return hinted, list(params)


class DjangoStore:
    """The store on Django's database connections (routed like any model of the ``octotp`` app)."""

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    # -- helpers -----------------------------------------------------------------------------
    def _write_db(self, model: type[Model]) -> str:
        return self.using or router.db_for_write(model) or DEFAULT_DB_ALIAS

    def _read_db(self, model: type[Model]) -> str:
        return self.using or router.db_for_read(model) or DEFAULT_DB_ALIAS

    def _add_usage(self, db: str, project_id: str, day: dt.date, counts: dict[str, int]) -> None:
        counts = {k: v for k, v in counts.items() if v}
        if not counts:
            return
        connection = connections[db]
        qn = connection.ops.quote_name
        table = qn(m.UsageDay._meta.db_table)
        columns = ["project_id", "day", *_COUNTERS]
        day_value = connection.ops.adapt_datefield_value(day)
        params = [project_id, day_value, *(counts.get(c, 0) for c in _COUNTERS)]
        insert = (
            f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        )
        if connection.vendor in ("sqlite", "postgresql"):
            sets = ", ".join(f"{qn(c)} = {table}.{qn(c)} + EXCLUDED.{qn(c)}" for c in counts)
            sql = f"{insert} ON CONFLICT ({qn('project_id')}, {qn('day')}) DO UPDATE SET {sets}"
        elif connection.vendor == "mysql":
            sets = ", ".join(f"{qn(c)} = {qn(c)} + VALUES({qn(c)})" for c in counts)
            sql = f"{insert} ON DUPLICATE KEY UPDATE {sets}"
        else:  # pragma: no cover - other databases are not supported
            raise NotImplementedError(f"usage counters on {connection.vendor}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

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
        row = m.Project.objects.using(self._read_db(m.Project)).filter(id=project_id).values(*_PROJECT_FIELDS).first()
        return Project(**row) if row else None

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
        found = m.ApiKey.objects.using(self._read_db(m.ApiKey)).select_related("project").filter(digest=digest).first()
        if found is None:
            return None
        key = ApiKey(**{name: getattr(found, name) for name in _API_KEY_FIELDS})
        project = Project(**{name: getattr(found.project, name) for name in _PROJECT_FIELDS})
        return key, project

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
        db = self._write_db(m.Token)
        values = dict(token.__dict__)
        values["token_id"] = values.pop("id")
        with transaction.atomic(using=db):
            m.Token.objects.using(db).filter(
                project_id=token.project_id,
                recipient_digest=token.recipient_digest,
                purpose=token.purpose,
                closed_at__isnull=True,
            ).update(closed_at=token.created_at, closed_reason="superseded")
            m.Token.objects.using(db).create(attempts=0, **values)

    # Token reads that feed a decision go to the write database: a lagging replica must never
    # make a code that was just issued look missing.
    @_guard
    def latest_token(self, project_id: str, recipient_digest: str, purpose: str) -> Token | None:
        db = self._write_db(m.Token)
        query = m.Token.objects.using(db).filter(
            project_id=project_id, recipient_digest=recipient_digest, purpose=purpose
        )
        if connections[db].vendor == "mysql":
            # MySQL/MariaDB may pick the shorter project index for ORDER BY ... LIMIT 1 and scan a busy
            # project's rows; name the binding index (as SqlAlchemyStore does) so it stays one seek.
            found = next(iter(m.Token.objects.using(db).raw(*_forced_binding_index(query))), None)
            return _token({name: getattr(found, name) for name in _TOKEN_FIELDS}) if found else None
        row = query.order_by("-seq").values(*_TOKEN_FIELDS).first()
        return _token(row) if row else None

    @_guard
    def get_token(self, token_id: str) -> Token | None:
        row = m.Token.objects.using(self._write_db(m.Token)).filter(token_id=token_id).values(*_TOKEN_FIELDS).first()
        return _token(row) if row else None

    @_guard
    def list_tokens(self, project_id: str, limit: int = 50) -> list[Token]:
        query = m.Token.objects.using(self._read_db(m.Token)).filter(project_id=project_id)
        query = query.order_by("-created_at", "-seq")
        return [_token(r) for r in query.values(*_TOKEN_FIELDS)[:limit]]

    @_guard
    def reserve_attempt(self, token_id: str, now: dt.datetime) -> bool:
        updated = (
            m.Token.objects.using(self._write_db(m.Token))
            .filter(token_id=token_id, attempts__lt=F("max_attempts"), closed_at__isnull=True, expires_at__gt=now)
            .update(attempts=F("attempts") + 1)
        )
        return int(updated) == 1

    @_guard
    def consume_token(self, token_id: str, now: dt.datetime) -> bool:
        updated = (
            m.Token.objects.using(self._write_db(m.Token))
            .filter(token_id=token_id, closed_at__isnull=True)
            .update(closed_at=now, closed_reason="approved")
        )
        return int(updated) == 1

    @_guard
    def close_token(self, token_id: str, now: dt.datetime, reason: str, project_id: str | None = None) -> bool:
        query = m.Token.objects.using(self._write_db(m.Token)).filter(token_id=token_id, closed_at__isnull=True)
        if project_id is not None:
            query = query.filter(project_id=project_id)
        return int(query.update(closed_at=now, closed_reason=reason)) == 1

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
        counts = {"created": created, "approved": approved, "failed": failed, "rate_limited": rate_limited}
        self._add_usage(self._write_db(m.UsageDay), project_id, day, counts)

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
