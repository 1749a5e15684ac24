"""SMS through Twilio's Programmable Messaging REST API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

``send`` returns the message SID Twilio answers with, which the outbox records as the job's
``provider_id`` and Twilio's status callbacks name. Twilio's documented refusals of a recipient
(HTTP 400 with an error ``code``) are permanent failures with a short reason; a refused login
(HTTP 401, error 20003) is one too, since no retry fixes a wrong auth token; 429, 5xx and network
errors are transient. ``twilio_signature`` is Twilio's documented request signature
(``X-Twilio-Signature``), which the status-callback endpoint checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from .failure import CONSOLE_BACKEND, origin
from .message import Message
from .outcomes import PermanentFailure

API_BASE = "https://api.twilio.com"

#: Twilio's error codes (https://www.twilio.com/docs/api/errors) for a message no retry can send,
#: and the reason a job fails with. Any other 4xx but 429 is ``rejected``.
PERMANENT_ERRORS: dict[int, str] = {
    21211: "invalid_recipient",  # Invalid 'To' Phone Number
    21612: "invalid_recipient",  # the 'To' number is not reachable (unroutable)
    21614: "invalid_recipient",  # 'To' number is not a valid mobile number
    21635: "invalid_recipient",  # 'To' number cannot be a landline
    21610: "unsubscribed",  # the recipient replied STOP to this sender
    21408: "region_not_enabled",  # permission to send an SMS has not been enabled for the region
    21608: "unverified_recipient",  # a trial account sends only to verified numbers
    20003: "provider_auth",  # authentication failed: wrong account SID or auth token
}


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature: base64 of HMAC-SHA1, keyed by the auth token, over the full URL
    Twilio called followed by each POST parameter's name and value, sorted by name."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    """Whether ``signature`` (the ``X-Twilio-Signature`` header) is Twilio's for this request."""
    if not signature:
        return False
    return hmac.compare_digest(twilio_signature(auth_token, url, params).encode(), signature.encode())


class TwilioSmsBackend:
    """Sends the body as an SMS from ``from_number`` or a Messaging Service; with
    ``status_callback_url`` Twilio reports each message's fate there (``StatusCallback``)."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str = API_BASE,
        timeout: float = 10.0,
        status_callback_url: str | None = None,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("twilio needs from_number or messaging_service_sid")
        if not api_base.startswith(("https://", "http://")):
            raise ValueError("twilio api_base must be http(s)")
        if status_callback_url is not None and not status_callback_url.startswith(("https://", "http://")):
            raise ValueError("twilio status_callback_url must be an absolute http(s) URL")
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.messaging_service_sid = from_number, messaging_service_sid
        self.api_base, self.timeout = api_base.rstrip("/"), timeout
        self.status_callback_url = status_callback_url

    @property
    def destination(self) -> str:
        """The API it posts to (named when a delivery fails)."""
        return origin(self.api_base)

    development_hint = (
        f"for development without Twilio set delivery_sms_backend (OCTOTP_DELIVERY_SMS_BACKEND) to {CONSOLE_BACKEND}"
    )

    def check(self) -> str:
        """Dry run for ``octotp check``: the settings were checked when it was built; Twilio is not
        contacted (no message is created)."""
        sender = "a Messaging Service" if self.messaging_service_sid else "from_number"
        return f"posts to {self.destination} with {sender} (settings valid; not contacted)"

    def send(self, message: Message) -> str:
        """Create the message; its SID. ``PermanentFailure`` for Twilio's refusals no retry fixes."""
        form = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number or ""
        if self.status_callback_url:
            form["StatusCallback"] = self.status_callback_url
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
            f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if response.status != 201:
                    raise RuntimeError(f"twilio answered {response.status}")
                sid = json.loads(response.read()).get("sid")
        except urllib.error.HTTPError as exc:
            reason = _permanent_reason(exc)
            if reason is None:
                raise
            raise PermanentFailure(reason) from exc
        if not isinstance(sid, str) or not sid:
            raise RuntimeError("twilio answered without a message sid")
        return sid


def _permanent_reason(error: urllib.error.HTTPError) -> str | None:
    """The reason a refusal is permanent, from Twilio's error ``code``; None when a retry may help."""
    if error.code == 429 or error.code >= 500:
        return None
    try:
        code = json.loads(error.read()).get("code")
    except (ValueError, AttributeError, OSError):
        code = None
    if isinstance(code, int) and code in PERMANENT_ERRORS:
        return PERMANENT_ERRORS[code]
    return "provider_auth" if error.code in (401, 403) else "rejected"
