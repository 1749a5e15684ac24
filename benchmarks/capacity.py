"""What one request costs: the figures capacity planning needs, per hasher and database.

For each hasher (argon2id ``otp``, the default; ``owasp``; ``hmac``) and each database (a SQLite file
with per-process limits; PostgreSQL with Redis limits), for create, validate with the right code and
validate with a wrong one:

- server CPU per request: ``octotp serve --workers 1`` in a subprocess, its user + system CPU (and its
  children's) before and after N requests sent by threads of this process, less what it spends idle
  (its outbox worker polls twice a second); the client's wall-time p50 beside it, for context only;
- database statements, write transactions and rows written per request, counted exactly with
  SQLAlchemy's engine events on an in-process ``Octotp`` answering the same requests through core's
  ``ApiHandler`` (what every adapter calls); on PostgreSQL also the server's own count
  (``pg_stat_database``), the CPU of the database's backends while the server ran, and the WAL the
  database wrote (``pg_walinspect``, when available);
- Redis round trips per request (redis-py's sends, in process), the server's command calls
  (``INFO commandstats``) and Redis CPU per request (``INFO cpu``), on a ``redis-server`` the script
  starts for itself, so that nobody else's commands are counted;
- the hash alone: ``hash`` and ``verify`` in this process, CPU per call.

CPU time is what a request costs whatever else the machine does; wall times are not, so none is
used for sizing. Output: ``results/capacity-<UTC timestamp>.md`` and ``.json``. A benchmark, not a
test (nothing here asserts a figure).

    python benchmarks/capacity.py                                  # every hasher and database, N=300
    python benchmarks/capacity.py --n 1000 --hashers otp,hmac --databases postgres
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from harness.counting import (
    PostgresObserver,
    RedisRoundTrips,
    RedisSnapshot,
    StatementCounter,
    StatementCounts,
    cpu_delta,
    delta,
)
from harness.data import CODE, LIMIT_SETTINGS, PLAN, WRONG_CODE, Project, Seeder, email, engine_for, temporary_postgres
from harness.private_redis import PrivateRedis
from harness.servers import ProcessTree
from octotp_core import Octotp, Settings
from octotp_core.hashing import make_code_hasher
from octotp_core.http.api import ApiHandler
from octotp_core.http.messages import Request
from octotp_core.migrate import upgrade
from octotp_core.ratelimit import RateLimits
from octotp_core.testing.servers import ServeProcess

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
HASHERS: dict[str, dict[str, str]] = {
    "otp": {"OCTOTP_HASHER": "argon2", "OCTOTP_ARGON2_PROFILE": "otp"},  # the default
    "owasp": {"OCTOTP_HASHER": "argon2", "OCTOTP_ARGON2_PROFILE": "owasp"},
    "hmac": {"OCTOTP_HASHER": "hmac"},
}
DATABASES = ("sqlite", "postgres")
CASES = ("create", "validate-ok", "validate-bad")
FLOOR = "healthz"  # GET /healthz on the same server: what any request costs it (HTTP, routing, logging)
RATES = (1_000, 10_000)
UTILISATION = 0.5  # size CPU for half of it busy: room for peaks, and latency stays near the idle figure
IDLE_SECONDS = 2.0
WARM_UP = 20


# -- one request ---------------------------------------------------------------------------------
def request_for(case: str, project: Project, tag: str, k: int, threads: int) -> tuple[str, bytes, Callable[..., bool]]:
    """Request ``k`` of a case: path, JSON body (none: a GET), and a check of (status, body) it must
    answer with.

    Creates name a new recipient each (no budget is ever reached); validates name the ``k``-th
    seeded token of the case's pool (``Seeder.seed_pool(tag, threads, ...)``), each used once."""
    if case == FLOOR:
        return "/healthz", b"", lambda status, data: status == 200
    if case == "create":
        body = {"projectId": project.id, "recipientEmail": f"c{tag}-{k}@bench.example"}
        return "/api/tokens", json.dumps(body).encode(), lambda status, data: status == 201 and "code" in data
    recipient = email(tag, k % threads + 1, k // threads + 1)
    right = case == "validate-ok"
    body = {"projectId": project.id, "recipientEmail": recipient, "code": CODE if right else WRONG_CODE}
    expected = "approved" if right else "incorrect"
    return "/api/tokens/validate", json.dumps(body).encode(), lambda status, data: data.get("status") == expected


def _refused(case: str, status: int, body: bytes) -> SystemExit:
    return SystemExit(f"{case}: unexpected answer {status}: {body[:300]!r}")


# -- the server: CPU per request ---------------------------------------------------------------------
def over_http(url: str, project: Project, case: str, tag: str, n: int, threads: int) -> list[float]:
    """Send ``n`` requests of ``case`` from ``threads`` threads (one keep-alive client each); each
    one's wall time in seconds."""
    headers = {"Content-Type": "application/json", "X-Api-Key": project.api_key}

    def worker(t: int) -> list[float]:
        took: list[float] = []
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for k in range(t, n, threads):
                path, body, ok = request_for(case, project, tag, k, threads)
                started = time.perf_counter()
                answer = client.request("POST" if body else "GET", path, content=body or None)
                took.append(time.perf_counter() - started)
                if not ok(answer.status_code, answer.json()):
                    raise _refused(case, answer.status_code, answer.content)
        return took

    with ThreadPoolExecutor(threads) as pool:
        return [t for part in pool.map(worker, range(threads)) for t in part]


def measure_server(
    env: dict[str, str],
    project: Project,
    n: int,
    threads: int,
    redis_server: PrivateRedis | None,
    postgres: PostgresObserver | None,
) -> dict[str, dict[str, Any]]:
    """``octotp serve --workers 1``: CPU per request of each case and of ``/healthz`` (and, beside it,
    the client's p50, Redis's calls and CPU, and the PostgreSQL backends' CPU). The server's and
    Redis's idle CPU (the outbox worker's polls, Redis's timers) is measured first and taken off."""
    results: dict[str, dict[str, Any]] = {}
    with ServeProcess(env) as server:
        tree = ProcessTree(server.proc.pid)
        for case in (FLOOR, *CASES):  # warm up: connections, caches, the Redis script
            over_http(server.url, project, case, f"sw{case[-2:]}", WARM_UP, threads)
        before, redis_idle = tree.cpu_seconds(), RedisSnapshot.of(redis_server.client) if redis_server else None
        time.sleep(IDLE_SECONDS)
        idle_rate = (tree.cpu_seconds() - before) / IDLE_SECONDS
        redis_idle_rate = 0.0
        if redis_server and redis_idle:
            redis_idle_rate = RedisSnapshot.of(redis_server.client).since(redis_idle)[1] / IDLE_SECONDS
        for case in (FLOOR, *CASES):
            redis_before = RedisSnapshot.of(redis_server.client) if redis_server else None
            pg_before = postgres.backend_cpu() if postgres else {}
            cpu_before, started = tree.cpu_seconds(), time.perf_counter()
            took = over_http(server.url, project, case, f"s{case[-2:]}", n, threads)
            cpu, elapsed = tree.cpu_seconds() - cpu_before, time.perf_counter() - started
            result: dict[str, Any] = {
                "requests": n,
                "seconds": elapsed,
                "server_cpu_s": cpu,
                "server_cpu_ms_per_request": (cpu - idle_rate * elapsed) / n * 1000,
                "client_p50_ms": statistics.median(took) * 1000,
                "requests_per_second": n / elapsed,
            }
            if postgres:
                result["postgres_cpu_ms_per_request"] = cpu_delta(postgres.backend_cpu(), pg_before) / n * 1000
            if redis_server and redis_before:
                calls, redis_cpu = RedisSnapshot.of(redis_server.client).since(redis_before)
                result["redis_calls_per_request"] = {k: v / n for k, v in sorted(calls.items())}
                result["redis_cpu_us_per_request"] = (redis_cpu - redis_idle_rate * elapsed) / n * 1e6
                result["redis_script_us_per_call"] = RedisSnapshot.of(redis_server.client).script_usec(redis_before)
            results[case] = result
        results["idle_cpu_ms_per_second"] = {"value": idle_rate * 1000, "redis": redis_idle_rate * 1000}
    return results


# -- in process: statements, transactions, rows, round trips ------------------------------------------------
def settings_for(env: dict[str, str], **overrides: Any) -> Settings:
    """The ``Settings`` the server reads from ``env``, with ``overrides``."""
    values: dict[str, Any] = {}
    for key, value in env.items():
        name = key.removeprefix("OCTOTP_").lower()
        values[name] = json.loads(value) if name == "plans" else value
    values["secret_key"] = SecretStr(values["secret_key"])
    return Settings(**{**values, **overrides})


def _counts_per_request(counts: StatementCounts, n: int) -> dict[str, Any]:
    return {
        "statements": counts.statements / n,
        "write_transactions": counts.write_transactions / n,
        "rows_written": counts.rows_written / n,
        "by_statement": {label: c / n for label, c in sorted(counts.by_label.items())},
    }


def measure_in_process(
    env: dict[str, str],
    project: Project,
    n: int,
    threads: int,
    redis_server: PrivateRedis | None,
    postgres: PostgresObserver | None,
    wal: bool,
) -> dict[str, Any]:
    """The same requests through core's ``ApiHandler`` in this process, one at a time, counted.

    The API key cache and the usage counters' flush are periodic, per process, whatever the rate:
    they are stretched out of the way here and counted on their own (``periodic``)."""
    octotp = Octotp(settings_for(env, usage_flush_seconds=3600, api_key_cache_seconds=3600))
    assert octotp.engine is not None
    engine = octotp.engine
    handler = ApiHandler(octotp)
    counter = StatementCounter(engine)
    trips = RedisRoundTrips()
    headers = {"content-type": "application/json", "x-api-key": project.api_key}

    def send(case: str, tag: str, count: int) -> None:
        for k in range(count):
            path, body, ok = request_for(case, project, tag, k, threads)
            answer = handler.handle(Request("POST", path, headers, body, client="127.0.0.1"))
            if not ok(answer.status, json.loads(answer.body)):
                raise _refused(case, answer.status, answer.body)

    results: dict[str, Any] = {}
    with trips.active():
        for case in CASES:
            send(case, f"iw{case[-2:]}", WARM_UP)
        for case in CASES:
            engine.dispose()  # every backend reports its counters as it ends
            if postgres and not postgres.wait_idle():
                print("warning: backends still connected; pg_stat_database figures may lag", file=sys.stderr)
            pg_before = postgres.counters() if postgres else {}
            lsn_before = postgres.wal_lsn() if postgres and wal else ""
            redis_before = RedisSnapshot.of(redis_server.client) if redis_server else None
            counter.take(), trips.take()
            send(case, f"i{case[-2:]}", n)
            result = _counts_per_request(counter.take(), n)
            result["redis_round_trips"] = trips.take() / n
            if redis_server and redis_before:
                calls, _ = RedisSnapshot.of(redis_server.client).since(redis_before)
                result["redis_calls"] = {k: v / n for k, v in sorted(calls.items())}
            if postgres:
                engine.dispose()
                postgres.wait_idle()
                pg = delta(postgres.counters(), pg_before)
                result["postgres"] = {
                    "transactions": (pg["xact_commit"] + pg["xact_rollback"]) / n,
                    "rows_inserted": pg["tup_inserted"] / n,
                    "rows_updated": pg["tup_updated"] / n,
                    "rows_deleted": pg["tup_deleted"] / n,
                }
                if wal:
                    result["postgres"]["wal_bytes"] = postgres.wal_bytes(lsn_before, postgres.wal_lsn()) / n
            results[case] = result

        periodic: dict[str, Any] = {}
        counter.take()
        octotp.tokens.meter.flush()
        periodic["usage_flush"] = _counts_per_request(counter.take(), 1)
        octotp.outbox.run_once("capacity", 20)
        periodic["outbox_idle_poll"] = _counts_per_request(counter.take(), 1)
        fresh = Octotp(settings_for(env))  # an empty API key cache: what each process does every 2 s per key
        fresh_counter = StatementCounter(fresh.engine) if fresh.engine is not None else None
        fresh.accounts.authenticate(project.api_key)
        if fresh_counter:
            periodic["api_key_lookup"] = _counts_per_request(fresh_counter.take(), 1)
        fresh.close()
        results["periodic"] = periodic
    octotp.close()
    return results


# -- Redis: a plan's window --------------------------------------------------------------------------------
PLAN_FILLS = (1_000, 60_000, 600_000)


def plan_window_costs(redis_server: PrivateRedis, n: int) -> list[dict[str, float]]:
    """Redis CPU per create (``RateLimits.admit_create``, this process) while the project's plan window
    already holds ``PLAN_FILLS`` entries: the moving window keeps one entry per create for as long as
    the plan's per-minute limit, so a busy project on a large plan has a long list, which the script
    searches. Also Redis memory per entry."""
    limits = RateLimits(redis_server.url, "1000/10 minutes", "1000/hour")
    results = []
    for fill in PLAN_FILLS:
        redis_server.client.flushall()
        project = str(uuid.uuid4())
        limits.admit_create(project, 10_000_000, secrets.token_hex(32))  # creates the plan's list
        (key,) = [k for k in redis_server.client.keys("*") if b"plan" in k]
        now = repr(time.time())
        before_fill = RedisSnapshot.of(redis_server.client)
        pipe = redis_server.client.pipeline(transaction=False)
        for done in range(0, fill, 10_000):
            pipe.lpush(key, *([now] * min(10_000, fill - done)))
            pipe.execute()
        before = RedisSnapshot.of(redis_server.client)
        for _ in range(n):
            limits.admit_create(project, 10_000_000, secrets.token_hex(32))
        after = RedisSnapshot.of(redis_server.client)
        results.append(
            {
                "entries": fill,
                "redis_cpu_us_per_create": (after.cpu - before.cpu) / n * 1e6,
                "script_us_per_call": after.script_usec(before),
                "memory_bytes_per_entry": (before.memory - before_fill.memory) / fill,
            }
        )
    redis_server.client.flushall()
    return results


# -- the hash alone ----------------------------------------------------------------------------------------
def hash_costs(hasher_name: str, secret: bytes, budget: float = 0.5) -> dict[str, float]:
    """CPU (this thread's) per ``hash``, ``verify`` of the right code and of a wrong one: the median of
    as many calls as fit in ``budget`` seconds (at least 20)."""
    spec = HASHERS[hasher_name]
    hasher = make_code_hasher(spec["OCTOTP_HASHER"], [secret], spec.get("OCTOTP_ARGON2_PROFILE", "otp"))  # type: ignore[arg-type]
    stored = hasher.hash(CODE)

    def timed(call: Callable[[], object]) -> float:
        samples: list[float] = []
        deadline = time.perf_counter() + budget
        while len(samples) < 20 or (time.perf_counter() < deadline and len(samples) < 100_000):
            started = time.thread_time()
            call()
            samples.append(time.thread_time() - started)
        return statistics.median(samples) * 1000

    for _ in range(5):
        hasher.verify(stored, CODE)
    return {
        "hash_cpu_ms": timed(lambda: hasher.hash(CODE)),
        "verify_ok_cpu_ms": timed(lambda: hasher.verify(stored, CODE)),
        "verify_wrong_cpu_ms": timed(lambda: hasher.verify(stored, WRONG_CODE)),
    }


# -- one configuration -------------------------------------------------------------------------------------
@contextlib.contextmanager
def database(kind: str, directory: Path, postgres_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'octotp.db'}"
    else:
        with temporary_postgres(postgres_url) as url:
            yield url


def prepare(env: dict[str, str]) -> Project:
    """octotp's schema and one project on the benchmark's plan (no limit is ever reached)."""
    engine = engine_for(env["OCTOTP_DATABASE_URL"])
    try:
        upgrade(engine)
        core = Octotp(settings_for(env), engine=engine)
        created = core.accounts.create_project("capacity", plan=PLAN)
    finally:
        engine.dispose()
    return Project(created.project.id, created.api_key.secret)


def measure(db: str, hasher: str, args: argparse.Namespace, redis_server: PrivateRedis, wal: bool) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="octotp-capacity-") as tmp,
        database(db, Path(tmp), args.postgres_url) as url,
    ):
        env = {
            "OCTOTP_DATA_DIR": str(Path(tmp) / "data"),
            "OCTOTP_SECRET_KEY": secrets.token_urlsafe(32),
            "OCTOTP_DATABASE_URL": url,
            "OCTOTP_RATE_LIMIT_STORAGE": redis_server.url if db == "postgres" else "memory://",
            **HASHERS[hasher],
            **LIMIT_SETTINGS,
        }
        project = prepare(env)
        seeder = Seeder(env, project)
        per_thread = math.ceil(max(args.n, WARM_UP) / args.threads)
        for where in ("s", "i"):
            for case in ("ok", "ad"):  # validate-ok, validate-bad
                seeder.seed_pool(f"{where}w{case}", args.threads, per_thread)
                seeder.seed_pool(f"{where}{case}", args.threads, per_thread)
        seeder.close()
        postgres = None
        if db == "postgres":
            postgres = PostgresObserver(create_engine(args.postgres_url), engine_for(url))
            wal = wal and postgres.enable_wal_reading()
        uses_redis = redis_server if db == "postgres" else None
        print(f"{db} {hasher}: server", file=sys.stderr, flush=True)
        server = measure_server(env, project, args.n, args.threads, uses_redis, postgres)
        print(f"{db} {hasher}: in process", file=sys.stderr, flush=True)
        with postgres.retaining_wal() if postgres and wal else contextlib.nullcontext():
            counted = measure_in_process(env, project, args.n, args.threads, uses_redis, postgres, wal)
        stored = None
        if postgres:
            rows, heap, index = postgres.table_bytes("octotp_tokens")
            stored = {"rows": rows, "heap_bytes_per_row": heap / rows, "index_bytes_per_row": index / rows}
            postgres.close()
    return {"database": db, "hasher": hasher, "server": server, "counted": counted, "tokens_table": stored}


# -- the report ---------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model, "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "../packages"], cwd=BENCH_DIR, capture_output=True, text=True
    )
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def sizing(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each rate and hasher (PostgreSQL + Redis, the setup for scale): each create validated once
    with the right code. Cores are sized for ``UTILISATION``; the stores' figures are per second."""
    rows = []
    for run in runs:
        if run["database"] != "postgres":
            continue
        server, counted = run["server"], run["counted"]
        pair = ("create", "validate-ok")
        cpu = sum(server[c]["server_cpu_ms_per_request"] for c in pair) / 1000
        pg_cpu = sum(server[c].get("postgres_cpu_ms_per_request", 0.0) for c in pair) / 1000
        redis_cpu = sum(server[c].get("redis_cpu_us_per_request", 0.0) for c in pair) / 1e6
        pg = {k: sum(counted[c]["postgres"][k] for c in pair) for k in counted["create"]["postgres"]}
        for rate in RATES:
            rows.append(
                {
                    "rate": rate,
                    "hasher": run["hasher"],
                    "app_cores_busy": rate * cpu,
                    "app_cores": rate * cpu / UTILISATION,
                    "statements_per_s": rate * sum(counted[c]["statements"] for c in pair),
                    "transactions_per_s": rate * pg["transactions"],
                    "rows_written_per_s": rate * (pg["rows_inserted"] + pg["rows_updated"] + pg["rows_deleted"]),
                    "wal_mb_per_s": rate * pg.get("wal_bytes", float("nan")) / 1e6,
                    "postgres_backend_cores": rate * pg_cpu,
                    "redis_round_trips_per_s": rate * sum(counted[c]["redis_round_trips"] for c in pair),
                    "redis_cores": rate * redis_cpu,
                    "tokens_stored_per_hour": rate * 3600,
                    "table_gb_per_hour": rate * 3600 * _row_bytes(run) / 1e9,
                }
            )
    return rows


def _row_bytes(run: dict[str, Any]) -> float:
    table = run.get("tokens_table") or {}
    return float(table.get("heap_bytes_per_row", 0.0) + table.get("index_bytes_per_row", 0.0))


def _f(value: float, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def render(report: dict[str, Any]) -> str:
    meta = report["meta"]
    lines = [
        f"# octotp capacity — {meta['date']}",
        "",
        f"- command: `{meta['command']}`",
        f"- commit `{meta['commit']}`; Python {meta['python']}; {meta['versions']}",
        f"- machine: {meta['machine']['cores']} cores ({meta['machine']['cpu']}), shared with other work"
        f" (load average before: {meta['load_before']}; after: {meta['load_after']}): CPU time per request is"
        " steady under such load, wall times are not (the p50 column is context only)",
        f"- N = {meta['n']} requests per case after {WARM_UP} of warm-up, {meta['threads']} client threads;"
        " `octotp serve --workers 1`; sqlite: one file, rate limits `memory://`; postgres: a temporary"
        f" database, rate limits on a private Redis {meta['redis_version']}",
        "",
        "## The hash alone (in process, CPU per call)",
        "",
        "| hasher | hash ms | verify right ms | verify wrong ms |",
        "|---|--:|--:|--:|",
    ]
    for name, cost in report["hashers"].items():
        lines.append(
            f"| {name} | {_f(cost['hash_cpu_ms'], 3)} | {_f(cost['verify_ok_cpu_ms'], 3)} |"
            f" {_f(cost['verify_wrong_cpu_ms'], 3)} |"
        )
    lines += [
        "",
        "## Per request",
        "",
        "Server CPU: `octotp serve`'s process, less its idle CPU. Statements, write transactions and"
        " round trips: counted in process on the same requests (exact; the API key lookup and the"
        " usage counters' flush are periodic, below). Rows written: SQLite's `total_changes`, or"
        " PostgreSQL's own count. PG xacts and rows: `pg_stat_database` (every"
        " statement outside a transaction is one). PG CPU: the database's backends, while the server ran."
        " WAL: the database's records (`pg_walinspect`). Redis: commands the server ran (a script's own"
        " calls included), its CPU less its idle CPU, and its own timing of the limits script.",
        "",
        "| db | hasher | case | server CPU ms | client p50 ms | statements | write txns | rows written"
        " | PG xacts | PG rows ins/upd/del | PG CPU ms | WAL bytes | Redis round trips | Redis commands"
        " | Redis CPU µs | EVALSHA µs |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|",
    ]
    for run in report["runs"]:
        floor = run["server"][FLOOR]
        lines.append(
            f"| {run['database']} | {run['hasher']} | GET /healthz (floor) | {_f(floor['server_cpu_ms_per_request'])}"
            f" | {_f(floor['client_p50_ms'], 1)} |" + " |" * 11
        )
        for case in CASES:
            s, c = run["server"][case], run["counted"][case]
            pg = c.get("postgres")
            calls = s.get("redis_calls_per_request") or {}
            rows = sum(pg[k] for k in ("rows_inserted", "rows_updated", "rows_deleted")) if pg else c["rows_written"]
            lines.append(
                "| "
                + " | ".join(
                    [
                        run["database"],
                        run["hasher"],
                        case,
                        _f(s["server_cpu_ms_per_request"]),
                        _f(s["client_p50_ms"], 1),
                        _f(c["statements"]),
                        _f(c["write_transactions"]),
                        _f(rows),
                        _f(pg["transactions"]) if pg else "",
                        "/".join(_f(pg[k]) for k in ("rows_inserted", "rows_updated", "rows_deleted")) if pg else "",
                        _f(s.get("postgres_cpu_ms_per_request", float("nan")), 3),
                        _f(pg.get("wal_bytes", float("nan")), 0) if pg else "",
                        _f(c["redis_round_trips"]) if pg else "",
                        ", ".join(f"{k} {v:.2f}" for k, v in calls.items()),
                        _f(s.get("redis_cpu_us_per_request", float("nan")), 1),
                        _f(s.get("redis_script_us_per_call", float("nan")), 1),
                    ]
                )
                + " |"
            )
    lines += ["", "## Which statements (per request, counted in process)", ""]
    seen: set[tuple[str, str]] = set()
    for run in report["runs"]:
        for case in CASES:
            key = (run["database"], case)
            if key in seen:
                continue
            seen.add(key)
            statements = run["counted"][case]["by_statement"]
            listed = "; ".join(f"{label} x {count:.2f}" for label, count in statements.items())
            lines.append(f"- {run['database']} {case}: {listed}")
    lines += ["", "## Periodic, per process (whatever the rate)", ""]
    for run in report["runs"]:
        if run["hasher"] != report["runs"][0]["hasher"]:
            continue
        periodic = run["counted"]["periodic"]
        idle = run["server"]["idle_cpu_ms_per_second"]["value"]
        lines.append(
            f"- {run['database']}: outbox worker idle poll (every 0.5 s)"
            f" {periodic['outbox_idle_poll']['statements']:.0f} statements;"
            " usage counters' flush (at most every 1 s, per project with traffic)"
            f" {periodic['usage_flush']['statements']:.0f}; API key lookup and last-use update (a fresh process;"
            " then every 2 s and every minute per key in use)"
            f" {periodic['api_key_lookup']['statements']:.0f}; idle server CPU {idle:.1f} ms/s"
        )
    table = next((r["tokens_table"] for r in report["runs"] if r.get("tokens_table")), None)
    if table:
        lines += [
            "",
            f"Tokens table on PostgreSQL after the run ({table['rows']:,} rows): heap"
            f" {table['heap_bytes_per_row']:.0f} bytes per row, indexes {table['index_bytes_per_row']:.0f}.",
        ]
    if report["redis_benchmark"]:
        lines += ["", "## Redis alone (`redis-benchmark -c 8`, the same private server)", ""]
        lines += ["| command | requests/s | requests per Redis CPU second |", "|---|--:|--:|"]
        for command, figures in report["redis_benchmark"].items():
            lines.append(
                f"| {command} | {_f(figures['requests_per_second'], 0)} | {_f(figures['requests_per_cpu_second'], 0)} |"
            )
    if report["plan_window"]:
        lines += [
            "",
            "## Redis per create against a plan's window (`RateLimits.admit_create`, in process)",
            "",
            "| entries in the plan's window | Redis CPU µs per create | EVALSHA µs (Redis's own) | bytes per entry |",
            "|--:|--:|--:|--:|",
        ]
        for row in report["plan_window"]:
            lines.append(
                f"| {row['entries']:,} | {_f(row['redis_cpu_us_per_create'], 1)} | {_f(row['script_us_per_call'], 1)}"
                f" | {_f(row['memory_bytes_per_entry'], 1)} |"
            )
    if report["sizing"]:
        lines += [
            "",
            f"## Sizing (PostgreSQL + Redis; each create validated once, right code; cores at {UTILISATION:.0%} busy)",
            "",
            "| creates/s | hasher | app cores busy | app cores | statements/s | PG xacts/s | rows written/s"
            " | WAL MB/s | PG backend cores | Redis round trips/s | Redis cores | table GB per hour kept |",
            "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for row in report["sizing"]:
            lines.append(
                f"| {row['rate']:,} | {row['hasher']} | {_f(row['app_cores_busy'], 1)} | {_f(row['app_cores'], 1)}"
                f" | {_f(row['statements_per_s'], 0)} | {_f(row['transactions_per_s'], 0)}"
                f" | {_f(row['rows_written_per_s'], 0)} | {_f(row['wal_mb_per_s'], 1)}"
                f" | {_f(row['postgres_backend_cores'], 1)} | {_f(row['redis_round_trips_per_s'], 0)}"
                f" | {_f(row['redis_cores'], 2)} | {_f(row['table_gb_per_hour'], 2)} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="Requests per case and configuration.")
    parser.add_argument("--hashers", default="otp,owasp,hmac", help=f"Of {', '.join(HASHERS)}.")
    parser.add_argument("--databases", default="sqlite,postgres", help=f"Of {', '.join(DATABASES)}.")
    parser.add_argument("--threads", type=int, default=4, help="Client threads sending to the server.")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OCTOTP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="A database on the server, only used to create and drop a temporary one per configuration.",
    )
    parser.add_argument("--redis-port", type=int, default=0, help="Port of the private redis-server (default: free).")
    parser.add_argument("--no-wal", action="store_true", help="Skip the WAL figures (pg_walinspect).")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Where the .md and .json go.")
    args = parser.parse_args()
    hashers = [h for h in args.hashers.split(",") if h]
    databases = [d for d in args.databases.split(",") if d]
    for name, known in ((hashers, HASHERS), (databases, DATABASES)):
        unknown = set(name) - set(known)
        if unknown:
            parser.error(f"unknown {', '.join(sorted(unknown))}; choose from {', '.join(known)}")
    if "postgres" in databases and make_url(args.postgres_url).get_backend_name() != "postgresql":
        parser.error("--postgres-url must be a PostgreSQL URL")

    started = dt.datetime.now(dt.timezone.utc)
    load_before = machine()["load"]
    report: dict[str, Any] = {"runs": []}
    secret = secrets.token_bytes(32)
    report["hashers"] = {name: hash_costs(name, secret) for name in hashers}
    with PrivateRedis(args.redis_port) as redis_server:
        for db in databases:
            for hasher in hashers:
                report["runs"].append(measure(db, hasher, args, redis_server, wal=not args.no_wal))
        report["redis_benchmark"] = redis_server.benchmark(50_000) if "postgres" in databases else {}
        report["plan_window"] = plan_window_costs(redis_server, args.n) if "postgres" in databases else []
        redis_version = redis_server.version()
    report["sizing"] = sizing(report["runs"])
    packages = ("sqlalchemy", "psycopg", "argon2-cffi", "limits", "redis", "uvicorn", "fastapi")
    report["meta"] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", "benchmarks/capacity.py", *sys.argv[1:]]),
        "commit": commit(),
        "python": platform.python_version(),
        "versions": ", ".join(f"{p} {version(p)}" for p in packages),
        "machine": machine(),
        "load_before": load_before,
        "load_after": machine()["load"],
        "n": args.n,
        "threads": args.threads,
        "redis_version": redis_version,
        "utilisation": UTILISATION,
    }
    args.output.mkdir(parents=True, exist_ok=True)
    stem = args.output / f"capacity-{started.strftime('%Y%m%dT%H%M%SZ')}"
    text = render(report)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(text)
    print(f"written: {stem}.md, {stem}.json", file=sys.stderr)


if __name__ == "__main__":
    main()
