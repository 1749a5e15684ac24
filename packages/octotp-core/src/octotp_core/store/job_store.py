"""The outbox's store methods (``octotp_jobs``), written once on the primitives of ``runner`` from
the statements of ``job_statements``, so both stores answer alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from . import job_statements as js
from . import statements as sql
from .records import Job, NewToken
from .runner import StatementRunner


class JobStoreMixin(StatementRunner):
    """Jobs: written with their token, claimed by workers, finished or retried, purged."""

    def insert_token_with_job(self, token: NewToken, job: Job) -> None:
        """Insert the token (superseding its binding's earlier ones, as ``insert_token``) and its job in
        one transaction: a code is never issued without the job that sends it, nor the other way."""
        params = sql.insert_token_params(token)
        self._run_transaction(
            [(sql.SUPERSEDE_TOKENS, params), (sql.INSERT_TOKEN, params), (js.INSERT_JOB, js.insert_job_params(job))]
        )

    def insert_job(self, job: Job) -> None:
        """Insert a job of its own: an event webhook, or the record of a code sent synchronously."""
        self._run_write(js.INSERT_JOB, js.insert_job_params(job))

    def get_job(self, job_id: str) -> Job | None:
        rows = self._run_rows(js.GET_JOB, {"b_id": job_id})
        return Job(*rows[0]) if rows else None

    def get_token_job(self, token_id: str) -> Job | None:
        """The job that sends this token's code, if it was sent through the outbox."""
        rows = self._run_rows(js.GET_TOKEN_JOB, {"b_token_id": token_id})
        return Job(*rows[0]) if rows else None

    def list_token_jobs(self, token_ids: Iterable[str]) -> dict[str, Job]:
        """The jobs that send these tokens' codes, by token id (tokens sent without the outbox have
        none): one query per ``TOKEN_JOBS_BATCH`` ids, for a page of tokens."""
        wanted = list(dict.fromkeys(token_ids))
        found: dict[str, Job] = {}
        for start in range(0, len(wanted), js.TOKEN_JOBS_BATCH):
            chunk = wanted[start : start + js.TOKEN_JOBS_BATCH]
            for row in self._run_rows(js.TOKEN_JOBS, js.token_jobs_params(chunk)):
                job = Job(*row)
                if job.token_id is not None:
                    found[job.token_id] = job
        return found

    def get_provider_job(self, provider_id: str) -> Job | None:
        """The job whose message the provider knows by this id (Twilio's message SID)."""
        rows = self._run_rows(js.GET_PROVIDER_JOB, {"b_provider_id": provider_id})
        return Job(*rows[0]) if rows else None

    def claim_jobs(self, worker: str, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[Job]:
        """Claim up to ``limit`` due jobs (``queued`` and due, or ``sending`` with an ended lease) for
        ``worker`` until ``lease_until``; each is claimed by one worker only, whatever the concurrency."""
        params = {"b_now": now, "b_limit": limit}
        claimed = self._run_claim(
            js.DUE_JOBS,
            params,
            js.CLAIM_JOB,
            lambda row: {"b_id": row[0], "b_now": now, "b_lease_until": lease_until, "b_worker": worker},
        )
        jobs = [self.get_job(str(row[0])) for row in claimed]
        return [job for job in jobs if job is not None]

    def claim_job(self, job_id: str, worker: str, now: dt.datetime, lease_until: dt.datetime) -> Job | None:
        """Claim the job ``job_id`` for ``worker`` until ``lease_until`` if it is due, by the same
        conditional update as ``claim_jobs`` (so a worker that raced for it wins or loses by the row
        count); None when it is not: held by another worker, waiting for a retry, or done."""
        params = {"b_id": job_id, "b_now": now, "b_lease_until": lease_until, "b_worker": worker}
        if self._run_write(js.CLAIM_JOB, params) != 1:
            return None
        return self.get_job(job_id)

    def finish_job(
        self,
        job_id: str,
        worker: str,
        state: str,
        *,
        reason: str | None = None,
        provider_id: str | None = None,
        sent_at: dt.datetime | None = None,
    ) -> bool:
        """Mark a job ``worker`` still holds ``sent`` or ``failed`` (its payload wiped); False when it
        no longer holds it (its lease ended and another worker took it over)."""
        params: dict[str, Any] = {"b_id": job_id, "b_worker": worker, "v_state": state, "v_reason": reason}
        params |= {"v_provider_id": provider_id, "v_sent_at": sent_at}
        return self._run_write(js.FINISH_JOB, params) == 1

    def retry_job(self, job_id: str, worker: str, due_at: dt.datetime, reason: str) -> bool:
        """Put a job ``worker`` still holds back in the queue, due at ``due_at``."""
        params = {"b_id": job_id, "b_worker": worker, "v_due_at": due_at, "v_reason": reason}
        return self._run_write(js.RETRY_JOB, params) == 1

    def provider_update(
        self, provider_id: str, state: str, *, reason: str | None = None, delivered_at: dt.datetime | None = None
    ) -> bool:
        """What the provider reports about a sent message (``delivered``, or ``failed`` with a reason);
        True when it changed the job, which happens only while the job is ``sent`` (a report after
        ``delivered`` or ``failed`` is out of order, or repeated, and changes nothing)."""
        params = {"b_provider_id": provider_id, "v_state": state, "v_reason": reason, "v_delivered_at": delivered_at}
        return self._run_write(js.PROVIDER_UPDATE, params) >= 1

    def count_open_jobs(self) -> dict[str, int]:
        """How many jobs are ``queued`` and ``sending`` now (both keys always present)."""
        counts = {"queued": 0, "sending": 0}
        for state, count in self._run_rows(js.OPEN_JOB_COUNTS, {}):
            counts[str(state)] = int(count)
        return counts
