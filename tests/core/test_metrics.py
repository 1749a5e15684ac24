"""Core's metrics (issue 17): off costs nothing (no-op hooks, nothing imported, nothing wrapped); on,
deliveries, the outbox's depth and storage failures are counted, and the scrape needs the token."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from octotp_core import Octotp, Settings
from octotp_core.delivery.smtp import SmtpBackend
from octotp_core.http import ApiHandler, Request, metrics_response
from octotp_core.metrics import NO_METRICS, TimedHasher, render_metrics
from octotp_core.testing.databases import migrated_sqlite_url
from tests.metrics_samples import TOKEN, samples

OFF_AND_ABSENT = """
import json, sys, tempfile
sys.modules["opentelemetry"] = None  # the API not installed: importing it fails
from octotp_core import Octotp, Settings
from octotp_core.delivery import plain_send
from octotp_core.http import ApiHandler, Request
from octotp_core.metrics import NO_METRICS
d = tempfile.mkdtemp()
octotp = Octotp(Settings(data_dir=d, secret_key="s" * 32))
octotp.migrate()
created = octotp.accounts.create_project("off")
body = json.dumps({"projectId": created.project.id, "recipientEmail": "off@example.com"}).encode()
headers = {"Content-Type": "application/json", "X-Api-Key": created.api_key.secret}
answer = ApiHandler(octotp).handle(Request("POST", "/api/tokens", headers, body))
print(json.dumps({
    "status": answer.status,
    "no_metrics": octotp.metrics is NO_METRICS,
    "prometheus": sorted(m for m in sys.modules if m.startswith("prometheus_client")),
    "otel": sorted(m for m in sys.modules if m.startswith("opentelemetry") and sys.modules[m] is not None),
    "hasher": type(octotp.hasher).__name__,
    "store": type(octotp.tokens.store).__name__,
    "create_wrapped": "create" in vars(octotp.tokens),
    "plain_send": octotp.tokens.send is plain_send and octotp.outbox.send is plain_send,
    "listeners": len(octotp.tokens.listeners),
}))
octotp.close()
sys.modules["prometheus_client"] = None  # the extra not installed, metrics asked for
try:
    Octotp(Settings(data_dir=d, secret_key="s" * 32, metrics_enabled=True, metrics_token="t" * 32))
except RuntimeError as exc:
    print(exc)
"""


def test_off_and_without_opentelemetry_nothing_is_imported_or_wrapped() -> None:
    done = subprocess.run(
        [sys.executable, "-c", OFF_AND_ABSENT], capture_output=True, text=True, timeout=120, check=True
    )
    *_, line, refusal = done.stdout.strip().splitlines()
    facts = json.loads(line)
    assert facts == {
        "status": 201,
        "no_metrics": True,
        "prometheus": [],
        "otel": [],
        "hasher": "Argon2CodeHasher",
        "store": "SqlAlchemyStore",
        "create_wrapped": False,
        "plain_send": True,
        "listeners": 1,  # the event webhooks' only
    }
    assert refusal == "metrics_enabled needs prometheus-client: pip install 'octotp-core[metrics]'"


@pytest.fixture
def metered(tmp_path: Path, make_settings: Callable[..., Settings]) -> Callable[..., Octotp]:
    made: list[Octotp] = []

    def make(**overrides: object) -> Octotp:
        values = {"database_url": migrated_sqlite_url(tmp_path / f"m{len(made)}.db"), "metrics_enabled": True}
        values.update(metrics_token=TOKEN, **overrides)
        octotp = Octotp(make_settings(**values))
        made.append(octotp)
        return octotp

    yield make  # type: ignore[misc]
    for octotp in made:
        octotp.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _create(octotp: Octotp, project_id: str, key: str, email: str, **extra: object) -> int:
    body = json.dumps({"projectId": project_id, "recipientEmail": email, **extra}).encode()
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    return ApiHandler(octotp).handle(Request("POST", "/api/tokens", headers, body)).status


def _scrape(octotp: Octotp) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples(render_metrics(octotp.metrics, octotp.store).decode())


def test_on_the_hooks_are_real(metered: Callable[..., Octotp]) -> None:
    octotp = metered()
    assert octotp.metrics is not NO_METRICS
    hasher = octotp.hasher  # the timed hasher, inside the traced one when a tracer provider is set
    assert isinstance(hasher, TimedHasher) or isinstance(getattr(hasher, "inner", None), TimedHasher)
    assert octotp.metrics.token_event in octotp.tokens.listeners


def test_deliveries_are_counted_by_channel_and_outcome(metered: Callable[..., Octotp]) -> None:
    octotp = metered()
    created = octotp.accounts.create_project("deliveries")
    project, key = created.project.id, created.api_key.secret
    sent, error = (
        ("octotp_deliveries_total", (("channel", "email"), ("outcome", "sent"))),
        (
            "octotp_deliveries_total",
            (("channel", "email"), ("outcome", "error")),
        ),
    )
    before = _scrape(octotp)
    assert _create(octotp, project, key, "one@example.com", send=True) == 201  # the console backend
    octotp.tokens.backends["email"] = SmtpBackend(host="127.0.0.1", port=_closed_port(), timeout=5)
    assert _create(octotp, project, key, "two@example.com", send=True) == 502
    after = _scrape(octotp)
    assert after[sent] - before.get(sent, 0) == 1
    assert after[error] - before.get(error, 0) == 1


def test_the_outbox_depth_is_read_on_scrape(metered: Callable[..., Octotp]) -> None:
    octotp = metered(delivery_mode="queue")
    created = octotp.accounts.create_project("queue")
    for i in range(3):
        assert _create(octotp, created.project.id, created.api_key.secret, f"q{i}@example.com", send=True) == 201
    assert _scrape(octotp)["octotp_delivery_jobs", (("state", "queued"),)] == 3
    assert octotp.outbox.run_once("test") == 3
    found = _scrape(octotp)
    assert found["octotp_delivery_jobs", (("state", "queued"),)] == 0
    assert found["octotp_delivery_jobs", (("state", "sending"),)] == 0


def test_storage_failures_are_counted_by_storage(metered: Callable[..., Octotp], tmp_path: Path) -> None:
    redis_errors, database_errors = ("octotp_redis_errors_total", ()), ("octotp_database_errors_total", ())
    # Redis refusing connections (nothing listens on the port): the create is a 503.
    limits_down = metered(rate_limit_storage=f"redis://127.0.0.1:{_closed_port()}/0")
    created = limits_down.accounts.create_project("limits down")
    before = _scrape(limits_down)
    assert _create(limits_down, created.project.id, created.api_key.secret, "r@example.com") == 503
    assert _scrape(limits_down)[redis_errors] - before[redis_errors] == 1
    # A database that cannot be opened: an anonymous validate's project lookup fails, a 503 again.
    database_down = metered(database_url=f"sqlite:///{tmp_path / 'missing' / 'octotp.db'}")
    before = _scrape(limits_down)
    body = {"projectId": "00000000-0000-4000-8000-000000000000", "recipientEmail": "d@example.com", "code": "123456"}
    request = Request("POST", "/api/tokens/validate", {"Content-Type": "application/json"}, json.dumps(body).encode())
    assert ApiHandler(database_down).handle(request).status == 503
    after = _scrape(limits_down)  # the process's counters, whichever Octotp scrapes
    assert after[database_errors] - before[database_errors] == 1
    assert after[redis_errors] == before[redis_errors]


def test_the_scrape_needs_the_token(metered: Callable[..., Octotp]) -> None:
    octotp = metered()
    good = metrics_response(octotp, Request("GET", "/metrics", {"Authorization": f"Bearer {TOKEN}"}))
    assert good.status == 200
    assert b"octotp_http_requests_total" in good.body
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Token {TOKEN}"}):
        refused = metrics_response(octotp, Request("GET", "/metrics", headers))
        assert refused.status == 401
        assert json.loads(refused.body)["code"] == "invalid_metrics_token"
    posted = metrics_response(octotp, Request("POST", "/metrics", {"Authorization": f"Bearer {TOKEN}"}))
    assert posted.status == 405


def test_metrics_on_needs_a_token(make_settings: Callable[..., Settings]) -> None:
    for token in (None, "short"):
        with pytest.raises(ValueError, match="metrics_enabled needs metrics_token"):
            make_settings(metrics_enabled=True, metrics_token=token)
