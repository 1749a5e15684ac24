"""The SQL of event webhooks: a project's endpoints (``octotp_webhook_endpoints``) and the log of
what was sent to one (its ``kind="webhook"`` jobs in ``octotp_jobs``), written once for both stores.

Bound parameters follow ``statements``: ``b_*`` for conditions, ``v_*`` for values written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table, bindparam, delete, insert, or_, select, update

from .job_statements import JOB_COLUMNS, jobs
from .models import WebhookEndpointRow
from .records import WebhookEndpoint
from .statements import _b, _columns, _names, _values

endpoints: Table = WebhookEndpointRow.__table__  # type: ignore[assignment]

ENDPOINT_COLUMNS = _columns(endpoints, WebhookEndpoint)
INSERT_ENDPOINT = insert(endpoints).values(_values(endpoints, _names(WebhookEndpoint)))
GET_ENDPOINT = select(*ENDPOINT_COLUMNS).where(endpoints.c.id == _b(endpoints, "id"))
PROJECT_ENDPOINTS = (
    select(*ENDPOINT_COLUMNS)
    .where(endpoints.c.project_id == _b(endpoints, "project_id"))
    .order_by(endpoints.c.created_at, endpoints.c.id)
)
# What may change on an endpoint (its project and id never do).
ENDPOINT_CHANGES = ["url", "secret_sealed", "events", "enabled", "description"]
UPDATE_ENDPOINT = (
    update(endpoints)
    .where(endpoints.c.id == _b(endpoints, "id"), endpoints.c.project_id == _b(endpoints, "project_id"))
    .values(**_values(endpoints, ENDPOINT_CHANGES))
)
# An endpoint and its log, the log first (no database-level cascade is relied on).
DELETE_ENDPOINT = (
    delete(jobs).where(jobs.c.endpoint_id == _b(jobs, "endpoint_id"), jobs.c.project_id == _b(jobs, "project_id")),
    delete(endpoints).where(
        endpoints.c.id == _b(endpoints, "endpoint_id", "id"), endpoints.c.project_id == _b(endpoints, "project_id")
    ),
)
DELETE_PROJECT_ENDPOINTS = delete(endpoints).where(endpoints.c.project_id == _b(endpoints, "project_id"))

# An endpoint's log: its newest jobs first.
ENDPOINT_JOBS = (
    select(*JOB_COLUMNS)
    .where(jobs.c.endpoint_id == _b(jobs, "endpoint_id"))
    .order_by(jobs.c.created_at.desc(), jobs.c.id)
    .limit(bindparam("b_limit", type_=Integer))
)
# A finished webhook job queued again (a manual re-send): the same job, so the same ``webhook-id``.
REQUEUE_JOB = (
    update(jobs)
    .where(
        jobs.c.id == _b(jobs, "id"),
        jobs.c.kind == "webhook",
        or_(jobs.c.state == "sent", jobs.c.state == "failed"),
        jobs.c.payload.is_not(None),
    )
    .values(**_values(jobs, ["due_at", "expires_at"]), state="queued", attempts=0, reason=None, claimed_by=None)
)


def endpoint_params(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The parameters of ``INSERT_ENDPOINT``."""
    return {f"v_{name}": getattr(endpoint, name) for name in _names(WebhookEndpoint)}
