"""A steady create load on a live server, for the tests that purge or back up under traffic."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient

# No plan or recipient budget is reached by the load (each create has its own recipient).
LIMITS = {
    "OCTOTP_PLANS": json.dumps({"load": {"creates_per_minute": 10_000_000}}),
    "OCTOTP_DEFAULT_PLAN": "load",
}


def load_environment(data_dir: Path, secret: str) -> dict[str, str]:
    """The environment of an ``octotp serve`` on ``data_dir`` whose projects are on the load's plan."""
    return {"OCTOTP_DATA_DIR": str(data_dir), "OCTOTP_SECRET_KEY": secret, **LIMITS}


def load_octotp(data_dir: Path, secret: str) -> Octotp:
    """An in-process ``Octotp`` on the same data as ``load_environment``'s server (to migrate, make
    the project and seed rows before the server starts)."""
    plans = json.loads(LIMITS["OCTOTP_PLANS"])
    return Octotp(Settings(data_dir=data_dir, secret_key=secret, default_plan="load", plans=plans))


class CreateLoad:
    """Creates through HTTP in a thread, each for a new recipient, until stopped; every status kept."""

    def __init__(self, url: str, project_id: str, api_key: str) -> None:
        self.client = UrlClient(url, timeout=30)
        self.headers = {"Content-Type": "application/json", "X-Api-Key": api_key}
        self.project_id = project_id
        self.statuses: list[int] = []
        self.done = threading.Event()
        self.count = threading.Semaphore(0)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.is_set():
            body = {"projectId": self.project_id, "recipientEmail": f"load-{uuid.uuid4().hex[:12]}@example.com"}
            answer = self.client.request("POST", "/api/tokens", headers=self.headers, body=json.dumps(body).encode())
            self.statuses.append(answer.status)
            self.count.release()

    def wait_for(self, creates: int) -> None:
        for _ in range(creates):
            assert self.count.acquire(timeout=60), "the load stalled"
