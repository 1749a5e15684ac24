"""``DjangoStore`` against the ``Store`` protocol's semantics, on every selected backend."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from django.db import connections, transaction

from octotp_core.errors import Conflict, StorageUnavailable
from octotp_core.store import Account, ApiKey, NewToken, Project, Store
from octotp_django import models
from octotp_django.store import DjangoStore

pytestmark = pytest.mark.django_db(databases="__all__")

NOW = dt.datetime(2026, 2, 14, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


def _project(store: Store, **overrides: object) -> Project:
    values: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "name": "p",
        "owner_id": None,
        "plan": "free",
        "created_at": NOW,
    }
    values.update(overrides)
    project = Project(**values)  # type: ignore[arg-type]
    store.create_project(project)
    return project


def _token(project: Project, *, digest: str = "d" * 64, purpose: str = "", at: dt.datetime = NOW) -> NewToken:
    return NewToken(
        id=str(uuid.uuid4()),
        project_id=project.id,
        recipient_digest=digest,
        recipient_hint="u***@example.com",
        channel="email",
        purpose=purpose,
        code_hash="hmac-sha256$x",
        created_at=at,
        expires_at=at + dt.timedelta(seconds=300),
        max_attempts=3,
    )


def test_satisfies_the_protocol(store: DjangoStore) -> None:
    typed: Store = store
    typed.ping()


def test_projects_round_trip_with_aware_utc_times(store: DjangoStore) -> None:
    project = _project(store, code_length=8, deliver_only=True, default_phone_region="GB")
    assert store.get_project(project.id) == project
    assert store.get_project(str(uuid.uuid4())) is None
    assert project in store.list_projects()
    assert store.set_project_plan(project.id, "pro") is True
    assert store.set_project_plan(str(uuid.uuid4()), "pro") is False
    loaded = store.get_project(project.id)
    assert loaded is not None
    assert loaded.plan == "pro"
    assert loaded.created_at == NOW
    assert loaded.created_at.utcoffset() == dt.timedelta(0)


def test_accounts_conflict_on_duplicate_email_inside_an_outer_transaction(store: DjangoStore, octotp_db: str) -> None:
    account = Account(str(uuid.uuid4()), "a@example.com", "hash", NOW)
    store.create_account(account)
    with transaction.atomic(using=octotp_db):
        with pytest.raises(Conflict):
            store.create_account(Account(str(uuid.uuid4()), "a@example.com", "hash", NOW))
        # the savepoint rolled back only the failed insert: the outer transaction is still usable
        assert store.get_account_by_email("a@example.com") == account
    assert store.get_account(account.id) == account
    assert store.list_accounts() == [account]
    project = _project(store, owner_id=account.id)
    assert store.list_projects(owner_id=account.id) == [project]


def test_api_keys_find_revoke_touch(store: DjangoStore) -> None:
    project = _project(store)
    key = ApiKey(str(uuid.uuid4()), project.id, "default", "octotp_abcd", NOW)
    store.create_api_key(key, "f" * 64)
    assert store.find_api_key("f" * 64) == (key, project)
    assert store.find_api_key("0" * 64) is None
    assert store.list_api_keys(project.id) == [key]
    later = NOW + dt.timedelta(seconds=5)
    store.touch_api_key(key.id, later)
    assert store.revoke_api_key(key.id, later) is True
    assert store.revoke_api_key(key.id, later) is False
    found = store.find_api_key("f" * 64)
    assert found is not None
    assert (found[0].revoked_at, found[0].last_used_at) == (later, later)


def test_insert_supersedes_the_open_token_of_the_same_binding(store: DjangoStore) -> None:
    project = _project(store)
    first = _token(project)
    second = _token(project, at=NOW + dt.timedelta(seconds=1))
    other_purpose = _token(project, purpose="login")
    for token in (first, second, other_purpose):
        store.insert_token(token)
    old = store.get_token(first.id)
    assert old is not None
    assert (old.closed_reason, old.closed_at) == ("superseded", second.created_at)
    latest = store.latest_token(project.id, first.recipient_digest, "")
    assert latest is not None
    assert latest.id == second.id
    assert latest.closed_at is None
    assert store.latest_token(project.id, first.recipient_digest, "login") is not None
    assert store.latest_token(project.id, "e" * 64, "") is None
    assert [t.id for t in store.list_tokens(project.id)] == [second.id, other_purpose.id, first.id]
    assert [t.id for t in store.list_tokens(project.id, limit=1)] == [second.id]


def test_reserve_attempt_respects_cap_expiry_and_closure(store: DjangoStore) -> None:
    project = _project(store)
    token = _token(project)
    store.insert_token(token)
    assert [store.reserve_attempt(token.id, NOW) for _ in range(4)] == [True, True, True, False]
    loaded = store.get_token(token.id)
    assert loaded is not None
    assert loaded.attempts == 3

    fresh = _token(project, digest="a" * 64)
    store.insert_token(fresh)
    assert store.reserve_attempt(fresh.id, fresh.expires_at) is False  # expired at exactly expires_at
    assert store.close_token(fresh.id, NOW, "cancelled", project_id=str(uuid.uuid4())) is False
    assert store.close_token(fresh.id, NOW, "cancelled", project_id=project.id) is True
    assert store.close_token(fresh.id, NOW, "cancelled") is False
    assert store.reserve_attempt(fresh.id, NOW) is False


def test_consume_wins_once(store: DjangoStore) -> None:
    project = _project(store)
    token = _token(project)
    store.insert_token(token)
    assert store.consume_token(token.id, NOW) is True
    assert store.consume_token(token.id, NOW) is False
    loaded = store.get_token(token.id)
    assert loaded is not None
    assert (loaded.closed_reason, loaded.closed_at) == ("approved", NOW)


def test_usage_upserts_add_up_per_day(store: DjangoStore) -> None:
    project = _project(store)
    yesterday = NOW.date() - dt.timedelta(days=1)
    store.add_usage(project.id, yesterday, failed=2)
    store.add_usage(project.id, NOW.date(), approved=1, rate_limited=1)
    store.add_usage(project.id, NOW.date(), created=4, approved=2, failed=1)
    store.add_usage(project.id, NOW.date())  # nothing to add: no row, no error
    days = store.usage(project.id, yesterday)
    assert [(d.day, d.created, d.approved, d.failed, d.rate_limited) for d in days] == [
        (yesterday, 0, 0, 2, 0),
        (NOW.date(), 4, 3, 1, 1),
    ]
    assert store.usage(project.id, NOW.date())[0].day == NOW.date()


def test_purge_deletes_only_expired_tokens(store: DjangoStore) -> None:
    project = _project(store)
    old = _token(project, at=NOW - dt.timedelta(hours=1))
    new = _token(project, digest="b" * 64)
    store.insert_token(old)
    store.insert_token(new)
    assert store.purge_tokens(NOW) == 1
    assert store.get_token(old.id) is None
    assert store.get_token(new.id) is not None


def test_the_router_decides_the_database(store: DjangoStore, octotp_db: str) -> None:
    project = _project(store)
    assert models.Project.objects.using(octotp_db).filter(id=project.id).exists()
    if octotp_db != "default":
        assert not models.Project.objects.using("default").filter(id=project.id).exists()
    pinned = DjangoStore(using="default")
    assert (pinned.get_project(project.id) is not None) == (octotp_db == "default")


def test_a_lost_database_is_storage_unavailable(
    store: DjangoStore, octotp_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connections[octotp_db], "cursor", broken)
    with pytest.raises(StorageUnavailable):
        store.ping()


def test_idempotency_keys_claim_reclaim_complete_release_purge(store: DjangoStore) -> None:
    project = _project(store)
    assert store.claim_idempotency_key(project.id, "k1", "f" * 64, NOW) is None
    existing = store.claim_idempotency_key(project.id, "k1", "e" * 64, NOW)
    assert existing is not None
    assert (existing.fingerprint, existing.claimed_at, existing.token_id, existing.sent) == ("f" * 64, NOW, None, False)
    # in progress: only a stale claim can be taken over, and only once
    assert store.reclaim_idempotency_key(project.id, "k1", None, NOW, NOW) is False
    later = NOW + dt.timedelta(seconds=61)
    assert store.reclaim_idempotency_key(project.id, "k1", None, later, later) is True
    assert store.reclaim_idempotency_key(project.id, "k1", None, later, later) is False
    token_id = str(uuid.uuid4())
    store.complete_idempotency_key(project.id, "k1", token_id, '{"id": "x"}', True)
    done = store.claim_idempotency_key(project.id, "k1", "f" * 64, later)
    assert done is not None
    assert (done.token_id, done.response, done.sent, done.claimed_at) == (token_id, '{"id": "x"}', True, later)
    assert store.reclaim_idempotency_key(project.id, "k1", "other", later, later) is False
    assert store.reclaim_idempotency_key(project.id, "k1", token_id, later, later) is True
    store.release_idempotency_key(project.id, "k1")
    assert store.claim_idempotency_key(project.id, "k1", "a" * 64, later) is None
    assert store.claim_idempotency_key(project.id, "k2", "a" * 64, NOW) is None
    other = _project(store)
    assert store.claim_idempotency_key(other.id, "k1", "a" * 64, NOW) is None  # keys are per project
    assert store.purge_idempotency_keys(later) == 2
    assert store.claim_idempotency_key(project.id, "k1", "b" * 64, later) is not None


def test_list_tokens_newest_first_by_creation_time(store: DjangoStore) -> None:
    project = _project(store)
    late = _token(project, digest="1" * 64, at=NOW + dt.timedelta(seconds=10))
    early = _token(project, digest="2" * 64, at=NOW)
    store.insert_token(late)
    store.insert_token(early)
    assert [t.id for t in store.list_tokens(project.id)] == [late.id, early.id]


def _stored(db: str, token_id: str) -> tuple[object, ...]:
    """A token row's time columns exactly as the database holds them (no converters)."""
    connection = connections[db]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn('created_at')}, {qn('expires_at')}, {qn('closed_at')}, {qn('closed_reason')}"
            f" FROM {qn('octotp_tokens')} WHERE {qn('id')} = %s",
            [token_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("zone", [dt.timezone.utc, dt.timezone(dt.timedelta(hours=2))])
def test_hot_path_writes_and_reads_times_as_the_orm_does(store: DjangoStore, octotp_db: str, zone: dt.tzinfo) -> None:
    """The hot path's own SQL binds and converts values like the ORM: same stored values, same records."""
    project = _project(store)
    at = NOW.astimezone(zone)
    raw = _token(project, digest="1" * 64, at=at)
    store.insert_token(raw)
    assert store.consume_token(raw.id, at + dt.timedelta(seconds=7)) is True
    orm = _token(project, digest="2" * 64, at=at)
    values = dict(orm.__dict__, token_id=orm.id)
    del values["id"]
    models.Token.objects.using(octotp_db).create(attempts=0, **values)
    closed = models.Token.objects.using(octotp_db).filter(token_id=orm.id)
    closed.update(closed_at=at + dt.timedelta(seconds=7), closed_reason="approved")

    assert _stored(octotp_db, raw.id) == _stored(octotp_db, orm.id)
    for token_id in (raw.id, orm.id):
        loaded = store.get_token(token_id)
        row = models.Token.objects.using(octotp_db).filter(token_id=token_id).values().get()
        assert loaded is not None
        assert (loaded.created_at, loaded.expires_at, loaded.closed_at) == (
            row["created_at"],
            row["expires_at"],
            row["closed_at"],
        )
        assert loaded.created_at == NOW
        assert loaded.created_at.utcoffset() == dt.timedelta(0)
        assert loaded.closed_at is not None
        assert loaded.closed_at.utcoffset() == dt.timedelta(0)
        assert (loaded.attempts, loaded.max_attempts, loaded.closed_reason) == (0, 3, "approved")
    latest = store.latest_token(project.id, "2" * 64, "")
    assert latest == store.get_token(orm.id)


def test_hot_path_records_equal_the_orms(store: DjangoStore, octotp_db: str) -> None:
    project = _project(store, code_length=8, deliver_only=True, default_phone_region="GB", expiry_max=900)
    plain = _project(store)
    for loaded in (project, plain):
        row = models.Project.objects.using(octotp_db).filter(id=loaded.id).values().get()
        assert store.get_project(loaded.id) == loaded == Project(**row)
    loaded_project = store.get_project(project.id)
    assert loaded_project is not None
    assert loaded_project.deliver_only is True  # a bool, not SQLite's or MySQL's 1
    key = ApiKey(str(uuid.uuid4()), project.id, "default", "octotp_abcd", NOW, revoked_at=NOW)
    store.create_api_key(key, "c" * 64)
    assert store.find_api_key("c" * 64) == (key, project)


def test_insert_token_joins_the_callers_transaction_through_a_savepoint(store: DjangoStore, octotp_db: str) -> None:
    from django.db import IntegrityError

    project = _project(store)
    first = _token(project)
    again = dataclasses.replace(first, created_at=NOW + dt.timedelta(seconds=1))  # the same id

    def caller() -> None:
        with transaction.atomic(using=octotp_db):
            store.insert_token(first)
            with pytest.raises(IntegrityError):
                store.insert_token(again)
            kept = store.get_token(first.id)
            assert kept is not None
            assert kept.closed_at is None  # the failed insert's supersede was rolled back with it
            raise RuntimeError("the caller rolls back")

    with pytest.raises(RuntimeError):
        caller()
    assert store.get_token(first.id) is None


def test_a_failed_hot_path_statement_marks_the_callers_transaction_for_rollback(
    store: DjangoStore, octotp_db: str
) -> None:
    from django.db import OperationalError

    project = _project(store)
    token = _token(project)
    store.insert_token(token)
    seen: list[str] = []

    def fail(execute: object, sql: str, params: object, many: bool, context: object) -> None:
        seen.append(sql)
        raise OperationalError("server closed the connection unexpectedly")

    connection = connections[octotp_db]
    with transaction.atomic(using=octotp_db):
        with connection.execute_wrapper(fail), pytest.raises(StorageUnavailable):  # execute wrappers see it
            store.consume_token(token.id, NOW)
        assert connection.needs_rollback
    assert len(seen) == 1
    assert store.consume_token(token.id, NOW) is True
