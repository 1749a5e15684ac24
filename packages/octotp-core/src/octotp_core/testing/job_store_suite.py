"""Store conformance for the outbox (``octotp_jobs``): written with its token in one transaction,
claimed by exactly one of many racing workers, taken over after a lease, finished only by its
holder, purged. Mixed into ``StoreSuite`` (its helpers: ``make_project``, ``make_token``,
``concurrency``, ``thread_done``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import Counter
from typing import Any, ClassVar

import pytest

from ..store import Job, NewToken, Project, Store
from .console_store_suite import _together


def job_for(token: NewToken, *, due_at: dt.datetime | None = None) -> Job:
    """A queued code job for ``token`` (its payload an opaque stand-in)."""
    return Job(
        id=str(uuid.uuid4()),
        kind="code",
        project_id=token.project_id,
        token_id=token.id,
        state="queued",
        attempts=0,
        due_at=due_at or token.created_at,
        expires_at=token.expires_at,
        payload="sealed-stand-in",
        created_at=token.created_at,
    )


class JobStoreSuite:
    """The outbox's store methods, as every store must answer them."""

    make_project: Any
    make_token: Any
    concurrency: ClassVar[int]
    thread_done: Any

    def _queued(self, store: Store, project: Project, now: dt.datetime, **token: Any) -> tuple[NewToken, Job]:
        made = self.make_token(project, now, **token)
        job = job_for(made)
        store.insert_token_with_job(made, job)
        return made, job

    def test_a_token_and_its_job_are_written_together(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token, job = self._queued(store, project, now)
        assert store.get_token(token.id) is not None
        assert store.get_job(job.id) == job
        assert store.get_token_job(token.id) == job
        again = job_for(token)  # a second job for the same token breaks the unique token_id ...
        other = self.make_token(project, now)
        with pytest.raises(Exception):  # noqa: B017, PT011 - the store's own unique-constraint error
            store.insert_token_with_job(other, dataclasses.replace(again, token_id=token.id))
        assert store.get_token(other.id) is None  # ... and takes its token with it: one transaction

    def test_list_token_jobs_answers_a_page_of_tokens_at_once(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        queued = [self._queued(store, project, now) for _ in range(70)]  # more than one statement takes
        plain = self.make_token(project, now)
        store.insert_token(plain)  # sent without the outbox: no job
        asked = [token.id for token, _ in queued] + [plain.id, str(uuid.uuid4())]
        found = store.list_token_jobs(asked)
        assert found == {token.id: job for token, job in queued}
        assert store.list_token_jobs([queued[0][0].id, queued[0][0].id]) == {queued[0][0].id: queued[0][1]}
        assert store.list_token_jobs([]) == {}

    def test_a_new_token_with_its_job_supersedes_the_bindings_earlier_one(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        first, _ = self._queued(store, project, now, digest="ab" * 32)
        second, _ = self._queued(store, project, now + dt.timedelta(seconds=1), digest="ab" * 32)
        assert store.get_token(first.id).closed_reason == "superseded"  # type: ignore[union-attr]
        assert store.get_token(second.id).closed_at is None  # type: ignore[union-attr]

    @staticmethod
    def _finish_due(store: Store, now: dt.datetime) -> None:
        """Finish every job due by ``now`` that earlier tests left in the session's database, so a
        claim's ``limit`` cannot fill up with them."""
        for job in store.claim_jobs("earlier-tests", now, now, 100_000):
            store.finish_job(job.id, "earlier-tests", "failed", reason="test")

    def test_claims_take_due_jobs_once_and_lease_them(self, store: Store, now: dt.datetime) -> None:
        self._finish_due(store, now)
        project = self.make_project(store, now)
        _, due = self._queued(store, project, now)
        later = self.make_token(project, now)
        store.insert_token_with_job(later, job_for(later, due_at=now + dt.timedelta(seconds=30)))
        lease = now + dt.timedelta(seconds=10)
        claimed = [j for j in store.claim_jobs("w1", now, lease, 100) if j.project_id == project.id]
        assert [j.id for j in claimed] == [due.id]
        held = claimed[0]
        assert (held.state, held.claimed_by, held.attempts, held.due_at) == ("sending", "w1", 1, lease)
        assert [j for j in store.claim_jobs("w2", now, lease, 100) if j.project_id == project.id] == []
        # The lease ends (the worker died): another worker takes it over, and the first may not finish it.
        after = lease + dt.timedelta(seconds=1)
        taken = [j for j in store.claim_jobs("w2", after, after + dt.timedelta(seconds=10), 100) if j.id == due.id]
        assert [(j.claimed_by, j.attempts) for j in taken] == [("w2", 2)]
        assert store.finish_job(due.id, "w1", "sent", sent_at=after) is False
        assert store.finish_job(due.id, "w2", "sent", provider_id="SM123", sent_at=after) is True
        done = store.get_job(due.id)
        assert done is not None
        assert (done.state, done.payload, done.provider_id, done.sent_at, done.claimed_by) == (
            "sent",
            None,
            "SM123",
            after,
            None,
        )
        assert store.finish_job(due.id, "w2", "failed", reason="x") is False  # done is done

    def test_open_jobs_are_counted_by_state(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        _, held = self._queued(store, project, now)
        self._queued(store, project, now)
        assert store.claim_job(held.id, "w1", now, now + dt.timedelta(seconds=10)) is not None
        counts = store.count_open_jobs()
        # The database is the session's (other tests' jobs count too): at least this test's own.
        assert set(counts) == {"queued", "sending"}
        assert all(isinstance(n, int) for n in counts.values())
        assert counts["queued"] >= 1
        assert counts["sending"] >= 1

    def test_claim_job_takes_one_due_job_by_id_once(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        _, job = self._queued(store, project, now)
        later = self.make_token(project, now)
        waiting = job_for(later, due_at=now + dt.timedelta(seconds=30))
        store.insert_token_with_job(later, waiting)
        lease = now + dt.timedelta(seconds=10)
        assert store.claim_job(waiting.id, "task", now, lease) is None  # not due (a retry's wait)
        held = store.claim_job(job.id, "task", now, lease)
        assert held is not None
        assert (held.id, held.state, held.claimed_by, held.attempts, held.due_at) == (
            job.id,
            "sending",
            "task",
            1,
            lease,
        )
        assert store.claim_job(job.id, "task-again", now, lease) is None  # held
        assert [j for j in store.claim_jobs("poller", now, lease, 100) if j.id == job.id] == []
        assert store.finish_job(job.id, "task", "sent", sent_at=now) is True
        after = lease + dt.timedelta(seconds=1)
        assert store.claim_job(job.id, "task", after, after + dt.timedelta(seconds=10)) is None  # done
        assert store.claim_job(str(uuid.uuid4()), "task", now, lease) is None

    def test_racing_workers_claim_each_job_exactly_once(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        ids = {self._queued(store, project, now)[1].id for _ in range(self.concurrency * 2)}
        lease = now + dt.timedelta(seconds=60)
        names = iter(f"w{i}" for i in range(self.concurrency))

        def claim() -> list[str]:
            worker, mine = next(names), []
            while batch := store.claim_jobs(worker, now, lease, 3):
                mine += [j.id for j in batch]
            return mine

        results = _together(self.concurrency, claim, self.thread_done)
        claimed = Counter(job_id for result in results for job_id in result if job_id in ids)
        assert set(claimed) == ids
        assert set(claimed.values()) == {1}, "a job was claimed by two workers"

    def test_retry_puts_a_held_job_back_until_its_due_time(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        _, job = self._queued(store, project, now)
        (_held,) = [j for j in store.claim_jobs("w1", now, now + dt.timedelta(seconds=5), 100) if j.id == job.id]
        due = now + dt.timedelta(seconds=4)
        assert store.retry_job(job.id, "w2", due, "TimeoutError") is False  # not its job
        assert store.retry_job(job.id, "w1", due, "TimeoutError") is True
        again = store.get_job(job.id)
        assert again is not None
        assert (again.state, again.due_at, again.reason, again.claimed_by) == ("queued", due, "TimeoutError", None)
        assert not [j for j in store.claim_jobs("w1", now, now, 100) if j.id == job.id]  # not due yet
        assert [j.attempts for j in store.claim_jobs("w1", due, due, 100) if j.id == job.id] == [2]

    def test_provider_reports_and_purge(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        token, job = self._queued(store, project, now, ttl=60)
        store.claim_jobs("w1", now, now + dt.timedelta(seconds=5), 100)
        provider = f"SM{uuid.uuid4().hex}"
        store.finish_job(job.id, "w1", "sent", provider_id=provider, sent_at=now)
        assert store.get_provider_job(provider) == store.get_job(job.id)
        assert store.provider_update(provider, "delivered", delivered_at=now) is True
        assert store.get_job(job.id).state == "delivered"  # type: ignore[union-attr]
        assert store.provider_update(f"SM{uuid.uuid4().hex}", "delivered", delivered_at=now) is False
        _, open_job = self._queued(store, project, now, ttl=60)
        after = token.expires_at + dt.timedelta(seconds=1)
        store.purge_jobs(after)
        assert store.get_job(job.id) is None  # finished and expired: gone
        assert store.get_job(open_job.id) is not None  # still open: a worker will fail it as expired

    def _sent(self, store: Store, project: Project, now: dt.datetime) -> tuple[Job, str]:
        """A job sent to the provider, which knows it by the returned id."""
        _, job = self._queued(store, project, now)
        store.claim_job(job.id, "w1", now, now + dt.timedelta(seconds=5))
        provider = f"SM{uuid.uuid4().hex}"
        assert store.finish_job(job.id, "w1", "sent", provider_id=provider, sent_at=now) is True
        return job, provider

    def test_provider_reports_move_a_job_on_from_sent_only(self, store: Store, now: dt.datetime) -> None:
        project = self.make_project(store, now)
        later = now + dt.timedelta(seconds=3)
        delivered, delivered_id = self._sent(store, project, now)
        assert store.provider_update(delivered_id, "delivered", delivered_at=now) is True
        # Callbacks come late and twice: none moves a delivered job.
        assert store.provider_update(delivered_id, "failed", reason="twilio_30003") is False
        assert store.provider_update(delivered_id, "delivered", delivered_at=later) is False
        assert store.provider_update(delivered_id, "sent") is False
        job = store.get_job(delivered.id)
        assert job is not None
        assert (job.state, job.reason, job.delivered_at) == ("delivered", None, now)

        failed, failed_id = self._sent(store, project, now)
        assert store.provider_update(failed_id, "failed", reason="twilio_30005") is True
        assert store.provider_update(failed_id, "delivered", delivered_at=later) is False
        assert store.provider_update(failed_id, "failed", reason="twilio_30003") is False
        job = store.get_job(failed.id)
        assert job is not None
        assert (job.state, job.reason, job.delivered_at) == ("failed", "twilio_30005", None)

    def test_deleting_a_project_deletes_its_jobs(self, store: Store, now: dt.datetime) -> None:
        project, other = self.make_project(store, now), self.make_project(store, now)
        _, job = self._queued(store, project, now)
        _, kept = self._queued(store, other, now)
        assert store.delete_project(project.id) is True
        assert store.get_job(job.id) is None
        assert store.get_job(kept.id) is not None
