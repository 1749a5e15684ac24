"""The outbox's SQL (``octotp_jobs``), written once for both stores, as ``statements`` is for tokens.

Bound parameters follow ``statements``: ``b_*`` for conditions, ``v_*`` for values written. Every
change of state is a conditional UPDATE whose row count says whether it happened: a worker claims a
due job only while it is still due (``CLAIM_JOB``), and finishes only a job it still holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table, bindparam, case, delete, func, insert, or_, select, update

from .models import JobRow
from .records import Job
from .statements import _b, _columns, _names, _values

jobs: Table = JobRow.__table__  # type: ignore[assignment]

JOB_COLUMNS = _columns(jobs, Job)
INSERT_JOB = insert(jobs).values(_values(jobs, _names(Job)))
GET_JOB = select(*JOB_COLUMNS).where(jobs.c.id == _b(jobs, "id"))
GET_TOKEN_JOB = select(*JOB_COLUMNS).where(jobs.c.token_id == _b(jobs, "token_id"))
#: How many token ids one ``TOKEN_JOBS`` statement takes (a dashboard page lists 50 tokens).
TOKEN_JOBS_BATCH = 64
# The jobs of up to TOKEN_JOBS_BATCH tokens: b_token_0 ... (unused ones repeat an id).
TOKEN_JOBS = select(*JOB_COLUMNS).where(
    or_(*[jobs.c.token_id == bindparam(f"b_token_{i}", type_=jobs.c.token_id.type) for i in range(TOKEN_JOBS_BATCH)])
)
GET_PROVIDER_JOB = select(*JOB_COLUMNS).where(jobs.c.provider_id == _b(jobs, "provider_id"))

# (Comparisons joined by OR rather than IN: no expanding parameters in statements both stores compile.)
_OPEN = or_(jobs.c.state == "queued", jobs.c.state == "sending")
_DUE = (_OPEN, jobs.c.due_at <= _b(jobs, "now", "due_at"))

# Due jobs, oldest first; on PostgreSQL and MariaDB the rows are locked, skipping those another
# worker holds (SQLite has no row locks and writes one transaction at a time).
DUE_JOBS = (
    select(jobs.c.id)
    .where(*_DUE)
    .order_by(jobs.c.due_at)
    .limit(bindparam("b_limit", type_=Integer))
    .with_for_update(skip_locked=True)
)
# One due job, by id: ``claim_jobs`` runs it for each candidate, ``claim_job`` for the one a host's
# task queue was handed; either way the row count says who won.
CLAIM_JOB = (
    update(jobs)
    .where(jobs.c.id == _b(jobs, "id"), *_DUE)
    .values(
        state="sending",
        due_at=_b(jobs, "lease_until", "due_at"),
        claimed_by=_b(jobs, "worker", "claimed_by"),
        attempts=jobs.c.attempts + 1,
    )
)
_HELD = (jobs.c.id == _b(jobs, "id"), jobs.c.state == "sending", jobs.c.claimed_by == _b(jobs, "worker", "claimed_by"))
FINISH_JOB = (
    update(jobs)
    .where(*_HELD)
    # A code's payload (its code and recipient) is wiped; an event webhook's (a masked event) is kept
    # for a manual re-send until the job is purged.
    .values(
        **_values(jobs, ["state", "reason", "provider_id", "sent_at"]),
        payload=case((jobs.c.kind == "webhook", jobs.c.payload), else_=None),
        claimed_by=None,
    )
)
RETRY_JOB = update(jobs).where(*_HELD).values(**_values(jobs, ["due_at", "reason"]), state="queued", claimed_by=None)
# A provider's report moves a job on from "sent" only: callbacks arrive out of order and repeated, so
# a delivered job never becomes failed, a failed one never delivered, and a late "delivered" after
# "delivered" changes no row (its row count, 0, tells the caller there is nothing to announce).
PROVIDER_UPDATE = (
    update(jobs)
    .where(jobs.c.provider_id == _b(jobs, "provider_id"), jobs.c.state == "sent")
    .values(**_values(jobs, ["state", "reason", "delivered_at"]))
)
# The outbox's depth for ``octotp_delivery_jobs``: a range scan of ix_octotp_jobs_state_due (state first).
OPEN_JOB_COUNTS = select(jobs.c.state, func.count()).where(_OPEN).group_by(jobs.c.state)
DELETE_PROJECT_JOBS = delete(jobs).where(jobs.c.project_id == _b(jobs, "project_id"))


def token_jobs_params(token_ids: list[str]) -> dict[str, Any]:
    """The parameters of ``TOKEN_JOBS`` for up to ``TOKEN_JOBS_BATCH`` ids (at least one)."""
    padded = token_ids + [token_ids[0]] * (TOKEN_JOBS_BATCH - len(token_ids))
    return {f"b_token_{i}": token_id for i, token_id in enumerate(padded)}


def insert_job_params(job: Job) -> dict[str, Any]:
    """The parameters of ``INSERT_JOB``."""
    return {f"v_{name}": getattr(job, name) for name in _names(Job)}
