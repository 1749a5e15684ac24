"""A local Twilio for tests: an HTTP server on 127.0.0.1 that checks the exact request Twilio's
Messages API documents and answers as Twilio does, then sends status callbacks signed as Twilio
signs them.

The request: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP basic auth
``AccountSid:AuthToken``, an ``application/x-www-form-urlencoded`` body with ``To``, ``Body``, one of
``From`` or ``MessagingServiceSid``, and an optional ``StatusCallback``. The answer: 201 with the
message resource as JSON (``sid`` ``SM`` + 32 hex digits, ``status`` ``queued``, or ``accepted``
through a Messaging Service), or Twilio's error body ``{"code", "message", "more_info", "status"}``:
401/20003 for a wrong login, 400 with 21604/21602/21603 for a missing field and, for the ``To``
numbers Twilio's test credentials document, their errors (``+15005550001`` 21211 invalid,
``+15005550002`` 21612 unroutable, ``+15005550003`` 21408 region not enabled, ``+15005550004``
21610 unsubscribed, ``+15005550009`` 21614 not a mobile number); any ``To`` that is not E.164 is
21211 too. ``fail_next`` holds statuses (``503``, ``429``) answered to the next requests instead.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..delivery.twilio import twilio_signature

E164 = re.compile(r"^\+[1-9]\d{1,14}$")

#: ``To`` numbers of Twilio's test credentials and the errors Twilio answers for them.
MAGIC_NUMBERS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number"),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


def new_sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex digits (34 characters)."""
    return prefix + secrets.token_hex(16)


@dataclass
class SentMessage:
    """A message the test Twilio accepted: the form as posted and the resource it answered."""

    form: dict[str, str]
    resource: dict[str, Any]

    @property
    def sid(self) -> str:
        return str(self.resource["sid"])


@dataclass
class TwilioServer:
    """Twilio's Messages API on 127.0.0.1 for one account (``account_sid``, ``auth_token``)."""

    account_sid: str = field(default_factory=lambda: new_sid("AC"))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    fail_next: list[int] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    refused: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The API base (``api_base`` of ``TwilioSmsBackend``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TwilioServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which a server never started runs not
            self._server.shutdown()
        self._server.server_close()

    def backend_options(self, **extra: Any) -> dict[str, Any]:
        """``delivery_options["twilio"]`` that send through this server."""
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": "+15005550006",
            "api_base": self.url,
            **extra,
        }

    def delivery_settings(self, **extra: Any) -> dict[str, Any]:
        """Settings that send octotp's SMS through this server."""
        return {
            "delivery_sms_backend": "octotp_core.delivery.twilio.TwilioSmsBackend",
            "delivery_options": {"twilio": self.backend_options(**extra)},
        }

    def to(self, number: str) -> list[SentMessage]:
        """Every message accepted for ``number``, oldest first."""
        with self.lock:
            return [m for m in self.messages if m.form["To"] == number]

    def callback(
        self,
        message: SentMessage,
        status: str,
        *,
        error_code: int | None = None,
        url: str | None = None,
        via: str | None = None,
    ) -> tuple[int, bytes]:
        """POST the status callback Twilio sends for ``message`` to its ``StatusCallback`` (or
        ``url``), signed with ``X-Twilio-Signature``; the answer's status and body.

        ``via`` (``http://127.0.0.1:8000``) is where the request really goes, as a reverse proxy in
        front of the app forwards it: the signed URL's path and query kept, the signature still
        over the public URL Twilio called."""
        target = url or message.form["StatusCallback"]
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.form.get("From", ""),
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.form["To"],
        }
        if "MessagingServiceSid" in message.form:
            params["MessagingServiceSid"] = message.form["MessagingServiceSid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        signature = twilio_signature(self.auth_token, target, params.items())
        if via is not None:
            parts = urllib.parse.urlsplit(target)
            target = via.rstrip("/") + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
        return post_signed(target, params, signature)


def post_signed(url: str, params: dict[str, str], signature: str | None) -> tuple[int, bytes]:
    """POST ``params`` as a form to ``url`` with ``X-Twilio-Signature: signature`` (none when None);
    the status and body of the answer."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "User-Agent": "TwilioProxy/1.1"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(  # noqa: S310 - a test's own URL
        url, data=urllib.parse.urlencode(params).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": status}


def _handler(twilio: TwilioServer) -> type[BaseHTTPRequestHandler]:
    path = f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    login = "Basic " + base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            if status >= 400:  # recorded before the answer leaves, so a test reading it after sees it
                with twilio.lock:
                    twilio.refused.append((status, body))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(405, _error(20004, "Method not allowed", 405))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with twilio.lock:
                failure = twilio.fail_next.pop(0) if twilio.fail_next else None
            if failure is not None:
                self._answer(failure, _error(20429 if failure == 429 else 20500, "Service unavailable", failure))
                return
            if self.path != path:
                self._answer(404, _error(20404, "The requested resource was not found", 404))
                return
            if self.headers.get("Authorization") != login:
                self._answer(
                    401,
                    {**_error(20003, "Authenticate", 401), "detail": "Your AccountSid or AuthToken was incorrect."},
                    {"WWW-Authenticate": 'Basic realm="Twilio API"'},
                )
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type != "application/x-www-form-urlencoded":
                self._answer(400, _error(21604, "A 'To' phone number is required.", 400))
                return
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
            self._create(form)

        def _create(self, form: dict[str, str]) -> None:
            to = form.get("To", "")
            if not to:
                self._answer(400, _error(21604, "A 'To' phone number is required.", 400))
            elif not form.get("Body"):
                self._answer(400, _error(21602, "Message body is required.", 400))
            elif not (form.get("From") or form.get("MessagingServiceSid")):
                self._answer(400, _error(21603, "A 'From' or 'MessagingServiceSid' parameter is required.", 400))
            elif "StatusCallback" in form and not form["StatusCallback"].startswith(("http://", "https://")):
                self._answer(400, _error(21609, "Invalid StatusCallback", 400))
            elif to in MAGIC_NUMBERS:
                code, text = MAGIC_NUMBERS[to]
                self._answer(400, _error(code, text.format(to=to), 400))
            elif not E164.match(to):
                self._answer(400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400))
            else:
                resource = self._resource(form)
                with twilio.lock:
                    twilio.messages.append(SentMessage(form, resource))
                self._answer(201, resource)

        def _resource(self, form: dict[str, str]) -> dict[str, Any]:
            sid = new_sid("SM")
            now = format_datetime(dt.datetime.now(dt.timezone.utc), usegmt=True)
            service = form.get("MessagingServiceSid")
            return {
                "account_sid": twilio.account_sid,
                "api_version": "2010-04-01",
                "body": form["Body"],
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": service,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "accepted" if service else "queued",
                "subresource_uris": {"media": f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{sid}/Media.json"},
                "to": form["To"],
                "uri": f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{sid}.json",
            }

    return Handler
