"""Dashboard page: a project's messages (``/projects/{id}/messages``): its own sender name, reply-to,
subject, bodies and WebOTP domain (``octotp_core.delivery.overrides``), a preview rendered with a
sample code, and a test email to the signed-in account's own address.

Every member who may see the project sees the page and the preview of what is stored; changing the
messages, previewing a draft and sending a test need ``project.configure``. The preview shows the
HTML body as escaped source, never as live markup on the dashboard page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..console.permissions import Access
from ..delivery import Message, render, sms_segments, validate_overrides
from ..delivery.failure import describe_failure
from ..delivery.overrides import FIELDS
from ..errors import FieldError, InvalidInput
from ..http.messages import Response
from ..projects import message_overrides, token_policy
from ..recipients import Recipient
from .routing import PROJECT, Route, ViewArea, route
from .views import DashboardRequest

log = logging.getLogger("octotp.dashboard")

LABELS = {
    "sender_name": "Sender name",
    "reply_to": "Reply-to",
    "subject": "Subject",
    "text": "Text",
    "html": "HTML",
    "sms": "SMS",
    "webotp_domain": "WebOTP domain",
    "message_overrides": "Messages",
}
"""How the page names each setting (also in its error messages)."""

SAMPLE_CODE = "1234567890"
"""The preview's and the test email's code: its first ``code_length`` digits (it is no real code)."""

ACTIONS = ("save", "preview", "test")


@dataclass(frozen=True)
class Preview:
    """The messages a project's settings make, with the sample code."""

    email: Message
    sms: Message
    sms_encoding: str
    sms_segments: int


def _messages(errors: list[FieldError]) -> list[str]:
    return [f"{LABELS.get(e.field, e.field)}: {e.reason}" for e in errors]


class MessageViews(ViewArea):
    """The messages page."""

    def routes(self) -> list[Route]:
        return [route(f"/projects/{PROJECT}/messages", GET=self.messages, POST=self.change_messages)]

    def messages(self, call: DashboardRequest, project_id: str) -> Response:
        """The form with the stored settings, and their preview."""
        access = self.access(call, project_id, "project.view")
        stored = message_overrides(access.project)
        values = {field: value if isinstance(value := stored.get(field), str) else "" for field in FIELDS}
        saved = (call.request.query.get("saved") or [""])[0] == "1"
        return self._page(call, access, values, 200, preview=self._preview(access, values), saved=saved)

    def change_messages(self, call: DashboardRequest, project_id: str) -> Response:
        """``action=save`` stores the form's settings, ``preview`` renders them without storing,
        ``test`` emails their message (with the sample code) to the signed-in account's own address."""
        access = self.access(call, project_id, "project.configure")
        values = {field: call.form(field) for field in FIELDS}
        action = call.form("action") or "save"
        if action not in ACTIONS:
            return self._page(call, access, values, 400, errors=[f"Action: must be one of {', '.join(ACTIONS)}"])
        if action == "save":
            try:
                self.octotp.accounts.set_message_overrides(access.project.id, values)
            except InvalidInput as exc:
                return self._page(call, access, values, 400, errors=_messages(exc.errors))
            self.views.audit(call, "project.messages_changed", project_id=access.project.id)
            log.info("dashboard project messages changed project=%s", access.project.id)
            return call.redirect(f"/projects/{access.project.id}/messages?saved=1")
        errors = validate_overrides(values, project=access.project.name)
        if errors:
            return self._page(call, access, values, 400, errors=_messages(errors))
        preview = self._preview(access, values)
        if action == "preview":
            return self._page(call, access, values, 200, preview=preview)
        return self._send_test(call, access, values, preview)

    # -- the preview and the test ------------------------------------------------------------
    def _preview(self, access: Access, values: dict[str, str]) -> Preview:
        project = access.project
        policy = token_policy(project, self.octotp.settings)
        code = SAMPLE_CODE[: policy.code_length]
        email = render("email", access.account.email, code, project.name, policy.expiry_default, None, overrides=values)
        sms = render("sms", "+15005550006", code, project.name, policy.expiry_default, None, overrides=values)
        size = sms_segments(sms.body)
        return Preview(email, sms, size.encoding, size.segments)

    def _send_test(self, call: DashboardRequest, access: Access, values: dict[str, str], preview: Preview) -> Response:
        to = access.account.email
        hint = Recipient("email", to.lower()).hint
        if to.lower().endswith(".invalid"):  # a host user without an email address of their own
            error = "Test: your account has no email address to send a test to"
            return self._page(call, access, values, 400, preview=preview, errors=[error])
        backend = self.octotp.tokens.backends["email"]
        try:
            backend.send(preview.email)
        except Exception as exc:
            log.warning(
                "dashboard test message failed project=%s to=%s %s",
                access.project.id,
                hint,
                describe_failure(backend, exc),
            )
            error = "Test: the test email could not be sent (the server's log says why)"
            return self._page(call, access, values, 502, preview=preview, errors=[error])
        log.info("dashboard test message sent project=%s to=%s", access.project.id, hint)
        return self._page(call, access, values, 200, preview=preview, sent_to=hint)

    def _page(
        self,
        call: DashboardRequest,
        access: Access,
        values: dict[str, str],
        status: int,
        *,
        preview: Preview | None = None,
        errors: list[str] | None = None,
        sent_to: str | None = None,
        saved: bool = False,
    ) -> Response:
        return self.views.page(
            call,
            status,
            "messages.html",
            project=access.project,
            access=access,
            values=values,
            labels=LABELS,
            preview=preview,
            errors=errors or [],
            sent_to=sent_to,
            saved=saved,
        )
