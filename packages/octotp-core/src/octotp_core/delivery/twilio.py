"""SMS through Twilio's Programmable Messaging REST API (``POST /2010-04-01/Accounts/{sid}/Messages.json``)."""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request

from .failure import CONSOLE_BACKEND, origin
from .message import Message

API_BASE = "https://api.twilio.com"


class TwilioSmsBackend:
    """Sends the body as an SMS from ``from_number`` or a Messaging Service."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str = API_BASE,
        timeout: float = 10.0,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("twilio needs from_number or messaging_service_sid")
        if not api_base.startswith(("https://", "http://")):
            raise ValueError("twilio api_base must be http(s)")
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.messaging_service_sid = from_number, messaging_service_sid
        self.api_base, self.timeout = api_base.rstrip("/"), timeout

    @property
    def destination(self) -> str:
        """The API it posts to (named when a delivery fails)."""
        return origin(self.api_base)

    development_hint = (
        f"for development without Twilio set delivery_sms_backend (OCTOTP_DELIVERY_SMS_BACKEND) to {CONSOLE_BACKEND}"
    )

    def send(self, message: Message) -> None:
        form = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number or ""
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
            f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if response.status != 201:
                raise RuntimeError(f"twilio answered {response.status}")
