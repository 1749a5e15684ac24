"""What sending costs a create: ``octotp serve`` on SQLite, an SMTP server that takes 2 s to answer
each message (aiosmtpd, ``octotp_core.testing.mailbox.Mailbox(delay=2.0)``), and N creates through
HTTP, for (a) ``send=false``, (b) ``send=true`` with ``delivery_mode=queue`` (the server's own worker
thread sends later) and (c) ``send=true`` with ``delivery_mode=sync`` (the request waits for SMTP).
Prints p50 and p99 of the create latency and their ratio to (a). A benchmark, not a test.

    python benchmarks/outbox_latency.py                  # N=200 (a, b), 30 (c), 4 clients, 5 rounds
    python benchmarks/outbox_latency.py --n 500 --sync-n 60 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import SecretStr

from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import ServeProcess

# No plan or recipient budget is ever reached (each create has its own recipient).
LIMITS = {
    "OCTOTP_PLANS": json.dumps({"bench": {"creates_per_minute": 10_000_000}}),
    "OCTOTP_DEFAULT_PLAN": "bench",
    "OCTOTP_RECIPIENT_SEND_BUDGET": "1000/10 minutes",
}


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def creates(url: str, project: str, key: str, n: int, send: bool, concurrency: int) -> list[float]:
    """Seconds each of ``n`` creates took (``concurrency`` clients at once); every one must answer 201."""
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    tag = uuid.uuid4().hex[:8]

    def one(i: int) -> float:
        body = json.dumps({"projectId": project, "recipientEmail": f"b{tag}-{i}@bench.example", "send": send})
        started = time.perf_counter()
        answer = UrlClient(url, timeout=60).request("POST", "/api/tokens", headers=headers, body=body.encode())
        took = time.perf_counter() - started
        if answer.status != 201:
            raise SystemExit(f"create answered {answer.status}: {answer.body[:200]!r}")
        return took

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n, n + min(n, 8))))  # warm up: connections, caches
        return list(pool.map(one, range(n)))


def server(data_dir: Path, secret: str, box: Mailbox, mode: str) -> tuple[ServeProcess, str, str]:
    """``octotp serve`` (1 worker) in ``mode`` mailing ``box``, and a project (id, API key) on it."""
    env = {
        "OCTOTP_DATA_DIR": str(data_dir),
        "OCTOTP_SECRET_KEY": secret,
        "OCTOTP_DELIVERY_MODE": mode,
        **LIMITS,
        **box.delivery_environment,
    }
    process = ServeProcess(env)
    octotp = Octotp(Settings(data_dir=data_dir, secret_key=SecretStr(secret)))
    try:
        created = octotp.accounts.create_project(f"latency {mode}")
    finally:
        octotp.close()
    return process, created.project.id, created.api_key.secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="Creates for (a) and (b).")
    parser.add_argument("--sync-n", type=int, default=30, help="Creates for (c): each waits for the SMTP server.")
    parser.add_argument("--concurrency", type=int, default=4, help="Clients sending at once.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds of (a), (b), (c), one after the other.")
    parser.add_argument("--smtp-delay", type=float, default=2.0, help="Seconds the SMTP server takes per message.")
    args = parser.parse_args()

    secret = secrets.token_urlsafe(32)
    box = Mailbox(delay=args.smtp_delay).start()
    results: dict[str, list[float]] = {"(a) send=false": [], "(b) send=true, queue": [], "(c) send=true, sync": []}
    try:
        with tempfile.TemporaryDirectory(prefix="octotp-outbox-latency-") as tmp:
            # (a) on the sync server (nothing to send), (b) on the queue server, whose worker thread
            # sends everything (b) queued meanwhile; in alternating rounds, so that whatever else the
            # machine does meets every case alike.
            synchronous, sync_project, sync_key = server(Path(tmp) / "sync", secret, box, "sync")
            queued, queue_project, queue_key = server(Path(tmp) / "queue", secret, box, "queue")
            with synchronous, queued:
                for _ in range(args.rounds):
                    results["(a) send=false"] += creates(
                        synchronous.url, sync_project, sync_key, args.n // args.rounds, False, args.concurrency
                    )
                    results["(b) send=true, queue"] += creates(
                        queued.url, queue_project, queue_key, args.n // args.rounds, True, args.concurrency
                    )
                    results["(c) send=true, sync"] += creates(
                        synchronous.url, sync_project, sync_key, args.sync_n // args.rounds, True, args.concurrency
                    )
    finally:
        box.stop()

    base50, base99 = percentile(results["(a) send=false"], 50), percentile(results["(a) send=false"], 99)
    print(f"octotp serve, SQLite, SMTP {args.smtp_delay:g} s per message, {args.concurrency} clients")
    print(f"{'case':<22} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'p50/(a)':>8} {'p99/(a)':>8}")
    for case, took in results.items():
        p50, p99 = percentile(took, 50), percentile(took, 99)
        print(
            f"{case:<22} {len(took):>5} {p50 * 1000:>9.1f} {p99 * 1000:>9.1f} {p50 / base50:>8.2f} {p99 / base99:>8.2f}"
        )
    print(f"mean (a) {statistics.mean(results['(a) send=false']) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
