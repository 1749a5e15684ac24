"""The store methods of event webhooks (a project's endpoints and their logs), written once on the
primitives of ``runner`` from the statements of ``webhook_statements``, so both stores answer alike."""

from __future__ import annotations

import datetime as dt

from . import webhook_statements as ws
from .records import Job, WebhookEndpoint
from .runner import StatementRunner


class WebhookStoreMixin(StatementRunner):
    """Webhook endpoints: created, listed, changed, deleted with their log; a sent job queued again."""

    def create_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._run_write(ws.INSERT_ENDPOINT, ws.endpoint_params(endpoint))

    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        rows = self._run_rows(ws.GET_ENDPOINT, {"b_id": endpoint_id})
        return _endpoint(rows[0]) if rows else None

    def list_webhook_endpoints(self, project_id: str) -> list[WebhookEndpoint]:
        """The project's endpoints, oldest first."""
        return [_endpoint(row) for row in self._run_rows(ws.PROJECT_ENDPOINTS, {"b_project_id": project_id})]

    def update_webhook_endpoint(self, endpoint: WebhookEndpoint) -> bool:
        """Write ``endpoint``'s url, secret, events, enabled flag and description over the stored
        one of that id and project; False when there is none."""
        params = {"b_id": endpoint.id, "b_project_id": endpoint.project_id}
        params.update({f"v_{name}": getattr(endpoint, name) for name in ws.ENDPOINT_CHANGES})
        return self._run_write(ws.UPDATE_ENDPOINT, params) == 1

    def delete_webhook_endpoint(self, endpoint_id: str, project_id: str) -> bool:
        """Delete the project's endpoint and its log in one transaction; False when there was none."""
        params = {"b_endpoint_id": endpoint_id, "b_project_id": project_id}
        counts = self._run_transaction([(statement, params) for statement in ws.DELETE_ENDPOINT])
        return bool(counts and counts[-1] == 1)

    def list_endpoint_jobs(self, endpoint_id: str, limit: int = 50) -> list[Job]:
        """What was sent (or is being sent) to the endpoint, newest first."""
        return [Job(*row) for row in self._run_rows(ws.ENDPOINT_JOBS, {"b_endpoint_id": endpoint_id, "b_limit": limit})]

    def requeue_job(self, job_id: str, due_at: dt.datetime, expires_at: dt.datetime) -> bool:
        """Queue a finished (sent or failed) webhook job again, its attempts from zero, due at
        ``due_at`` and sent until ``expires_at``; False for any other job."""
        params = {"b_id": job_id, "v_due_at": due_at, "v_expires_at": expires_at}
        return self._run_write(ws.REQUEUE_JOB, params) == 1


def _endpoint(row: object) -> WebhookEndpoint:
    values = list(row)  # type: ignore[call-overload]
    values[5] = bool(values[5])  # ``enabled``: MariaDB answers 0/1
    return WebhookEndpoint(*values)
