"""What a large purge costs the server's creates: ``octotp serve`` on PostgreSQL (a temporary database
of its own), N expired tokens bulk-inserted, a steady create load through HTTP, and create p50/p99
measured without a purge, then while ``octotp purge`` (a subprocess) deletes the N tokens in batches,
then without again. Prints the ratio of p99 during the purge to p99 without it (target <= 1.5) and
the purge's duration. A benchmark, not a test (``tests/fastapi/test_purge_under_load.py`` runs a
small version that asserts behaviour only).

    python benchmarks/purge_under_load.py                          # 1,000,000 tokens, batches of 5000, 4 clients
    python benchmarks/purge_under_load.py --tokens 200000 --batch-size 2000 --concurrency 8

PostgreSQL comes from ``OCTOTP_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; that database only issues CREATE/DROP).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text

from harness.data import temporary_postgres  # the databases run.py and capacity.py measure on
from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess, clean_environment

PLANS = {"bench": {"creates_per_minute": 10_000_000}}
LIMITS = {"OCTOTP_PLANS": json.dumps(PLANS), "OCTOTP_DEFAULT_PLAN": "bench"}
INSERT_CHUNK = 100_000

# Expired an hour ago and more, one millisecond apart; random digests (32 bytes, as the recipient_digest
# column holds them since migration 0011), so no binding is shared.
SEED = text(
    """
    INSERT INTO octotp_tokens (id, project_id, recipient_digest, recipient_hint, channel, purpose, code_hash,
                               created_at, expires_at, attempts, max_attempts)
    SELECT gen_random_uuid(), :project_id, decode(md5(random()::text) || md5(random()::text), 'hex'),
           'f***@bench.example', 'email', '', 'unused', now() - interval '2 hours',
           now() - interval '1 hour' - g * interval '1 millisecond', 0, 5
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
    """
)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class CreateLoad:
    """``concurrency`` threads creating tokens (each for a new recipient) until stopped; each
    create's latency is recorded under the current phase."""

    def __init__(self, url: str, project_id: str, api_key: str, concurrency: int) -> None:
        self.url, self.project_id = url, project_id
        self.headers = {"Content-Type": "application/json", "X-Api-Key": api_key}
        self.phase = "warm-up"
        self.latencies: dict[str, list[float]] = {}
        self.failures: list[str] = []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(concurrency)]

    def _run(self) -> None:
        client = UrlClient(self.url, timeout=60)
        while not self.stopped.is_set():
            body = json.dumps(
                {"projectId": self.project_id, "recipientEmail": f"p{uuid.uuid4().hex[:16]}@bench.example"}
            )
            phase = self.phase
            started = time.perf_counter()
            answer = client.request("POST", "/api/tokens", headers=self.headers, body=body.encode())
            took = time.perf_counter() - started
            if answer.status != 201:
                self.failures.append(f"{answer.status} {answer.body[:120]!r}")
            elif phase == self.phase:  # a create that straddles two phases counts in neither
                self.latencies.setdefault(phase, []).append(took)

    def __enter__(self) -> CreateLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=1_000_000, help="Expired tokens to purge.")
    parser.add_argument("--batch-size", type=int, default=5000, help="purge_batch_size for the purge.")
    parser.add_argument("--pause", type=float, default=0.0, help="purge_pause_seconds: wait between batches.")
    parser.add_argument("--concurrency", type=int, default=4, help="Clients creating at once.")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="Seconds of load before and after.")
    args = parser.parse_args()

    server_url = os.environ.get("OCTOTP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="octotp-purge-") as tmp, temporary_postgres(server_url) as url:
        data_dir = Path(tmp)
        env = {"OCTOTP_DATA_DIR": str(data_dir), "OCTOTP_SECRET_KEY": secret, "OCTOTP_DATABASE_URL": url, **LIMITS}
        octotp = Octotp(
            Settings(
                data_dir=data_dir, secret_key=SecretStr(secret), database_url=url, plans=PLANS, default_plan="bench"
            )
        )
        try:
            octotp.migrate()
            created = octotp.accounts.create_project("purge under load")
            assert octotp.engine is not None
            started = time.perf_counter()
            for first in range(1, args.tokens + 1, INSERT_CHUNK):
                last = min(first + INSERT_CHUNK - 1, args.tokens)
                with octotp.engine.begin() as conn:
                    conn.execute(SEED, {"project_id": created.project.id, "first": first, "last": last})
            with octotp.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE octotp_tokens"))
            print(f"seeded {args.tokens:,} expired tokens in {time.perf_counter() - started:.1f} s", flush=True)
        finally:
            octotp.close()

        with (
            ServeProcess(env) as server,
            CreateLoad(server.url, created.project.id, created.api_key.secret, args.concurrency) as load,
        ):
            time.sleep(3)  # warm up: connections, caches
            load.phase = "before"
            time.sleep(args.baseline_seconds)
            load.phase = "during"
            started = time.perf_counter()
            purge = subprocess.run(
                [sys.executable, "-m", "octotp_core.cli", "purge", "--json"],
                env=clean_environment(
                    {
                        **env,
                        "OCTOTP_PURGE_BATCH_SIZE": str(args.batch_size),
                        "OCTOTP_PURGE_PAUSE_SECONDS": str(args.pause),
                    }
                ),
                capture_output=True,
                text=True,
                check=True,
            )
            purge_seconds = time.perf_counter() - started
            load.phase = "after"
            time.sleep(args.baseline_seconds)
            load.phase = "done"
        counts = json.loads(purge.stdout)

    if load.failures:
        raise SystemExit(f"{len(load.failures)} creates failed, e.g. {load.failures[:3]}")
    if counts["deleted"] < args.tokens:
        raise SystemExit(f"the purge deleted {counts['deleted']} of {args.tokens} tokens")
    without = load.latencies.get("before", []) + load.latencies.get("after", [])
    during = load.latencies.get("during", [])
    print(
        f"octotp serve (1 worker), PostgreSQL, {args.tokens:,} expired tokens, purge_batch_size {args.batch_size}, "
        f"pause {args.pause:g} s, {args.concurrency} clients creating"
    )
    rate = counts["deleted"] / purge_seconds
    print(f"purge: {counts['deleted']:,} tokens in {purge_seconds:.1f} s ({rate:,.0f} rows/s, CLI start included)")
    print(f"{'creates':<28} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for name, took in (("without purge (before+after)", without), ("during purge", during)):
        print(f"{name:<28} {len(took):>6} {percentile(took, 50) * 1000:>8.1f} {percentile(took, 99) * 1000:>8.1f}")
    ratio = percentile(during, 99) / percentile(without, 99)
    print(f"p99 during / without: {ratio:.2f} (target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
