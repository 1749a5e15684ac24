"""Dashboard pages: a project's event webhooks (``/projects/{id}/webhooks``): its endpoints and a form
to add one, and each endpoint's page (``/webhooks/{endpoint}``) to change, disable, rotate the
signing secret of or delete it, with its delivery log and a re-send of any finished message.

``webhooks.view`` (owner, admin, developer) shows the pages; every change needs ``webhooks.manage``
(owner, admin). What an endpoint may be is ``octotp.webhooks``'s (``webhooks.endpoints``) to decide:
these views read the forms and say what it refused, naming the field. An endpoint's secret is shown
once, on the page a create or a rotation leads to (sealed in the session on the way,
``DashboardViews.show_once``), and never again.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from ..console.permissions import Access
from ..errors import FieldError, InvalidInput, NotFound
from ..http.messages import Response
from ..ids import is_uuid
from ..store import Job, WebhookEndpoint
from ..webhooks import EVENT_TYPES
from .routing import PROJECT, Route, ViewArea, route
from .views import DashboardRequest

log = logging.getLogger("octotp.dashboard")

ENDPOINT = r"(?P<endpoint_id>[^/]+)"
"""The path segment of a webhook endpoint id (a view gets it as ``endpoint_id``)."""
MESSAGE = r"(?P<job_id>[^/]+)"
"""The path segment of a webhook message (its job's id, the ``webhook-id``)."""

LABELS = {"url": "URL", "events": "Events", "description": "Description"}
"""How the pages name each field (also in their error messages)."""

LOG_LENGTH = 50
"""How many of an endpoint's newest messages its page lists."""
RESENDABLE = ("sent", "failed")
"""The states of a message that may be sent again (a queued one is still being tried)."""


def _messages(errors: list[FieldError]) -> list[str]:
    return [f"{LABELS.get(e.field, e.field.capitalize())}: {e.reason}" for e in errors]


def _detail(endpoint: WebhookEndpoint) -> str:
    """How the audit log names an endpoint: its scheme, host and description, never its path or
    query (where a receiver may keep a token of its own)."""
    parts = urlsplit(endpoint.url)  # no user name or password: core refuses URLs with them
    where = f"{parts.scheme}://{parts.netloc}"
    return f"{where} ({endpoint.description})" if endpoint.description else where


class WebhookViews(ViewArea):
    """The webhooks pages."""

    def routes(self) -> list[Route]:
        base = f"/projects/{PROJECT}/webhooks"
        return [
            route(base, GET=self.webhooks, POST=self.create_endpoint),
            route(f"{base}/{ENDPOINT}", GET=self.endpoint, POST=self.change_endpoint),
            route(f"{base}/{ENDPOINT}/secret", POST=self.rotate_secret),
            # GET asks for confirmation; POST (the confirmation's form) deletes.
            route(f"{base}/{ENDPOINT}/delete", GET=self.confirm_delete, POST=self.delete_endpoint),
            route(f"{base}/{ENDPOINT}/messages/{MESSAGE}/resend", POST=self.resend),
        ]

    # -- the list and the add form --------------------------------------------------------------
    def webhooks(self, call: DashboardRequest, project_id: str) -> Response:
        """The project's endpoints, and the form to add one."""
        access = self.access(call, project_id, "webhooks.view")
        return self._list_page(call, access, 200)

    def create_endpoint(self, call: DashboardRequest, project_id: str) -> Response:
        """Add an endpoint (no event checked: every event); its page shows the new secret once."""
        access = self.access(call, project_id, "webhooks.manage")
        form = self._form(call)
        try:
            endpoint, secret = self.octotp.webhooks.create(
                access.project.id, form["url"], form["events"].split(), form["description"]
            )
        except InvalidInput as exc:
            return self._list_page(call, access, 400, form=form, errors=_messages(exc.errors))
        self.views.audit(call, "webhook.created", project_id=access.project.id, detail=_detail(endpoint))
        log.info("dashboard webhook endpoint created project=%s endpoint=%s", access.project.id, endpoint.id)
        return self._show_secret(call, endpoint, secret)

    # -- one endpoint ---------------------------------------------------------------------------
    def endpoint(self, call: DashboardRequest, project_id: str, endpoint_id: str) -> Response:
        """The endpoint's form, its secret (only on the page a create or a rotation leads to), and its log."""
        access = self.access(call, project_id, "webhooks.view")
        endpoint = self.octotp.webhooks.get(access.project.id, endpoint_id)
        message = self.views.take_once(call, webhook_endpoint=endpoint.id)
        query = call.request.query
        return self._endpoint_page(
            call,
            access,
            endpoint,
            200,
            new_secret=message.get("secret") if message else None,
            saved=(query.get("saved") or [""])[0] == "1",
            resent=(query.get("resent") or [""])[0],
        )

    def change_endpoint(self, call: DashboardRequest, project_id: str, endpoint_id: str) -> Response:
        """Store the form's URL, events (none checked: every event), description and enabled state."""
        access = self.access(call, project_id, "webhooks.manage")
        endpoint = self.octotp.webhooks.get(access.project.id, endpoint_id)
        form = self._form(call)
        enabled = call.form("enabled") == "on"
        try:
            changed = self.octotp.webhooks.update(
                access.project.id,
                endpoint.id,
                url=form["url"],
                events=form["events"].split(),
                description=form["description"],
                enabled=enabled,
            )
        except InvalidInput as exc:
            shown = {**form, "enabled": "on" if enabled else ""}
            return self._endpoint_page(call, access, endpoint, 400, form=shown, errors=_messages(exc.errors))
        said = "" if changed.enabled == endpoint.enabled else ("; enabled" if changed.enabled else "; disabled")
        self.views.audit(call, "webhook.changed", project_id=access.project.id, detail=_detail(changed) + said)
        log.info("dashboard webhook endpoint changed project=%s endpoint=%s", access.project.id, endpoint.id)
        return call.redirect(f"{self._path(endpoint)}?saved=1")

    def rotate_secret(self, call: DashboardRequest, project_id: str, endpoint_id: str) -> Response:
        """A new signing secret (the old one stops signing at once), shown once on the endpoint's page."""
        access = self.access(call, project_id, "webhooks.manage")
        endpoint = self.octotp.webhooks.get(access.project.id, endpoint_id)
        secret = self.octotp.webhooks.rotate_secret(access.project.id, endpoint.id)
        self.views.audit(call, "webhook.secret_rotated", project_id=access.project.id, detail=_detail(endpoint))
        return self._show_secret(call, endpoint, secret)

    def confirm_delete(self, call: DashboardRequest, project_id: str, endpoint_id: str) -> Response:
        """The question before an endpoint is deleted."""
        access = self.access(call, project_id, "webhooks.manage")
        endpoint = self.octotp.webhooks.get(access.project.id, endpoint_id)
        return self.views.page(call, 200, "webhook_delete.html", project=access.project, endpoint=endpoint)

    def delete_endpoint(self, call: DashboardRequest, project_id: str, endpoint_id: str) -> Response:
        """Delete the endpoint and its log; back to the list."""
        access = self.access(call, project_id, "webhooks.manage")
        endpoint = self.octotp.webhooks.get(access.project.id, endpoint_id)
        self.octotp.webhooks.delete(access.project.id, endpoint.id)
        self.views.audit(call, "webhook.deleted", project_id=access.project.id, detail=_detail(endpoint))
        log.info("dashboard webhook endpoint deleted project=%s endpoint=%s", access.project.id, endpoint.id)
        return call.redirect(f"/projects/{access.project.id}/webhooks")

    def resend(self, call: DashboardRequest, project_id: str, endpoint_id: str, job_id: str) -> Response:
        """Send a finished message of the endpoint's log again, with the same ``webhook-id``."""
        access = self.access(call, project_id, "webhooks.manage")
        endpoint = self.octotp.webhooks.get(access.project.id, endpoint_id)
        job = self.octotp.store.get_job(job_id) if is_uuid(job_id) else None
        if job is None or job.kind != "webhook" or job.endpoint_id != endpoint.id:
            raise NotFound("no such webhook message")
        refused = f"Re-send: message {job.id} is still being sent; it can be sent again once it is sent or failed"
        if job.state not in RESENDABLE:
            return self._endpoint_page(call, access, endpoint, 409, errors=[refused])
        try:
            self.octotp.webhooks.resend(access.project.id, job.id)
        except NotFound:  # a worker or another click took it first
            return self._endpoint_page(call, access, endpoint, 409, errors=[refused])
        detail = f"{job.event_type} {job.id} to {_detail(endpoint)}"
        self.views.audit(call, "webhook.resent", project_id=access.project.id, detail=detail)
        return call.redirect(f"{self._path(endpoint)}?resent={job.id}")

    # -- rendering ------------------------------------------------------------------------------
    def _form(self, call: DashboardRequest) -> dict[str, str]:
        """The endpoint form's fields (``events``: the checked types, space-separated)."""
        checked = [e.strip() for e in call.request.form.get("events", []) if e.strip()]
        return {"url": call.form("url"), "events": " ".join(checked), "description": call.form("description")}

    def _path(self, endpoint: WebhookEndpoint) -> str:
        return f"/projects/{endpoint.project_id}/webhooks/{endpoint.id}"

    def _show_secret(self, call: DashboardRequest, endpoint: WebhookEndpoint, secret: str) -> Response:
        return self.views.show_once(call, {"webhook_endpoint": endpoint.id, "secret": secret}, self._path(endpoint))

    def _list_page(
        self,
        call: DashboardRequest,
        access: Access,
        status: int,
        *,
        form: dict[str, str] | None = None,
        errors: list[str] | None = None,
    ) -> Response:
        return self.views.page(
            call,
            status,
            "webhooks.html",
            project=access.project,
            access=access,
            endpoints=self.octotp.webhooks.for_project(access.project.id),
            event_types=EVENT_TYPES,
            form=form or {"url": "", "events": "", "description": ""},
            labels=LABELS,
            errors=errors or [],
        )

    def _endpoint_page(
        self,
        call: DashboardRequest,
        access: Access,
        endpoint: WebhookEndpoint,
        status: int,
        *,
        form: dict[str, str] | None = None,
        errors: list[str] | None = None,
        new_secret: str | None = None,
        saved: bool = False,
        resent: str = "",
    ) -> Response:
        stored = {
            "url": endpoint.url,
            "events": endpoint.events,
            "description": endpoint.description,
            "enabled": "on" if endpoint.enabled else "",
        }
        log_jobs: list[Job] = self.octotp.webhooks.log(access.project.id, endpoint.id, LOG_LENGTH)
        return self.views.page(
            call,
            status,
            "webhook.html",
            project=access.project,
            access=access,
            endpoint=endpoint,
            event_types=EVENT_TYPES,
            form=form or stored,
            labels=LABELS,
            errors=errors or [],
            new_secret=new_secret,
            saved=saved,
            resent=resent if is_uuid(resent) else "",
            jobs=log_jobs,
            log_length=LOG_LENGTH,
            resendable=RESENDABLE,
        )
