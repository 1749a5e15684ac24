"""octotp benchmarks: every adapter under load, side by side with reference endpoints.

    python benchmarks/run.py            # the full run (~20 minutes on 2 cores)
    python benchmarks/run.py --quick    # a few minutes, shorter runs and 100k instead of 1M tokens

See benchmarks/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from harness import wrk  # noqa: E402
from harness.data import LIMIT_SETTINGS, Project, Seeder, email, prepare, temporary_postgres  # noqa: E402
from harness.profiling import PySpy, summarise  # noqa: E402
from harness.servers import SERVERS, THREADS, WORKERS, RssSampler, RunningServer, ServerKind  # noqa: E402

DEFAULT_SERVERS = ["standalone", "fastapi", "flask", "django"]
CASES = ["hello", "reference", "create", "validate-ok", "validate-bad", "mixed"]
OCTOTP_CASES = ["create", "validate-ok", "validate-bad", "mixed"]
HASHERS = {"otp": {"OCTOTP_HASHER": "argon2", "OCTOTP_ARGON2_PROFILE": "otp"}, "hmac": {"OCTOTP_HASHER": "hmac"}}
DATABASES = ["sqlite", "postgres"]
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
EXPECTED = {
    "hello": "200",
    "reference": "201",
    "create": "201",
    "validate-ok": "200:approved",
    "validate-bad": "200:incorrect",
}

# Targets from issue 7 (goals to report against, not tests).
TARGET_OTP_VS_REFERENCE = 0.85
TARGET_HMAC_VS_HELLO = 0.40
TARGET_P99_OVER_P50 = 3.0
TARGET_LOOKUP_GROWTH = 1.2


@dataclass
class Config:
    seconds: float
    warmup: float
    connections: int
    threads: int
    lookup_small: int
    lookup_large: int
    lookup_seconds: float
    lookup_connections: int
    servers: list[str]
    databases: list[str]
    hashers: list[str]
    cases: list[str]
    lookup: bool
    nodelay_check: bool
    profile: bool
    postgres_url: str
    redis_url: str


@dataclass
class CaseResult:
    database: str
    server: str
    hasher: str
    case: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    cpu_ms_per_request: float
    peak_rss_mb: float
    outcomes: dict[str, int]
    errors: dict[str, int]
    vs_reference: float | None = None
    vs_hello: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def tail_ratio(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else math.inf


@dataclass
class LookupResult:
    database: str
    rows: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    outcomes: dict[str, int]
    plan: str


# -- one server under one configuration ----------------------------------------------------------
@contextmanager
def database(kind: str, config: Config, workdir: Path, label: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / (label + '.db')}"
    else:
        with temporary_postgres(config.postgres_url) as url:
            yield url


def server_env(config: Config, db: str, url: str, hasher: str, workdir: Path) -> dict[str, str]:
    return {
        "OCTOTP_DATABASE_URL": url,
        "OCTOTP_SECRET_KEY": secrets.token_urlsafe(32),
        "OCTOTP_DATA_DIR": str(workdir),
        "OCTOTP_RATE_LIMIT_STORAGE": "memory://" if db == "sqlite" else config.redis_url,
        **HASHERS[hasher],
        **LIMIT_SETTINGS,
    }


def _post(url: str, body: dict[str, Any], api_key: str) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Api-Key": api_key}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, json.loads(r.read())


def smoke(target: wrk.Target) -> None:
    """One create and one validate through the API: the server is configured as the benchmark expects."""
    recipient = email("smoke", 1, 1)
    base = target.url + target.prefix
    body: dict[str, Any] = {"projectId": target.project_id, "recipientEmail": recipient}
    status, created = _post(base + "/api/tokens", body, target.api_key)
    if status != 201 or "code" not in created:
        raise RuntimeError(f"smoke create failed: {status} {created}")
    body["code"] = created["code"]
    status, validated = _post(base + "/api/tokens/validate", body, target.api_key)
    if validated.get("status") != "approved":
        raise RuntimeError(f"smoke validate failed: {status} {validated}")


class Bench:
    def __init__(self, config: Config, workdir: Path, profile_dir: Path | None) -> None:
        self.config = config
        self.workdir = workdir
        self.profile_dir = profile_dir
        self.results: list[CaseResult] = []
        self.lookups: list[LookupResult] = []
        self._pool_no = 0

    def pool(self, letter: str) -> str:
        self._pool_no += 1
        return f"{letter}{self._pool_no}x"

    def load(
        self,
        server: RunningServer,
        target: wrk.Target,
        case: str,
        pool: str,
        seconds: float,
        connections: int | None = None,
        profile_as: str | None = None,
    ) -> tuple[wrk.WrkResult, float, float]:
        """Run one load; return wrk's numbers, server CPU ms per request and peak RSS in MB."""
        spy = None
        if profile_as and self.profile_dir is not None:
            spy = PySpy(server.proc.pid, self.profile_dir / f"{profile_as}.txt", seconds)
            time.sleep(0.5)  # let py-spy attach before the load starts
        cpu_before = server.tree.cpu_seconds()
        with RssSampler(server.tree) as rss:
            result = wrk.run(
                target,
                case,
                pool,
                seconds=seconds,
                connections=connections or self.config.connections,
                threads=self.config.threads,
                workdir=self.workdir,
            )
        cpu = server.tree.cpu_seconds() - cpu_before
        if spy is not None:
            spy.wait()
            summary = self.profile_dir / f"{profile_as}.summary.txt"  # type: ignore[operator]
            summary.write_text(summarise(spy.output))
        per_request = 1000 * cpu / result.requests if result.requests else math.nan
        return result, per_request, rss.peak / 2**20

    def run_server(self, db: str, kind: ServerKind, hasher: str, cases: list[str] | None = None) -> None:
        config = self.config
        label = f"{db}-{kind.name}-{hasher}"
        print(f"\n== {label}", flush=True)
        with database(db, config, self.workdir, label) as url:
            env = server_env(config, db, url, hasher, self.workdir)
            project = prepare(kind, env)
            server = RunningServer(kind, env, self.workdir / f"{label}.log")
            try:
                server.wait_ready()
                target = wrk.Target(server.url, kind.prefix, project.id, project.api_key)
                smoke(target)
                for case in ("hello", "reference", "create", "validate-bad"):
                    self.load(server, target, case, self.pool("w"), config.warmup)
                by_case: dict[str, CaseResult] = {}
                for case in cases or config.cases:
                    pool = self.pool(case[0])
                    if case in ("validate-ok", "validate-bad"):
                        self._seed(env, project, pool, by_case)
                    profile_as = f"{label}-{case}" if case in OCTOTP_CASES else None
                    result, cpu, rss = self.load(server, target, case, pool, config.seconds, profile_as=profile_as)
                    row = CaseResult(
                        db, kind.name, hasher, case, result.rps, result.p50_ms, result.p90_ms, result.p99_ms,
                        result.requests, cpu, rss, result.outcomes, result.errors,
                    )  # fmt: skip
                    self._annotate(row)
                    by_case[case] = row
                    print(
                        f"   {case:13} {row.rps:8.1f} req/s  p50 {row.p50_ms:7.2f} ms  p99 {row.p99_ms:7.2f} ms  "
                        f"cpu {row.cpu_ms_per_request:6.2f} ms/req  rss {row.peak_rss_mb:6.0f} MB  "
                        f"{' '.join(row.notes)}",
                        flush=True,
                    )
                for row in by_case.values():
                    if row.case in OCTOTP_CASES:
                        if "reference" in by_case and by_case["reference"].rps:
                            row.vs_reference = row.rps / by_case["reference"].rps
                        if "hello" in by_case and by_case["hello"].rps:
                            row.vs_hello = row.rps / by_case["hello"].rps
                    self.results.append(row)
            finally:
                server.stop()

    def _seed(self, env: dict[str, str], project: Project, pool: str, by_case: dict[str, CaseResult]) -> None:
        """Enough open tokens that a validate run never runs out: 3x what create managed, per wrk thread."""
        rate = by_case["create"].rps if "create" in by_case else 2000.0
        per_thread = max(500, math.ceil(3 * rate * self.config.seconds / self.config.threads))
        seeder = Seeder(env, project)
        try:
            seeder.seed_pool(pool, self.config.threads, per_thread)
        finally:
            seeder.close()

    @staticmethod
    def _annotate(row: CaseResult) -> None:
        total = sum(row.outcomes.values())
        expected = EXPECTED.get(row.case)
        if row.case == "mixed":
            good = row.outcomes.get("201:created", 0) + row.outcomes.get("200:approved", 0)
        else:
            good = row.outcomes.get(expected or "", 0)
        if total and good < total:
            others = {k: v for k, v in row.outcomes.items() if k not in (expected, "201:created", "200:approved")}
            row.notes.append(f"unexpected: {others}")
        errors = {k: v for k, v in row.errors.items() if v and k != "status"}
        if errors:
            row.notes.append(f"socket errors: {errors}")

    # -- lookup cost growth ------------------------------------------------------------------------
    def run_lookup(self, db: str) -> None:
        config = self.config
        kind = SERVERS["standalone"]
        label = f"{db}-lookup"
        print(f"\n== {label}: validate with {config.lookup_small:,} then {config.lookup_large:,} stored tokens")
        with database(db, config, self.workdir, label) as url:
            env = server_env(config, db, url, "hmac", self.workdir)
            project = prepare(kind, env)
            seeder = Seeder(env, project)
            pools = [self.pool("l"), self.pool("l")]
            per_pool = min(4500, config.lookup_small * 45 // 100)
            for pool in pools:
                seeder.seed_pool(pool, config.threads, per_pool // config.threads)
            seeder.fill(config.lookup_small - seeder.count())
            server = RunningServer(kind, env, self.workdir / f"{label}.log")
            try:
                server.wait_ready()
                target = wrk.Target(server.url, kind.prefix, project.id, project.api_key)
                for step, pool in enumerate(pools):
                    if step == 1:
                        started = time.monotonic()
                        seeder.fill(config.lookup_large - seeder.count())
                        seeder.analyze()
                        print(f"   filled to {seeder.count():,} rows in {time.monotonic() - started:.0f} s", flush=True)
                    self.load(server, target, "validate-bad", self.pool("w"), config.warmup)
                    result, _, _ = self.load(
                        server, target, "validate-ok", pool, config.lookup_seconds, config.lookup_connections
                    )
                    rows = seeder.count()
                    row = LookupResult(
                        db, rows, result.rps, result.p50_ms, result.p99_ms, result.requests, result.outcomes,
                        seeder.lookup_plan(),
                    )  # fmt: skip
                    self.lookups.append(row)
                    print(
                        f"   {rows:>9,} rows  {row.rps:8.1f} req/s  p50 {row.p50_ms:6.2f} ms  p99 {row.p99_ms:6.2f} ms"
                        f"  {row.outcomes}",
                        flush=True,
                    )
            finally:
                server.stop()
                seeder.close()


# -- the report --------------------------------------------------------------------------------------
def _versions() -> str:
    names = ["fastapi", "uvicorn", "flask", "django", "gunicorn", "sqlalchemy", "psycopg", "argon2-cffi", "limits"]
    found = []
    for name in names:
        with suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def _git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True)
    return out.stdout.strip() or "?"


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _targets(row: CaseResult) -> str:
    marks = []
    if row.hasher == "otp" and row.case == "create" and row.vs_reference is not None:
        ok = row.vs_reference >= TARGET_OTP_VS_REFERENCE
        marks.append(f"{'✅' if ok else '❌'} ≥{TARGET_OTP_VS_REFERENCE}xref")
    if row.hasher == "hmac" and row.case in OCTOTP_CASES and row.vs_hello is not None:
        ok = row.vs_hello >= TARGET_HMAC_VS_HELLO
        marks.append(f"{'✅' if ok else '❌'} ≥{TARGET_HMAC_VS_HELLO}xhello")
    if row.case in OCTOTP_CASES:
        ok = row.tail_ratio <= TARGET_P99_OVER_P50
        marks.append(f"{'✅' if ok else '❌'} p99≤{TARGET_P99_OVER_P50:g}xp50")
    return " ".join(marks)


def report(bench: Bench, config: Config, started: dt.datetime, loads: tuple[str, str]) -> str:
    lines = [
        f"# octotp benchmark — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- commit `{_git_commit()}`; Python {platform.python_version()}; {_versions()}",
        f"- machine: {os.cpu_count()} cores; load before: `{loads[0]}`; after: `{loads[1]}`",
        f"- servers: {WORKERS} worker processes each (uvicorn workers; gunicorn gthread x {THREADS} threads); "
        f"wrk -t{config.threads} -c{config.connections}, {config.seconds:g} s per case after a "
        f"{config.warmup:g} s warm-up",
        "- sqlite: one file, rate limits `memory://`; postgres: a temporary database + Redis rate limits",
        "- `xref` = octotp req/s ÷ reference-create req/s; `xhello` = ÷ hello-world req/s, same server run; "
        "CPU and RSS are the server's whole process tree (master + workers)",
        "",
        "| db | server | hasher | case | req/s | p50 ms | p99 ms | p99/p50 | CPU ms/req | peak RSS MB "
        "| xref | xhello | targets | notes |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in bench.results:
        lines.append(
            f"| {r.database} | {r.server} | {r.hasher} | {r.case} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.tail_ratio:.1f} | {_fmt(r.cpu_ms_per_request)} | {r.peak_rss_mb:.0f} | {_fmt(r.vs_reference)} "
            f"| {_fmt(r.vs_hello)} | {_targets(r)} | {'; '.join(r.notes)} |"
        )
    if bench.lookups:
        lines += [
            "",
            f"## Validate lookup growth (standalone, hmac hasher, wrk -c{config.lookup_connections}, "
            f"{config.lookup_seconds:g} s)",
            "",
            "| db | stored tokens | req/s | p50 ms | p99 ms | p50 ÷ p50 at smallest | outcomes | lookup plan |",
            "|---|--:|--:|--:|--:|--:|---|---|",
        ]
        base: dict[str, float] = {}
        for lk in bench.lookups:
            base.setdefault(lk.database, lk.p50_ms)
            growth = lk.p50_ms / base[lk.database] if base[lk.database] else math.nan
            mark = (
                ""
                if lk.rows == min(x.rows for x in bench.lookups if x.database == lk.database)
                else (" ✅" if growth <= TARGET_LOOKUP_GROWTH else " ❌")
            )
            lines.append(
                f"| {lk.database} | {lk.rows:,} | {lk.rps:.0f} | {lk.p50_ms:.2f} | {lk.p99_ms:.2f} "
                f"| {growth:.2f}{mark} | {lk.outcomes} | {lk.plan} |"
            )
    return "\n".join(lines) + "\n"


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes)")
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS), help="comma-separated: %(default)s")
    parser.add_argument("--databases", default=",".join(DATABASES), help="comma-separated: %(default)s")
    parser.add_argument("--hashers", default=",".join(HASHERS), help="comma-separated: %(default)s")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: %(default)s")
    parser.add_argument("--seconds", type=float, help="seconds per case (default 6, quick 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default %(default)s)")
    parser.add_argument("--lookup-rows", type=int, help="large table size (default 1,000,000; quick 100,000)")
    parser.add_argument("--no-lookup", action="store_true", help="skip the lookup growth measurement")
    parser.add_argument(
        "--no-nodelay-check",
        action="store_true",
        help="skip the run of octotp serve's socket as shipped (hello and create, hmac, first database)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy every octotp case (slower; separate run)")
    args = parser.parse_args(argv)

    def pick(value: str, allowed: list[str]) -> list[str]:
        chosen = [v.strip() for v in value.split(",") if v.strip()]
        unknown = set(chosen) - set(allowed)
        if unknown:
            parser.error(f"unknown {sorted(unknown)}; choose from {allowed}")
        return chosen

    quick = args.quick
    seconds = args.seconds or (2.0 if quick else 6.0)
    cases = pick(args.cases, CASES)
    return Config(
        seconds=seconds,
        warmup=1.0,
        connections=args.connections,
        threads=1,
        lookup_small=10_000,
        lookup_large=args.lookup_rows or (100_000 if quick else 1_000_000),
        lookup_seconds=seconds,
        lookup_connections=2,
        servers=pick(args.servers, list(SERVERS)),
        nodelay_check=not args.no_nodelay_check,
        databases=pick(args.databases, DATABASES),
        hashers=pick(args.hashers, list(HASHERS)),
        cases=[c for c in CASES if c in cases],
        lookup=not args.no_lookup,
        profile=args.profile,
        postgres_url=os.environ.get("OCTOTP_TEST_POSTGRES_URL", POSTGRES_URL),
        redis_url=os.environ.get("OCTOTP_TEST_REDIS_URL", REDIS_URL),
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    wrk.ensure_wrk()
    started = dt.datetime.now(dt.timezone.utc)
    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    profile_dir = results_dir / f"{stamp}-profiles" if config.profile else None
    if profile_dir is not None:
        profile_dir.mkdir()
    load_before = _uptime()
    clock = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"octotp-bench-{stamp}-"))
    bench = Bench(config, workdir, profile_dir)
    try:
        for db in config.databases:
            for name in config.servers:
                for hasher in config.hashers:
                    bench.run_server(db, SERVERS[name], hasher)
        if config.nodelay_check and "standalone" in config.servers:
            shipped = SERVERS["standalone-nodelay-bug"]
            bench.run_server(config.databases[0], shipped, "hmac", ["hello", "create"])
        if config.lookup:
            for db in config.databases:
                bench.run_lookup(db)
    finally:
        for path in workdir.glob("*.db*"):
            path.unlink()
        print(f"\nserver logs and load scripts: {workdir}", file=sys.stderr)
    text = report(bench, config, started, (load_before, _uptime()))
    text += f"\nTotal time: {time.monotonic() - clock:.0f} s.\n"
    out = results_dir / f"{stamp}.md"
    out.write_text(text)
    (results_dir / f"{stamp}.json").write_text(
        json.dumps(
            {
                "config": asdict(config),
                "results": [asdict(r) for r in bench.results],
                "lookups": [asdict(lk) for lk in bench.lookups],
            },
            indent=1,
        )
    )
    print("\n" + text)
    print(f"written to {out.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
