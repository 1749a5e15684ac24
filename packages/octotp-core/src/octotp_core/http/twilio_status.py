"""``POST /api/delivery/twilio/status``: Twilio's status callbacks, checked with Twilio's request
signature and recorded on the message's job; once recorded, the listeners are told
``delivery.delivered`` or ``delivery.failed`` (reason ``twilio_<code>``).

Twilio signs the URL it calls, so the URL checked is the one octotp gave it: the Twilio backend's
``status_callback_url``, else ``public_url`` + this path (for a callback set on a Messaging Service
in Twilio's console). Never the request's ``Host``: a proxy in front changes it.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

from pydantic import ValidationError

from ..core import Octotp
from ..delivery.twilio import TwilioSmsBackend, signature_valid
from ..errors import FieldError, InvalidInput
from ..events import notify
from ..store import Job
from ..tokens import EventKind, TokenEvent
from .bodies import FORM, body_refusal
from .messages import Request, Response
from .models import TwilioStatusCallback
from .problems import problem, problem_for
from .routes import TWILIO_STATUS_PATH

log = logging.getLogger("octotp.delivery")

_FAILED = {"failed", "undelivered"}
_ERROR_CODE = re.compile(r"^\d{1,10}$")


def _tell(octotp: Octotp, job: Job, kind: EventKind, reason: str | None = None) -> None:
    """Tell the listeners what the provider reported, once the store recorded it (a repeated or
    out-of-order callback changes no row and tells nothing): the masked recipient, never the code."""
    if job.kind != "code":
        return
    token = octotp.store.get_token(job.token_id) if job.token_id else None
    hint, purpose = (token.recipient_hint, token.purpose) if token is not None else ("", "")
    notify(octotp.outbox.listeners, TokenEvent(kind, job.project_id, job.token_id, hint, purpose, reason=reason))


def signed_url(octotp: Octotp, backend: TwilioSmsBackend) -> str | None:
    """The URL Twilio signs its status callbacks with (None when octotp cannot know it)."""
    if backend.status_callback_url:
        return backend.status_callback_url
    public = octotp.settings.public_url
    return public.rstrip("/") + TWILIO_STATUS_PATH if public else None


def twilio_status(octotp: Octotp, request: Request, request_id: str, max_body: int) -> Response:
    """Check one status callback and record what it says; a problem response when it is refused."""
    backend = octotp.outbox.backends.get("sms")
    if not isinstance(backend, TwilioSmsBackend):
        return problem(404, "not_found", "Twilio is not this server's SMS backend", request_id)
    refusal = body_refusal(request, FORM, max_body)
    if refusal is not None:
        return problem(*refusal, request_id)
    try:
        params = urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        params = None
    url = signed_url(octotp, backend)
    if (
        params is None
        or url is None
        or not signature_valid(backend.auth_token, url, params, request.header("x-twilio-signature"))
    ):
        log.warning(
            "twilio status callback refused request_id=%s reason=%s",
            request_id,
            "no_public_url" if url is None else "invalid_signature",
        )
        detail = "the X-Twilio-Signature header is missing or not Twilio's signature of this request"
        return problem(403, "invalid_signature", detail, request_id)
    try:
        form = TwilioStatusCallback.model_validate(dict(params))
    except ValidationError as exc:
        fields = [FieldError(".".join(str(p) for p in e["loc"]) or "body", str(e["msg"])) for e in exc.errors()]
        return problem_for(InvalidInput(fields), request_id, field_name=str)
    job = octotp.store.get_provider_job(form.MessageSid)
    if job is None:
        return problem(404, "not_found", "no message with this MessageSid", request_id)
    status = form.MessageStatus.lower()
    if status == "delivered":
        if octotp.store.provider_update(form.MessageSid, "delivered", delivered_at=octotp.clock.now()):
            _tell(octotp, job, "delivery.delivered")
    elif status in _FAILED:
        code = form.ErrorCode if form.ErrorCode and _ERROR_CODE.match(form.ErrorCode) else "unknown"
        if octotp.store.provider_update(form.MessageSid, "failed", reason=f"twilio_{code}"):
            _tell(octotp, job, "delivery.failed", f"twilio_{code}")
    shown = re.sub(r"[^a-z_-]", "?", status[:32])
    log.info("twilio status callback job=%s token=%s status=%s", job.id, job.token_id, shown)
    return Response(204)
