"""A webhook receiver on 127.0.0.1: a real ``http.server`` in a thread that verifies each POST the
way a user's endpoint does (the ``verify`` callable raises to refuse) and answers 204, or 400 when
verification fails; it records every request and its verdict. Used by the console suite
(``console_webhooks``), the browser tests and the core and client tests."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Verify = Callable[[bytes, Mapping[str, str]], Any]


@dataclass(frozen=True)
class Received:
    """One request as it arrived: path, headers (names lower-cased), raw body, and the verdict."""

    path: str
    headers: dict[str, str]
    body: bytes
    result: Any = None
    """What ``verify`` returned (the parsed event) when it accepted the request."""
    error: BaseException | None = None
    """What ``verify`` raised when it refused the request."""
    status: int = 400
    """What the receiver answered."""


class WebhookReceiver:
    """Start with ``running(verify)``; ``url`` is the endpoint, ``received`` what arrived in order."""

    def __init__(self, verify: Verify, answers: list[int] | None = None) -> None:
        self.verify = verify
        self.received: list[Received] = []
        self.answers = list(answers or [])
        """Statuses to answer the first requests with, in order, whatever they hold (an endpoint that
        is down: 503, gone: 410); then 204 for a verified request."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    result = receiver.verify(body, headers)
                    status = receiver.answers.pop(0) if receiver.answers else 204
                except Exception as exc:
                    receiver.received.append(Received(self.path, headers, body, error=exc))
                    self.send_response(400)
                else:
                    receiver.received.append(Received(self.path, headers, body, result=result, status=status))
                    self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/octotp"

    @property
    def last(self) -> Received:
        assert self.received, "the receiver got no request"
        return self.received[-1]

    def post(self, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` with exactly ``headers`` to the receiver (a replay, a forgery); its status."""
        request = urllib.request.Request(self.url, data=body, method="POST", headers=dict(headers))  # noqa: S310 - http://127.0.0.1
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)


@contextmanager
def running(verify: Verify, answers: list[int] | None = None) -> Iterator[WebhookReceiver]:
    """A receiver serving in a thread until the block ends (``answers``: see ``WebhookReceiver``)."""
    receiver = WebhookReceiver(verify, answers)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=5)
