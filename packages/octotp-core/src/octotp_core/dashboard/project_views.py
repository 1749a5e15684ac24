"""Dashboard pages: a project's tokens (search, filter, pages), the confirmation before revoking a
key, deleting a project, and the audit logs (a project's and the signed-in account's own)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..console.audit import describe
from ..console.permissions import Access
from ..errors import FieldError, InvalidInput, NotFound
from ..http.messages import Response
from ..states import TOKEN_STATES
from ..store import AuditEvent, Project
from ..tokens import CHANNELS
from .paging import fetch_page, page_link, page_number
from .routing import PROJECT, Route, ViewArea, route
from .token_rows import with_delivery
from .token_search import TokenSearch, read_search, recipient_match
from .views import DashboardRequest

log = logging.getLogger("octotp.dashboard")

KEY = r"(?P<key_id>[^/]+)"
"""The path segment of an API key id (a view gets it as ``key_id``)."""


def _messages(errors: list[FieldError]) -> list[str]:
    """How a page says what is wrong: the field, then why."""
    return [f"{e.field.capitalize()}: {e.reason}" for e in errors]


class ProjectViews(ViewArea):
    """The project pages."""

    def routes(self) -> list[Route]:
        return [
            route(f"/projects/{PROJECT}/tokens", GET=self.tokens, POST=self.search_tokens),
            # GET asks for confirmation; POST (the confirmation's form) revokes.
            route(f"/projects/{PROJECT}/keys/{KEY}/revoke", GET=self.confirm_revoke, POST=self.views.revoke_key),
            route(f"/projects/{PROJECT}/delete", GET=self.confirm_delete, POST=self.delete_project),
            route(f"/projects/{PROJECT}/audit", GET=self.project_audit),
            route("/account/activity", GET=self.account_activity),
        ]

    # -- tokens ------------------------------------------------------------------------------
    def tokens(self, call: DashboardRequest, project_id: str) -> Response:
        """The token list: ``?match=<recipient digest>&state=&purpose=&channel=&page=`` (all optional)."""
        access = self.access(call, project_id, "tokens.view")
        search, errors = read_search(lambda name: (call.request.query.get(name) or [""])[0])
        return self._token_page(call, access, search, errors)

    def search_tokens(self, call: DashboardRequest, project_id: str) -> Response:
        """The search form: a recipient typed in full becomes its digest, and the answer is a redirect
        to the list's link for the search (which carries the digest, never the recipient)."""
        access = self.access(call, project_id, "tokens.view")
        search, errors = read_search(call.form)
        typed = call.form("recipient").strip()
        if typed:
            try:
                search = TokenSearch(
                    recipient_match(self.octotp.tokens, access.project.id, typed),
                    search.state,
                    search.purpose,
                    search.channel,
                )
            except InvalidInput as exc:
                errors = [*exc.errors, *errors]
        if errors:
            return self._token_page(call, access, search, errors, recipient=typed)
        return call.redirect(page_link(self._tokens_path(access.project), search.params()))

    def _tokens_path(self, project: Project) -> str:
        return f"/projects/{project.id}/tokens"

    def _token_page(
        self,
        call: DashboardRequest,
        access: Access,
        search: TokenSearch,
        errors: list[FieldError],
        *,
        recipient: str = "",
    ) -> Response:
        project = access.project
        try:
            number = page_number((call.request.query.get("page") or [""])[0])
        except InvalidInput as exc:
            errors, number = [*errors, *exc.errors], 1
        now = self.octotp.clock.now()
        store, token_filter = self.octotp.store, search.token_filter()
        page = fetch_page(
            lambda limit, offset: store.list_tokens(project.id, limit, offset, token_filter=token_filter, now=now),
            number,
            call.base + self._tokens_path(project),
            search.params(),
        )
        return self.views.page(
            call,
            400 if errors else 200,
            "tokens.html",
            project=project,
            access=access,
            search=search,
            recipient=recipient,
            searched_hint=page.rows[0].recipient_hint if search.match and page.rows else None,
            states=TOKEN_STATES,
            channels=CHANNELS,
            page=page,
            tokens=[] if errors else with_delivery(store, page.rows, now),
            errors=_messages(errors),
        )

    # -- keys --------------------------------------------------------------------------------
    def confirm_revoke(self, call: DashboardRequest, project_id: str, key_id: str) -> Response:
        """Asks before revoking: the key's name, prefix and when it was last used."""
        access = self.access(call, project_id, "keys.manage")
        key = next(
            (k for k in self.octotp.store.list_api_keys(access.project.id) if k.id == key_id and k.revoked_at is None),
            None,
        )
        if key is None:
            raise NotFound("no such API key")
        return self.views.page(
            call,
            200,
            "revoke_key.html",
            project=access.project,
            key=key,
            cache_seconds=self.octotp.settings.api_key_cache_seconds,
        )

    # -- deleting a project ------------------------------------------------------------------
    def confirm_delete(
        self, call: DashboardRequest, project_id: str, *, status: int = 200, error: str = ""
    ) -> Response:
        """Asks the owner to type the project's name before it is deleted."""
        access = self.access(call, project_id, "project.delete")
        project = access.project
        keys = [k for k in self.octotp.store.list_api_keys(project.id) if k.revoked_at is None]
        return self.views.page(
            call,
            status,
            "delete_project.html",
            project=project,
            active_keys=len(keys),
            cache_seconds=self.octotp.settings.api_key_cache_seconds,
            error=error,
        )

    def delete_project(self, call: DashboardRequest, project_id: str) -> Response:
        """Deletes the project once its exact name is typed: its keys stop working at once, its tokens,
        usage, members and invitations are gone; the audit log keeps the event (in the owner's log)."""
        access = self.access(call, project_id, "project.delete")
        project = access.project
        if call.form("name") != project.name:
            error = "Name: type the project's name exactly as it is shown to delete it"
            return self.confirm_delete(call, project_id, status=400, error=error)
        self.octotp.accounts.delete_project(project.id)
        assert call.active is not None
        self.octotp.audit.record(
            "project.deleted",
            actor=call.active.account,
            project_id=project.id,
            # The owner's log keeps it (the project's own log can no longer be opened).
            account_id=project.owner_id or call.active.account.id,
            detail=project.name,
            address=call.request.client,
        )
        log.info("dashboard project deleted project=%s account=%s", project.id, call.active.account.id)
        return call.redirect("/")

    # -- audit logs --------------------------------------------------------------------------
    def project_audit(self, call: DashboardRequest, project_id: str) -> Response:
        """The project's audit log, newest first."""
        access = self.access(call, project_id, "audit.view")
        project = access.project
        return self._audit_page(
            call,
            f"Audit log of {project.name}",
            f"/projects/{project.id}/audit",
            lambda limit, offset: self.octotp.audit.for_project(project.id, limit, offset),
            project=project,
        )

    def account_activity(self, call: DashboardRequest) -> Response:
        """The signed-in account's own log: what it did, and what was done to it."""
        assert call.active is not None
        account = call.active.account
        return self._audit_page(
            call,
            "Your account's activity",
            "/account/activity",
            lambda limit, offset: self.octotp.audit.for_account(account.id, limit, offset),
            project=None,
        )

    def _audit_page(
        self,
        call: DashboardRequest,
        title: str,
        path: str,
        fetch: Callable[[int, int], list[AuditEvent]],
        *,
        project: Project | None,
    ) -> Response:
        try:
            number = page_number((call.request.query.get("page") or [""])[0])
        except InvalidInput as exc:
            page, events, errors = None, [], _messages(exc.errors)
        else:
            page = fetch_page(fetch, number, call.base + path, {})
            events, errors = [(event, describe(event)) for event in page.rows], []
        return self.views.page(
            call,
            400 if errors else 200,
            "audit.html",
            title=title,
            project=project,
            page=page,
            events=events,
            errors=errors,
            retention_days=self.octotp.settings.audit_retention_days,
        )
