"""Store conformance for the console's methods (accounts' settable fields, sessions per account,
members, ownership transfer, invitations, the audit log, project deletion). Mixed into
``StoreSuite``, so every store that runs the suite runs these too; it uses the suite's helpers
(``make_account``, ``make_project``, ``make_token``, ``concurrency``, ``thread_done``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from ..errors import Conflict
from ..store import Account, AuditEvent, DashboardSession, Invitation, Member, Project, Store


def _uid() -> str:
    return str(uuid.uuid4())


def _together(count: int, action: Callable[[], Any], after: Callable[[], None]) -> list[Any]:
    barrier = threading.Barrier(count, timeout=60)

    def task() -> Any:
        barrier.wait()
        try:
            return action()
        finally:
            after()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [f.result(timeout=120) for f in [pool.submit(task) for _ in range(count)]]


class ConsoleStoreSuite:
    """The console's store methods, as every store must answer them."""

    make_account: Any
    make_project: Any
    make_token: Any
    concurrency: ClassVar[int]
    thread_done: Callable[[], None]

    def _member(self, project: Project, account: Account, role: str, now: dt.datetime) -> Member:
        return Member(_uid(), project.id, account.id, role, now)

    def test_update_account_writes_every_settable_field(self, store: Store, now: dt.datetime) -> None:
        account = self.make_account(store, now)
        assert store.get_account(account.id).verified_at is None  # type: ignore[union-attr]
        changed = dataclasses.replace(
            account,
            is_operator=True,
            verified_at=now,
            is_active=False,
            password_hash="$argon2id$other",  # noqa: S106 - a stand-in hash
        )
        assert store.update_account(changed) is True
        assert store.get_account(account.id) == changed
        assert store.update_account(dataclasses.replace(changed, id=_uid())) is False

    def test_accounts_of_host_users_are_found_by_their_external_id(self, store: Store, now: dt.datetime) -> None:
        host_user = f"host:{_uid()}"
        account = dataclasses.replace(self.make_account(store, now), external_id=host_user)
        assert store.update_account(account) is True
        assert store.get_account_by_external_id(host_user) == account
        assert store.get_account_by_external_id(f"host:{_uid()}") is None
        twin = dataclasses.replace(self.make_account(store, now), external_id=host_user)
        with pytest.raises(Exception):  # noqa: B017, PT011 - the store's own unique-constraint error
            store.update_account(twin)
        assert store.get_account_by_external_id(host_user) == account

    def test_sessions_of_an_account_and_ending_the_others(self, store: Store, now: dt.datetime) -> None:
        account, other = self.make_account(store, now), self.make_account(store, now)
        made = []
        for i, owner in enumerate([account, account, account, other]):
            session = DashboardSession(
                id_digest=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                account_id=owner.id,
                csrf_token="c" * 43,
                created_at=now + dt.timedelta(seconds=i),
                last_seen_at=now,
                expires_at=now + dt.timedelta(hours=1 if i != 2 else -1),  # the third one has ended
            )
            store.create_session(session)
            made.append(session)
        listed = store.list_account_sessions(account.id, now)
        assert [s.id_digest for s in listed] == [made[1].id_digest, made[0].id_digest]  # newest first, live only
        assert store.delete_other_sessions(account.id, made[0].id_digest) == 2
        assert [s.id_digest for s in store.list_account_sessions(account.id, now)] == [made[0].id_digest]
        assert store.get_session(made[3].id_digest) is not None  # another account's session stays

    def test_members_and_the_projects_an_account_can_open(self, store: Store, now: dt.datetime) -> None:
        owner, member, stranger = (self.make_account(store, now) for _ in range(3))
        project = self.make_project(store, now, owner=owner)
        own_other = self.make_project(store, now + dt.timedelta(seconds=1), owner=member)
        store.add_member(self._member(project, member, "viewer", now))
        with pytest.raises(Conflict):
            store.add_member(self._member(project, member, "admin", now))
        found = store.get_member(project.id, member.id)
        assert found is not None
        assert found.role == "viewer"
        assert [m.account_id for m in store.list_members(project.id)] == [member.id]
        assert [p.id for p in store.list_account_projects(member.id)] == [project.id, own_other.id]
        assert [p.id for p in store.list_account_projects(owner.id)] == [project.id]
        assert store.list_account_projects(stranger.id) == []
        assert store.set_member_role(project.id, member.id, "developer") is True
        assert store.get_member(project.id, member.id).role == "developer"  # type: ignore[union-attr]
        assert store.remove_member(project.id, member.id) is True
        assert store.remove_member(project.id, member.id) is False
        assert store.get_member(project.id, member.id) is None

    def test_ownership_transfer_is_conditional_and_keeps_the_old_owner_as_admin(
        self, store: Store, now: dt.datetime
    ) -> None:
        owner, admin = self.make_account(store, now), self.make_account(store, now)
        project = self.make_project(store, now, owner=owner)
        store.add_member(self._member(project, admin, "admin", now))
        assert store.transfer_project(project.id, owner.id, admin.id, now) is True
        assert store.get_project(project.id).owner_id == admin.id  # type: ignore[union-attr]
        assert store.get_member(project.id, admin.id) is None  # an owner is not a member row
        assert store.get_member(project.id, owner.id).role == "admin"  # type: ignore[union-attr]
        # A transfer from an owner who no longer is changes nothing.
        assert store.transfer_project(project.id, owner.id, owner.id, now) is False
        assert store.get_project(project.id).owner_id == admin.id  # type: ignore[union-attr]

    def _invitation(self, store: Store, project: Project, now: dt.datetime, hours: float = 1) -> tuple[Invitation, str]:
        invitation = Invitation(
            _uid(), project.id, "new@example.com", "viewer", None, now, now + dt.timedelta(hours=hours)
        )
        digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
        store.create_invitation(invitation, digest)
        return invitation, digest

    def test_invitations_are_found_by_digest_listed_while_open_and_accepted_once(
        self, store: Store, now: dt.datetime
    ) -> None:
        project = self.make_project(store, now)
        invitation, digest = self._invitation(store, project, now)
        expired, _ = self._invitation(store, project, now - dt.timedelta(hours=2))
        assert store.get_invitation(digest) == invitation
        assert store.get_invitation("0" * 64) is None
        assert [i.id for i in store.list_invitations(project.id, now)] == [invitation.id]
        results = _together(self.concurrency, lambda: store.accept_invitation(invitation.id, now), self.thread_done)
        assert results.count(True) == 1
        assert store.accept_invitation(expired.id, now) is False
        assert store.list_invitations(project.id, now) == []
        assert store.get_invitation(digest).accepted_at == now  # type: ignore[union-attr]
        assert store.delete_invitation(invitation.id, project.id) is True
        assert store.get_invitation(digest) is None

    def test_an_invitation_stops_at_its_expiry_and_is_deleted_per_project(self, store: Store, now: dt.datetime) -> None:
        owner = self.make_account(store, now)
        project, other = self.make_project(store, now, owner=owner), self.make_project(store, now, owner=owner)
        invitation, digest = self._invitation(store, project, now)
        assert store.list_invitations(project.id, invitation.expires_at) == []  # not at its very end
        assert store.accept_invitation(invitation.id, invitation.expires_at) is False
        assert store.delete_invitation(invitation.id, other.id) is False  # another project's
        assert store.accept_invitation(invitation.id, invitation.expires_at - dt.timedelta(seconds=1)) is True
        assert store.delete_invitation(invitation.id, project.id) is True
        assert store.get_invitation(digest) is None

    def test_concurrent_joins_make_one_membership(self, store: Store, now: dt.datetime) -> None:
        project, account = self.make_project(store, now), self.make_account(store, now)

        def join() -> str:
            try:
                store.add_member(self._member(project, account, "viewer", now))
            except Conflict:
                return "conflict"
            return "joined"

        results = _together(self.concurrency, join, self.thread_done)
        assert results.count("joined") == 1, results
        assert [m.account_id for m in store.list_members(project.id)] == [account.id]

    def test_audit_events_per_project_per_account_newest_first_and_purged_by_age(
        self, store: Store, now: dt.datetime
    ) -> None:
        account, project = self.make_account(store, now), self.make_project(store, now)
        era = now - dt.timedelta(days=3650)  # an era no other test writes in, for the purge
        events = [
            AuditEvent(
                _uid(),
                era + dt.timedelta(seconds=i),
                "key.created",
                account.id,
                account.email,
                project.id,
                account.id,
                f"key {i}",
                "203.0.113.7",
            )
            for i in range(3)
        ]
        for event in events:
            store.add_audit_event(event)
        assert store.list_audit_events(project_id=project.id) == list(reversed(events))
        assert store.list_audit_events(account_id=account.id, limit=1, offset=1) == [events[1]]
        # Other stores' suites may share this database and era: at least ours went, and only it.
        assert store.purge_audit_events(era + dt.timedelta(microseconds=1)) >= 1
        assert store.list_audit_events(project_id=project.id) == [events[2], events[1]]

    def test_deleting_a_project_removes_everything_it_owns_and_nothing_else(
        self, store: Store, now: dt.datetime
    ) -> None:
        from ..apikeys import generate_api_key, key_digest
        from ..store import ApiKey

        owner, member = self.make_account(store, now), self.make_account(store, now)
        doomed, kept = (self.make_project(store, now, owner=owner) for _ in range(2))
        for project in (doomed, kept):
            secret = generate_api_key()
            store.create_api_key(ApiKey(_uid(), project.id, "k", secret[:12], now), key_digest(secret))
            store.insert_token(self.make_token(project, now))
            store.add_usage(project.id, now.date(), created=1)
            store.add_member(self._member(project, member, "viewer", now))
            self._invitation(store, project, now)
        assert store.delete_project(doomed.id) is True
        assert store.get_project(doomed.id) is None
        assert store.list_api_keys(doomed.id) == []
        assert store.list_tokens(doomed.id) == []
        assert store.usage(doomed.id, now.date()) == []
        assert store.list_members(doomed.id) == []
        assert store.list_invitations(doomed.id, now) == []
        assert store.delete_project(doomed.id) is False
        assert len(store.list_api_keys(kept.id)) == 1
        assert len(store.list_tokens(kept.id)) == 1
        assert [m.account_id for m in store.list_members(kept.id)] == [member.id]
