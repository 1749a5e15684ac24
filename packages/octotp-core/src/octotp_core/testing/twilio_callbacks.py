"""One end-to-end check of Twilio's status callbacks against a live server, for every adapter.

``check_status_callbacks(base_url, octotp, twilio, phone)``: through the server's token API a
code is created with ``send: true`` (``delivery_mode="queue"``: the server's worker sends it to the
test Twilio), then the test Twilio posts its status callbacks over real HTTP, signed as Twilio signs
them for the public URL the backend gave it (``status_callback_url``), while the request itself goes
to ``base_url``'s origin with the public URL's path, as a proxy forwards it. Checked: ``sent``
changes nothing, ``delivered`` is recorded and shown by ``GET /api/tokens/{id}``, a forged or
missing signature is a 403 problem, an unknown SID a 404 problem.
"""

from __future__ import annotations

import json
import time
import urllib.parse

from ..core import Octotp
from ..delivery.twilio import twilio_signature
from .http_clients import UrlClient
from .twilio_server import SentMessage, TwilioServer, post_signed

STATUS_PATH = "/api/delivery/twilio/status"


def _sent(twilio: TwilioServer, phone: str, timeout: float = 15.0) -> SentMessage:
    deadline = time.monotonic() + timeout
    while not twilio.to(phone):
        if time.monotonic() > deadline:
            raise AssertionError("the worker sent nothing to the test Twilio")
        time.sleep(0.05)
    return twilio.to(phone)[0]


def _delivery(client: UrlClient, key: str, token_id: str) -> dict[str, object]:
    answer = client.request("GET", f"/api/tokens/{token_id}", headers={"X-Api-Key": key})
    assert answer.status == 200, answer.body
    delivery: dict[str, object] = json.loads(answer.body)["delivery"]
    return delivery


def check_status_callbacks(base_url: str, octotp: Octotp, twilio: TwilioServer, phone: str) -> None:
    """Run the checks above against the server at ``base_url`` (``octotp`` is its core)."""
    created = octotp.accounts.create_project("Twilio callbacks")
    key, project = created.api_key.secret, created.project.id
    client = UrlClient(base_url, timeout=10)
    body = json.dumps({"projectId": project, "recipientPhone": phone, "send": True}).encode()
    answer = client.request(
        "POST", "/api/tokens", headers={"X-Api-Key": key, "Content-Type": "application/json"}, body=body
    )
    assert answer.status == 201, answer.body
    token_id = json.loads(answer.body)["id"]
    message = _sent(twilio, phone)
    server = urllib.parse.urlsplit(base_url)
    origin = f"{server.scheme}://{server.netloc}"  # where the proxy forwards the public URL's path
    deadline = time.monotonic() + 10
    while _delivery(client, key, token_id)["state"] != "sent":  # the worker records the SID after Twilio's 201
        assert time.monotonic() < deadline, "the job was never marked sent"
        time.sleep(0.05)

    status, _ = twilio.callback(message, "sent", via=origin)
    assert status == 204
    assert _delivery(client, key, token_id)["state"] == "sent"

    public = message.form["StatusCallback"]
    path = urllib.parse.urlsplit(public).path  # with the host's prefix, when octotp is mounted under one
    params = {"MessageSid": message.sid, "MessageStatus": "delivered"}
    forged = twilio_signature("not-the-auth-token", public, params.items())
    for signature in (None, forged):
        status, raw = post_signed(origin + path, params, signature)
        assert status == 403, raw
        assert json.loads(raw)["code"] == "invalid_signature"
    assert _delivery(client, key, token_id)["state"] == "sent"

    unknown = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    status, raw = post_signed(origin + path, unknown, twilio_signature(twilio.auth_token, public, unknown.items()))
    assert status == 404, raw
    assert json.loads(raw)["code"] == "not_found"

    status, _ = twilio.callback(message, "delivered", via=origin)
    assert status == 204
    delivery = _delivery(client, key, token_id)
    assert delivery["state"] == "delivered"
    assert delivery["deliveredAt"] is not None
