"""The ``Store`` conformance suite: written once, run against every store implementation.

Subclass ``StoreSuite`` in a test module (its name must start with ``Test``) and provide a ``store``
fixture returning a ready, migrated store::

    from octotp_core.testing.store_suite import StoreSuite

    class TestMyStore(StoreSuite):
        @pytest.fixture
        def store(self) -> Store:
            return MyStore(...)

The suite only uses the ``Store`` protocol and the records in ``octotp_core.store``, so it runs
unchanged on any implementation (SQLAlchemy, the Django ORM, a third party's). It never assumes an
empty database: every test makes its own accounts, projects and recipients with fresh ids, so the
store may be shared with other tests. Time is passed explicitly (the ``now`` fixture), never read
from a clock; the one test that deletes by time (purge) works in an era nobody else uses.

Every store runs every test: there are no capability flags, because each test states what any
``Store`` must do (single use under concurrency included, so the store must be callable from
several threads). A subclass may only tune ``concurrency`` (threads per race) and ``thread_done``
(per-thread clean-up). The HTTP contract suite's few declared capabilities are in ``contract.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import pytest

from ..errors import Conflict
from ..states import TOKEN_STATES, token_state
from ..store import Account, ApiKey, DashboardSession, NewToken, Project, Store, Token, TokenFilter, UsageDay
from .console_store_suite import ConsoleStoreSuite
from .job_store_suite import JobStoreSuite
from .webhook_store_suite import WebhookStoreSuite

T = TypeVar("T")

UTC = dt.timezone.utc
# purge_tokens deletes across all projects by time, so its test uses an era no other test touches.
PURGE_ERA = dt.datetime(1990, 1, 1, tzinfo=UTC)
# The same for purge_sessions, in an era of its own.
SESSION_PURGE_ERA = dt.datetime(1991, 1, 1, tzinfo=UTC)
# And the batched purges (tokens, idempotency records), in theirs; each leaves its era empty, since
# a later test's cutoff covers every earlier era.
BATCH_PURGE_ERA = dt.datetime(1992, 1, 1, tzinfo=UTC)


# Any string will do: stores keep password hashes opaque.
_PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"  # noqa: S105


def _uid() -> str:
    return str(uuid.uuid4())


def _digest() -> str:
    """A stand-in recipient digest: 64 hex characters, like the real keyed digest."""
    return uuid.uuid4().hex + uuid.uuid4().hex


def run_concurrently(count: int, action: Callable[[], T], after: Callable[[], None] | None = None) -> list[T]:
    """Run ``action`` in ``count`` threads released together by a barrier; return every result.
    ``after`` runs in each thread when its action is done (e.g. to close per-thread connections)."""
    barrier = threading.Barrier(count, timeout=60)

    def task() -> T:
        barrier.wait()
        try:
            return action()
        finally:
            if after is not None:
                after()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(task) for _ in range(count)]
        return [f.result(timeout=120) for f in futures]


class StoreSuite(ConsoleStoreSuite, JobStoreSuite, WebhookStoreSuite):
    """Conformance tests for a ``Store``; subclasses supply the ``store`` fixture.

    The store must be callable from several threads at once, each seeing the others' committed
    writes: single use under concurrency is what the suite proves, so it never skips those tests."""

    concurrency: ClassVar[int] = 16
    """How many threads the concurrency tests race against one token."""

    def thread_done(self) -> None:
        """Called in each racing thread when it is done; override to release per-thread resources
        (a Django store closes the thread's connections here)."""

    # -- fixtures and helpers ----------------------------------------------------------------
    @pytest.fixture
    def store(self) -> Store:
        """The store under test: a subclass must override this fixture."""
        raise NotImplementedError("a StoreSuite subclass must provide a `store` fixture")

    @pytest.fixture
    def now(self) -> dt.datetime:
        """The suite's current time: an aware UTC datetime with microseconds (override to pin it)."""
        return dt.datetime.now(UTC)

    @staticmethod
    def make_account(store: Store, now: dt.datetime, *, email: str | None = None, active: bool = True) -> Account:
        """Insert and return an account with a fresh id and (unless given) a fresh email."""
        account = Account(
            id=_uid(),
            email=email or f"user-{uuid.uuid4().hex[:12]}@example.com",
            password_hash=_PASSWORD_HASH,
            created_at=now,
            is_active=active,
        )
        store.create_account(account)
        return account

    @staticmethod
    def make_project(store: Store, now: dt.datetime, *, owner: Account | None = None, plan: str = "free") -> Project:
        """Insert and return a project with a fresh id."""
        project = Project(
            id=_uid(), name="suite project", owner_id=owner.id if owner else None, plan=plan, created_at=now
        )
        store.create_project(project)
        return project

    @staticmethod
    def make_token(
        project: Project,
        now: dt.datetime,
        *,
        digest: str | None = None,
        purpose: str = "",
        ttl: float = 300,
        max_attempts: int = 5,
        channel: str = "email",
    ) -> NewToken:
        """A token (not yet inserted) for ``project``, created at ``now``, expiring ``ttl`` seconds later."""
        return NewToken(
            id=_uid(),
            project_id=project.id,
            recipient_digest=digest or _digest(),
            recipient_hint="u***@example.com",
            channel=channel,
            purpose=purpose,
            code_hash="hmac-sha256$" + _digest(),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl),
            max_attempts=max_attempts,
        )

    # -- health ------------------------------------------------------------------------------
    def test_ping_answers(self, store: Store) -> None:
        store.ping()

    # -- accounts ----------------------------------------------------------------------------
    def test_account_round_trip(self, store: Store, now: dt.datetime) -> None:
        account = self.make_account(store, now)
        assert store.get_account(account.id) == account
        assert store.get_account_by_email(account.email) == account

    def test_inactive_account_round_trip(self, store: Store, now: dt.datetime) -> None:
        account = self.make_account(store, now, active=False)
        found = store.get_account(account.id)
        assert found is not None
        assert found.is_active is False

    def test_unknown_account_is_none(self, store: Store) -> None:
        assert store.get_account(_uid()) is None
        assert store.get_account_by_email(f"nobody-{uuid.uuid4().hex}@example.com") is None

    def test_duplicate_email_is_conflict_and_keeps_first(self, store: Store, now: dt.datetime) -> None:
        first = self.make_account(store, now)
        with pytest.raises(Conflict):
            self.make_account(store, now, email=first.email)
        assert store.get_account_by_email(first.email) == first

    def test_list_accounts_includes_new_accounts_oldest_first(self, store: Store, now: dt.datetime) -> None:
        older = self.make_account(store, now - dt.timedelta(seconds=10))
        newer = self.make_account(store, now)
        ids = [a.id for a in store.list_accounts()]
        assert older.id in ids
        assert newer.id in ids
        assert ids.index(older.id) < ids.index(newer.id)

    # -- projects ----------------------------------------------------------------------------
    def test_project_round_trip_with_every_option(self, store: Store, now: dt.datetime) -> None:
        owner = self.make_account(store, now)
        project = Project(
            id=_uid(),
            name="Every option",
            owner_id=owner.id,
            plan="pro",
            created_at=now,
            code_length=8,
            expiry_default=120,
            expiry_min=60,
            expiry_max=900,
            default_phone_region="GB",
            deliver_only=True,
            validate_requires_key=True,
        )
        store.create_project(project)
        assert store.get_project(project.id) == project
        # The API key lookup carries the whole project too (validate reads validate_requires_key).
        _, digest = self._key(store, project, now)
        found = store.find_api_key(digest)
        assert found is not None
        assert found[1] == project

    def test_project_defaults_round_trip(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        assert store.get_project(project.id) == project

    def test_unknown_project_is_none(self, store: Store) -> None:
        assert store.get_project(_uid()) is None

    def test_list_projects_by_owner(self, store: Store, now: dt.datetime) -> None:
        owner, other = self.make_account(store, now), self.make_account(store, now)
        first = self.make_project(store, now - dt.timedelta(seconds=1), owner=owner)
        second = self.make_project(store, now, owner=owner)
        theirs = self.make_project(store, now, owner=other)
        assert store.list_projects(owner.id) == [first, second]
        everything = [p.id for p in store.list_projects()]
        assert {first.id, second.id, theirs.id} <= set(everything)

    def test_set_project_plan(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now, plan="free")
        untouched = self.make_project(store, now, plan="free")
        assert store.set_project_plan(project.id, "pro") is True
        changed = store.get_project(project.id)
        assert changed is not None
        assert changed.plan == "pro"
        assert store.get_project(untouched.id) == untouched

    def test_update_project_settable_fields(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        untouched = self.make_project(store, now)
        changed = dataclasses.replace(
            project,
            owner_id=self.make_account(store, now).id,
            name="renamed",
            plan="pro",
            code_length=8,
            expiry_default=120,
            expiry_min=60,
            expiry_max=900,
            default_phone_region="GB",
            deliver_only=True,
            validate_requires_key=not project.validate_requires_key,
        )
        assert store.update_project(changed) is True
        assert store.get_project(project.id) == changed
        assert store.get_project(untouched.id) == untouched
        assert store.update_project(dataclasses.replace(changed, id=_uid())) is False

    def test_set_plan_of_unknown_project_is_false(self, store: Store) -> None:
        assert store.set_project_plan(_uid(), "pro") is False

    # -- API keys ----------------------------------------------------------------------------
    def _key(self, store: Store, project: Project, now: dt.datetime, name: str = "key") -> tuple[ApiKey, str]:
        key = ApiKey(id=_uid(), project_id=project.id, name=name, prefix="octotp_abcdef", created_at=now)
        digest = _digest()
        store.create_api_key(key, digest)
        return key, digest

    def test_find_api_key_by_digest_returns_key_and_project(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        key, digest = self._key(store, project, now)
        assert store.find_api_key(digest) == (key, project)
        assert store.find_api_key(_digest()) is None

    def test_list_api_keys_of_one_project_oldest_first(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        older, _ = self._key(store, project, now - dt.timedelta(seconds=5), "older")
        newer, _ = self._key(store, project, now, "newer")
        self._key(store, other, now)
        assert store.list_api_keys(project.id) == [older, newer]

    def test_revoke_api_key_once(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        key, digest = self._key(store, project, now)
        kept, _ = self._key(store, project, now)
        later = now + dt.timedelta(seconds=30)
        assert store.revoke_api_key(key.id, later) is True
        assert store.revoke_api_key(key.id, later + dt.timedelta(seconds=1)) is False
        found = store.find_api_key(digest)  # revoked keys are still found, so callers can tell
        assert found is not None
        assert found[0].revoked_at == later
        assert {k.id: k.revoked_at for k in store.list_api_keys(project.id)} == {key.id: later, kept.id: None}

    def test_revoke_unknown_api_key_is_false(self, store: Store, now: dt.datetime) -> None:
        assert store.revoke_api_key(_uid(), now) is False

    def test_touch_api_key_records_last_use(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        key, digest = self._key(store, project, now)
        _, other_digest = self._key(store, project, now)
        used = now + dt.timedelta(minutes=3)
        store.touch_api_key(key.id, used)
        found, untouched = store.find_api_key(digest), store.find_api_key(other_digest)
        assert found is not None
        assert untouched is not None
        assert found[0].last_used_at == used
        assert untouched[0].last_used_at is None
        store.touch_api_key(key.id, used + dt.timedelta(minutes=1))
        again = store.find_api_key(digest)
        assert again is not None
        assert again[0].last_used_at == used + dt.timedelta(minutes=1)

    # -- tokens: insert, read, supersede -----------------------------------------------------
    def test_insert_and_get_token(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        new = self.make_token(project, now, purpose="login", max_attempts=7)
        store.insert_token(new)
        assert store.get_token(new.id) == Token(**new.__dict__, attempts=0, closed_at=None, closed_reason=None)
        assert store.get_token(_uid()) is None

    def test_insert_supersedes_open_tokens_of_the_same_binding_only(self, store: Store, now: dt.datetime) -> None:
        project, other_project = self.make_project(store, now), self.make_project(store, now)
        digest = _digest()
        old = self.make_token(project, now, digest=digest, purpose="login")
        other_purpose = self.make_token(project, now, digest=digest, purpose="reset")
        other_recipient = self.make_token(project, now, purpose="login")
        other_tenant = self.make_token(other_project, now, digest=digest, purpose="login")
        for token in (old, other_purpose, other_recipient, other_tenant):
            store.insert_token(token)

        later = now + dt.timedelta(seconds=20)
        new = self.make_token(project, later, digest=digest, purpose="login")
        store.insert_token(new)

        superseded = store.get_token(old.id)
        assert superseded is not None
        assert (superseded.closed_reason, superseded.closed_at) == ("superseded", later)
        for token_id in (new.id, other_purpose.id, other_recipient.id, other_tenant.id):
            still_open = store.get_token(token_id)
            assert still_open is not None
            assert (still_open.closed_at, still_open.closed_reason) == (None, None)

    def test_insert_leaves_already_closed_tokens_alone(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        digest = _digest()
        used = self.make_token(project, now, digest=digest)
        store.insert_token(used)
        assert store.consume_token(used.id, now + dt.timedelta(seconds=1))
        store.insert_token(self.make_token(project, now + dt.timedelta(seconds=2), digest=digest))
        after = store.get_token(used.id)
        assert after is not None
        assert (after.closed_reason, after.closed_at) == ("approved", now + dt.timedelta(seconds=1))

    def test_latest_token_is_the_last_inserted_open_or_not(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        digest = _digest()
        assert store.latest_token(project.id, digest, "") is None
        first = self.make_token(project, now, digest=digest)
        second = self.make_token(project, now, digest=digest)  # same timestamp: insertion order decides
        store.insert_token(first)
        store.insert_token(second)
        latest = store.latest_token(project.id, digest, "")
        assert latest is not None
        assert latest.id == second.id
        assert store.close_token(second.id, now, "cancelled")
        closed = store.latest_token(project.id, digest, "")
        assert closed is not None
        assert (closed.id, closed.closed_reason) == (second.id, "cancelled")

    def test_latest_token_is_per_binding(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        digest = _digest()
        login = self.make_token(project, now, digest=digest, purpose="login")
        reset = self.make_token(project, now, digest=digest, purpose="reset")
        store.insert_token(login)
        store.insert_token(reset)
        found_login = store.latest_token(project.id, digest, "login")
        found_reset = store.latest_token(project.id, digest, "reset")
        assert found_login is not None
        assert found_reset is not None
        assert (found_login.id, found_reset.id) == (login.id, reset.id)
        assert store.latest_token(project.id, digest, "") is None
        assert store.latest_token(self.make_project(store, now).id, digest, "login") is None

    def test_list_tokens_newest_first_with_limit(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        made = [self.make_token(project, now + dt.timedelta(seconds=i)) for i in range(5)]
        for token in made:
            store.insert_token(token)
        store.insert_token(self.make_token(other, now))
        assert [t.id for t in store.list_tokens(project.id)] == [t.id for t in reversed(made)]
        assert [t.id for t in store.list_tokens(project.id, limit=2)] == [made[4].id, made[3].id]

    def _mixed_tokens(self, store: Store, project: Project, now: dt.datetime) -> dict[str, list[str]]:
        """Tokens of ``project`` in every state at ``now`` + 120 s (the ids each state should list),
        a millisecond apart, with two purposes and both channels."""
        made: dict[str, list[str]] = {state: [] for state in TOKEN_STATES}

        def put(state: str, **options: Any) -> NewToken:
            at = now + dt.timedelta(milliseconds=sum(map(len, made.values())))
            token = self.make_token(project, at, **options)
            store.insert_token(token)
            made[state].append(token.id)
            return token

        put("pending")
        put("pending", purpose="login", channel="sms")
        put("expired", ttl=60)
        stale_and_spent = put("expired", ttl=60, max_attempts=1)  # expiry wins over the cap
        assert store.reserve_attempt(stale_and_spent.id, now)
        locked = put("locked", max_attempts=2, purpose="login")
        assert store.reserve_attempt(locked.id, now)
        assert store.reserve_attempt(locked.id, now)
        assert store.consume_token(put("approved", ttl=60).id, now)  # closed: its reason, expired or not
        replaced = put("superseded", purpose="login")
        put("pending", purpose="login", digest=replaced.recipient_digest)  # supersedes the one before
        assert store.close_token(put("cancelled", channel="sms").id, now, "cancelled")
        assert store.close_token(put("delivery_failed").id, now, "delivery_failed")
        return made

    def test_list_tokens_state_filter_is_token_state(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        made = self._mixed_tokens(store, project, now)
        self._mixed_tokens(store, other, now)
        at = now + dt.timedelta(seconds=120)
        everything = store.list_tokens(project.id, 100)
        assert len(everything) == sum(map(len, made.values()))
        for state in TOKEN_STATES:
            listed = store.list_tokens(project.id, 100, token_filter=TokenFilter(state=state), now=at)
            assert [t.id for t in listed] == [t.id for t in everything if token_state(t, at) == state], state
            assert sorted(t.id for t in listed) == sorted(made[state]), state
        # Decided at the ``now`` given: before the short tokens expire, nothing is expired.
        assert store.list_tokens(project.id, 100, token_filter=TokenFilter(state="expired"), now=now) == []
        early = store.list_tokens(project.id, 100, token_filter=TokenFilter(state="locked"), now=now)
        assert len(early) == 2  # the spent short one is locked until it expires

    def test_list_tokens_filters_by_recipient_purpose_and_channel_with_offset(
        self, store: Store, now: dt.datetime
    ) -> None:
        project = self.make_project(store, now)
        self._mixed_tokens(store, project, now)
        everything = store.list_tokens(project.id, 100)
        at = now + dt.timedelta(seconds=120)

        def listed(limit: int = 100, offset: int = 0, **narrow: str) -> list[str]:
            found = store.list_tokens(project.id, limit, offset, token_filter=TokenFilter(**narrow), now=at)
            return [t.id for t in found]

        digest = next(t.recipient_digest for t in everything if t.closed_reason == "superseded")
        assert listed(recipient_digest=digest) == [t.id for t in everything if t.recipient_digest == digest]
        assert len(listed(recipient_digest=digest)) == 2
        assert listed(purpose="login") == [t.id for t in everything if t.purpose == "login"]
        assert listed(channel="sms") == [t.id for t in everything if t.channel == "sms"]
        assert len(listed(channel="sms")) == 2
        both = listed(purpose="login", state="pending")
        assert both == [t.id for t in everything if t.purpose == "login" and token_state(t, at) == "pending"]
        assert len(both) == 2
        assert listed(recipient_digest=_digest()) == []
        assert listed(purpose="login", channel="sms", recipient_digest=digest) == []
        # Pages: ``offset`` rows on, narrowed or not.
        assert [t.id for t in store.list_tokens(project.id, 3, 2)] == [t.id for t in everything[2:5]]
        logins = listed(purpose="login")
        assert listed(2, 1, purpose="login") == logins[1:3]
        assert listed(10, len(logins), purpose="login") == []

    # -- tokens: attempts, consume, close ----------------------------------------------------
    def test_reserve_attempt_counts_up_to_the_cap(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now, max_attempts=3)
        store.insert_token(token)
        results = [store.reserve_attempt(token.id, now) for _ in range(5)]
        assert results == [True, True, True, False, False]
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.attempts == 3

    def test_reserve_attempt_refuses_at_and_after_expiry(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now, ttl=60)
        store.insert_token(token)
        assert store.reserve_attempt(token.id, token.expires_at - dt.timedelta(microseconds=1)) is True
        assert store.reserve_attempt(token.id, token.expires_at) is False
        assert store.reserve_attempt(token.id, token.expires_at + dt.timedelta(days=1)) is False
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.attempts == 1

    def test_reserve_attempt_refuses_closed_and_unknown_tokens(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        assert store.close_token(token.id, now, "cancelled")
        assert store.reserve_attempt(token.id, now) is False
        assert store.reserve_attempt(_uid(), now) is False
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.attempts == 0

    def test_reserve_latest_reserves_the_newest_open_token(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        old = self.make_token(project, now)
        new = self.make_token(project, now + dt.timedelta(seconds=1), digest=old.recipient_digest, max_attempts=2)
        store.insert_token(old)
        store.insert_token(new)  # supersedes old
        first = store.reserve_latest(project.id, new.recipient_digest, "", now)
        assert first is not None
        assert (first.id, first.attempts, first.code_hash) == (new.id, 1, new.code_hash)
        second = store.reserve_latest(project.id, new.recipient_digest, "", now)
        assert second is not None
        assert second.attempts == 2
        assert store.reserve_latest(project.id, new.recipient_digest, "", now) is None  # at the cap
        stored_new, stored_old = store.get_token(new.id), store.get_token(old.id)
        assert stored_new is not None
        assert stored_old is not None
        assert (stored_new.attempts, stored_old.attempts) == (2, 0)

    def test_reserve_latest_refuses_what_reserve_attempt_refuses(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        assert store.reserve_latest(project.id, "f" * 64, "", now) is None  # no token at all
        expiring = self.make_token(project, now, ttl=60)
        store.insert_token(expiring)
        assert store.reserve_latest(project.id, expiring.recipient_digest, "", expiring.expires_at) is None
        assert store.reserve_latest(project.id, expiring.recipient_digest, "other", now) is None  # other purpose
        closed = self.make_token(project, now)
        store.insert_token(closed)
        assert store.close_token(closed.id, now, "cancelled")
        assert store.reserve_latest(project.id, closed.recipient_digest, "", now) is None
        for token in (expiring, closed):
            stored = store.get_token(token.id)
            assert stored is not None
            assert stored.attempts == 0

    def test_consume_token_exactly_once(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        when = now + dt.timedelta(seconds=5)
        assert store.consume_token(token.id, when) is True
        assert store.consume_token(token.id, when) is False
        stored = store.get_token(token.id)
        assert stored is not None
        assert (stored.closed_reason, stored.closed_at) == ("approved", when)

    def test_consume_refuses_a_closed_token(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        assert store.close_token(token.id, now, "delivery_failed")
        assert store.consume_token(token.id, now) is False
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.closed_reason == "delivery_failed"

    def test_close_token_checks_the_project(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        assert store.close_token(token.id, now, "cancelled", project_id=other.id) is False
        still_open = store.get_token(token.id)
        assert still_open is not None
        assert still_open.closed_at is None
        when = now + dt.timedelta(seconds=9)
        assert store.close_token(token.id, when, "cancelled", project_id=project.id) is True
        assert store.close_token(token.id, when, "cancelled", project_id=project.id) is False
        closed = store.get_token(token.id)
        assert closed is not None
        assert (closed.closed_reason, closed.closed_at) == ("cancelled", when)

    def test_close_token_without_project_and_unknown(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        assert store.close_token(token.id, now, "delivery_failed") is True
        assert store.close_token(token.id, now, "cancelled") is False
        assert store.close_token(_uid(), now, "cancelled") is False
        closed = store.get_token(token.id)
        assert closed is not None
        assert closed.closed_reason == "delivery_failed"

    def test_purge_deletes_only_tokens_expired_before(self, store: Store) -> None:
        start = PURGE_ERA
        project = self.make_project(store, start)
        expired = [self.make_token(project, start + dt.timedelta(seconds=i), ttl=60) for i in range(3)]
        boundary = self.make_token(project, start + dt.timedelta(seconds=100), ttl=60)  # expires at +160
        alive = self.make_token(project, start + dt.timedelta(seconds=200), ttl=60)
        for token in [*expired, boundary, alive]:
            store.insert_token(token)
        cutoff = boundary.expires_at  # "before" is strict: the boundary token stays
        assert store.purge_tokens(cutoff) == len(expired)
        assert [store.get_token(t.id) for t in expired] == [None] * len(expired)
        assert store.get_token(boundary.id) is not None
        assert store.get_token(alive.id) is not None
        assert store.purge_tokens(cutoff) == 0
        assert store.purge_tokens(alive.expires_at + dt.timedelta(seconds=1)) == 2
        assert store.list_tokens(project.id) == []

    def test_purge_deletes_in_batches_until_one_comes_back_short(self, store: Store) -> None:
        start = BATCH_PURGE_ERA
        project = self.make_project(store, start)
        expired = [self.make_token(project, start + dt.timedelta(seconds=i), ttl=60) for i in range(10)]
        alive = [self.make_token(project, start + dt.timedelta(seconds=3600 + i), ttl=60) for i in range(2)]
        for token in [*expired, *alive]:
            store.insert_token(token)
        cutoff = start + dt.timedelta(seconds=3000)
        assert store.purgeable("tokens", cutoff) == 10
        batches: list[int] = []
        assert store.purge_tokens(cutoff, batch_size=3, on_batch=batches.append) == 10
        assert batches == [3, 3, 3, 1]  # the short fourth batch ends the purge
        assert [store.get_token(t.id) for t in expired] == [None] * len(expired)
        assert all(store.get_token(t.id) is not None for t in alive)
        assert store.purgeable("tokens", cutoff) == 0
        batches.clear()
        assert store.purge_tokens(cutoff, batch_size=3, on_batch=batches.append) == 0
        assert batches == []  # nothing left: no empty batch reported
        # A batch exactly full is followed by one more look, which finds nothing.
        assert (
            store.purge_tokens(alive[-1].expires_at + dt.timedelta(seconds=1), batch_size=2, on_batch=batches.append)
            == 2
        )
        assert batches == [2]

    def test_purge_of_idempotency_records_batches_by_their_two_column_key(self, store: Store) -> None:
        start = BATCH_PURGE_ERA
        projects = [self.make_project(store, start) for _ in range(2)]
        keys = [(p, f"key-{i}") for p in projects for i in range(3)]
        for i, (project, key) in enumerate(keys):
            assert store.claim_idempotency_key(project.id, key, "fp", start + dt.timedelta(seconds=i)) is None
        store.claim_idempotency_key(projects[0].id, "kept", "fp", start + dt.timedelta(hours=1))
        batches: list[int] = []
        cutoff = start + dt.timedelta(minutes=10)
        assert store.purge_idempotency_keys(cutoff, batch_size=4, on_batch=batches.append) == 6
        assert batches == [4, 2]
        # Purged keys can be claimed afresh; the one claimed after the cutoff is still held.
        assert store.claim_idempotency_key(projects[1].id, "key-2", "fp", start) is None
        held = store.claim_idempotency_key(projects[0].id, "kept", "other", start + dt.timedelta(hours=2))
        assert held is not None
        assert held.fingerprint == "fp"
        assert store.purge_idempotency_keys(start + dt.timedelta(hours=3), batch_size=4) == 2  # leave none behind

    # -- tokens under concurrency ------------------------------------------------------------
    def test_concurrent_consume_has_exactly_one_winner(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        results = run_concurrently(self.concurrency, lambda: store.consume_token(token.id, now), self.thread_done)
        assert results.count(True) == 1
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.closed_reason == "approved"

    def test_concurrent_usage_upserts_all_add_up(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        day = now.date()  # no row yet: every thread races to insert it first
        run_concurrently(
            self.concurrency, lambda: store.add_usage(project.id, day, created=2, failed=1), self.thread_done
        )
        assert store.usage(project.id, day) == [
            UsageDay(project.id, day, created=2 * self.concurrency, failed=self.concurrency)
        ]

    def test_concurrent_reservations_never_pass_the_cap(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now, max_attempts=5)
        store.insert_token(token)
        results = run_concurrently(self.concurrency, lambda: store.reserve_attempt(token.id, now), self.thread_done)
        assert results.count(True) == min(5, self.concurrency)
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.attempts == min(5, self.concurrency)

    def test_concurrent_reserve_latest_never_passes_the_cap(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now, max_attempts=5)
        store.insert_token(token)
        results = run_concurrently(
            self.concurrency,
            lambda: store.reserve_latest(project.id, token.recipient_digest, "", now),
            self.thread_done,
        )
        assert sum(r is not None for r in results) == min(5, self.concurrency)
        stored = store.get_token(token.id)
        assert stored is not None
        assert stored.attempts == min(5, self.concurrency)

    # -- usage -------------------------------------------------------------------------------
    def test_usage_counters_add_up(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        day = now.date()
        store.add_usage(project.id, day, created=3, approved=1)
        store.add_usage(project.id, day, failed=2)
        store.add_usage(project.id, day, failed=1, rate_limited=4)
        store.add_usage(project.id, day, approved=2)
        store.add_usage(project.id, day)  # nothing to add: no error, nothing changes
        assert store.usage(project.id, day) == [
            UsageDay(project.id, day, created=3, approved=3, failed=3, rate_limited=4)
        ]

    def test_token_writes_leave_usage_to_add_usage(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token = self.make_token(project, now)
        store.insert_token(token)
        assert store.consume_token(token.id, now)
        assert store.usage(project.id, now.date()) == []

    def test_usage_is_per_day_and_per_project_oldest_first(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        today = now.date()
        earlier = today - dt.timedelta(days=3)
        yesterday = today - dt.timedelta(days=1)
        store.add_usage(project.id, yesterday, rate_limited=1)
        store.add_usage(project.id, earlier, failed=5)
        store.add_usage(project.id, today, created=1)
        store.add_usage(other.id, today, failed=7)
        assert store.usage(project.id, earlier) == [
            UsageDay(project.id, earlier, failed=5),
            UsageDay(project.id, yesterday, rate_limited=1),
            UsageDay(project.id, today, created=1),
        ]
        assert store.usage(project.id, yesterday) == [
            UsageDay(project.id, yesterday, rate_limited=1),
            UsageDay(project.id, today, created=1),
        ]
        assert store.usage(project.id, today + dt.timedelta(days=1)) == []
        assert store.usage(other.id, earlier) == [UsageDay(other.id, today, failed=7)]

    # -- dashboard sessions ------------------------------------------------------------------
    @staticmethod
    def make_session(account: Account, now: dt.datetime, *, ttl: float = 3600) -> DashboardSession:
        """A session (not yet inserted) for ``account`` with a fresh id digest, ending ``ttl`` seconds on."""
        return DashboardSession(
            id_digest=_digest(),
            account_id=account.id,
            csrf_token=uuid.uuid4().hex,
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(seconds=ttl),
        )

    def test_session_round_trip(self, store: Store, now: dt.datetime) -> None:
        session = self.make_session(self.make_account(store, now), now)
        store.create_session(session)
        assert store.get_session(session.id_digest) == session
        assert store.get_session(_digest()) is None

    def test_touch_session_moves_last_seen_and_end(self, store: Store, now: dt.datetime) -> None:
        session = self.make_session(self.make_account(store, now), now)
        store.create_session(session)
        later, end = now + dt.timedelta(seconds=90), now + dt.timedelta(seconds=1890)
        assert store.touch_session(session.id_digest, later, end)
        assert store.get_session(session.id_digest) == dataclasses.replace(session, last_seen_at=later, expires_at=end)
        assert not store.touch_session(_digest(), later, end)

    def test_session_flash_is_taken_once_and_only_while_unchanged(self, store: Store, now: dt.datetime) -> None:
        account = self.make_account(store, now)
        session, other = self.make_session(account, now), self.make_session(account, now)
        store.create_session(session)
        store.create_session(other)
        assert store.set_session_flash(session.id_digest, "first")
        assert store.set_session_flash(session.id_digest, "second")  # replaces
        assert not store.set_session_flash(_digest(), "nowhere")
        stored = store.get_session(session.id_digest)
        assert stored is not None
        assert stored.flash == "second"
        assert store.get_session(other.id_digest) == other  # another session's row is untouched
        assert not store.take_session_flash(session.id_digest, "first")  # no longer the stored message
        assert not store.take_session_flash(other.id_digest, "second")
        assert store.take_session_flash(session.id_digest, "second")
        assert not store.take_session_flash(session.id_digest, "second")
        assert store.get_session(session.id_digest) == session  # flash cleared, nothing else changed

    def test_concurrent_flash_takes_have_exactly_one_winner(self, store: Store, now: dt.datetime) -> None:
        session = self.make_session(self.make_account(store, now), now)
        store.create_session(session)
        store.set_session_flash(session.id_digest, "shown once")
        results = run_concurrently(
            self.concurrency, lambda: store.take_session_flash(session.id_digest, "shown once"), self.thread_done
        )
        assert results.count(True) == 1
        stored = store.get_session(session.id_digest)
        assert stored is not None
        assert stored.flash is None

    def test_concurrent_creates_of_one_account_id_make_exactly_one(self, store: Store, now: dt.datetime) -> None:
        # The dashboard's first-run setup relies on this: every submission of the setup link inserts
        # the same account id, and only one may win.
        account_id = _uid()

        def create() -> str:
            email = f"first-{uuid.uuid4().hex[:12]}@example.com"
            try:
                store.create_account(Account(account_id, email, _PASSWORD_HASH, now))
            except Conflict:
                return "conflict"
            return "created"

        results = run_concurrently(self.concurrency, create, self.thread_done)
        assert results.count("created") == 1, results
        assert results.count("conflict") == self.concurrency - 1, results
        assert store.get_account(account_id) is not None

    def test_delete_session_once(self, store: Store, now: dt.datetime) -> None:
        account = self.make_account(store, now)
        session, kept = self.make_session(account, now), self.make_session(account, now)
        store.create_session(session)
        store.create_session(kept)
        assert store.delete_session(session.id_digest)
        assert not store.delete_session(session.id_digest)
        assert store.get_session(session.id_digest) is None
        assert store.get_session(kept.id_digest) == kept

    def test_delete_account_sessions_spares_other_accounts(self, store: Store, now: dt.datetime) -> None:
        account, other = self.make_account(store, now), self.make_account(store, now)
        mine = [self.make_session(account, now) for _ in range(3)]
        theirs = self.make_session(other, now)
        for session in [*mine, theirs]:
            store.create_session(session)
        assert store.delete_account_sessions(account.id) == 3
        assert all(store.get_session(s.id_digest) is None for s in mine)
        assert store.get_session(theirs.id_digest) == theirs
        assert store.delete_account_sessions(account.id) == 0

    def test_purge_sessions_deletes_only_sessions_ended_before(self, store: Store) -> None:
        era = SESSION_PURGE_ERA
        account = self.make_account(store, era)
        ended = self.make_session(account, era, ttl=60)
        ending_now = self.make_session(account, era, ttl=120)
        live = self.make_session(account, era, ttl=3600)
        for session in (ended, ending_now, live):
            store.create_session(session)
        cutoff = era + dt.timedelta(seconds=120)
        assert store.purge_sessions(cutoff) == 1
        assert store.get_session(ended.id_digest) is None
        assert store.get_session(ending_now.id_digest) == ending_now
        assert store.get_session(live.id_digest) == live
        assert store.purge_sessions(cutoff) == 0
