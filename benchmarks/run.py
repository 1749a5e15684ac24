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

from harness import peer, wrk  # noqa: E402
from harness.data import CODE, LIMIT_SETTINGS, Project, Seeder, email, prepare, temporary_postgres  # noqa: E402
from harness.probe import ProbeResult, probe  # noqa: E402
from harness.profiling import PySpy, summarise  # noqa: E402
from harness.servers import SERVE, SERVERS, THREADS, WORKERS, RssSampler, RunningServer, ServerKind  # noqa: E402
from harness.start import ImportCost, StartResult, serve_imports, time_starts  # noqa: E402

DEFAULT_SERVERS = ["standalone", "fastapi", "flask", "django"]
CASES = ["hello", "reference", "create", "validate-ok", "validate-bad", "mixed"]
OCTOTP_CASES = ["create", "validate-ok", "validate-bad", "mixed"]
HASHERS = {"otp": {"OCTOTP_HASHER": "argon2", "OCTOTP_ARGON2_PROFILE": "otp"}, "hmac": {"OCTOTP_HASHER": "hmac"}}
DATABASES = ["sqlite", "postgres"]
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
START_RUNS = 5
EXPECTED = {
    "hello": "200",
    "reference": "201",
    "create": "201",
    "validate-ok": "200:approved",
    "validate-bad": "200:incorrect",
}

# Targets from issue 18 (goals to report against, not tests).
TARGET_VS_REFERENCE = {"otp": 0.90, "hmac": 0.85}  # octotp create and validate-ok ÷ reference create
TARGET_P99_OVER_P50 = 2.0  # judged on PostgreSQL rows; informational on SQLite (one writer)
TARGET_LOOKUP_GROWTH = 1.1
TARGET_VS_PEER = {"hmac": 1.5, "otp": 0.45}  # octotp-django ÷ django-otp, create and validate-ok
OVERHEAD_CASES = ("create", "validate-ok")


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
    peer: bool
    probe_tries: int
    start: bool
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
    worker_peak_rss_mb: float
    outcomes: dict[str, int]
    errors: dict[str, int]
    vs_reference: float | None = None
    ref_cpu_ms_per_request: float | None = None
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
        self.probes: list[ProbeResult] = []
        self.starts: list[StartResult] = []
        self.imports: list[ImportCost] = []
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
    ) -> tuple[wrk.WrkResult, float, float, float]:
        """Run one load; return wrk's numbers, server CPU ms per request, and peak RSS in MB of the
        tree and of its largest worker."""
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
        return result, per_request, rss.peak / 2**20, rss.worker_peak / 2**20

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
                    by_case[case] = self._measure(server, target, (db, kind.name, hasher, case), case, pool, profile_as)
                for row in by_case.values():
                    reference = by_case.get("reference")
                    if row.case in OCTOTP_CASES and reference is not None and reference.rps:
                        row.vs_reference = row.rps / reference.rps
                        row.ref_cpu_ms_per_request = reference.cpu_ms_per_request
                    self.results.append(row)
                if self._peer_here(kind, hasher, cases):
                    self.run_peer(db, hasher, env, project, server, target)
            finally:
                server.stop()

    def _measure(
        self,
        server: RunningServer,
        target: wrk.Target,
        labels: tuple[str, str, str, str],
        load_case: str,
        pool: str,
        profile_as: str | None = None,
    ) -> CaseResult:
        """One measured load as a row labelled (database, server, hasher, case); printed as it ends."""
        result, cpu, rss, worker_rss = self.load(
            server, target, load_case, pool, self.config.seconds, profile_as=profile_as
        )
        row = CaseResult(
            *labels, result.rps, result.p50_ms, result.p90_ms, result.p99_ms, result.requests, cpu, rss, worker_rss,
            result.outcomes, result.errors,
        )  # fmt: skip
        self._annotate(row)
        print(
            f"   {row.case:13} {row.rps:8.1f} req/s  p50 {row.p50_ms:7.2f} ms  p99 {row.p99_ms:7.2f} ms  "
            f"cpu {row.cpu_ms_per_request:6.2f} ms/req  rss {row.peak_rss_mb:6.0f} MB (worker "
            f"{row.worker_peak_rss_mb:.0f})  {' '.join(row.notes)}",
            flush=True,
        )
        return row

    # -- the django-otp peer and the double-accept probe ------------------------------------------
    def _pool_size(self, server: str, db: str, case: str, seconds: float) -> int:
        """3x what octotp-django (hmac) managed in ``case`` on ``db`` in ``seconds``, at least 500."""
        rates = [r.rps for r in self.results if (r.server, r.database, r.case) == (server, db, case)]
        return max(500, math.ceil(3 * max(rates, default=1500.0) * seconds / self.config.threads))

    def _peer_here(self, kind: ServerKind, hasher: str, cases: list[str] | None) -> bool:
        """The peer runs in the Django host's ``hmac`` run (or its only run), after octotp's cases."""
        config = self.config
        chosen = "hmac" if "hmac" in config.hashers else config.hashers[0]
        return config.peer and kind.django and hasher == chosen and cases is None

    def run_peer(
        self, db: str, hasher: str, env: dict[str, str], project: Project, server: RunningServer, target: wrk.Target
    ) -> None:
        """django-otp's rows, then the double-accept probe of both, in the server and database that
        octotp-django's rows just used."""
        config = self.config
        print(f"   -- {peer.SERVER} (same server and database)", flush=True)
        pools = {case: self.pool("p") for case in ("warm", *peer.CASES)}
        sizes = {case: self._pool_size("django", db, case, config.seconds) for case in peer.CASES}
        peer.seed_devices(env, pools["warm"], config.threads, self._pool_size("django", db, "create", config.warmup))
        peer.seed_devices(env, pools["create"], config.threads, sizes["create"])
        peer.seed_devices(env, pools["validate-ok"], config.threads, sizes["validate-ok"], token=CODE)
        self.load(server, target, "peer-create", pools["warm"], config.warmup)
        for case, load_case in peer.CASES.items():
            labels = (db, peer.SERVER, peer.HASHER, case)
            self.results.append(self._measure(server, target, labels, load_case, pools[case]))
        if config.probe_tries:
            self._probe(db, hasher, env, project, server)

    def _probe(self, db: str, hasher: str, env: dict[str, str], project: Project, server: RunningServer) -> None:
        tries = self.config.probe_tries
        octotp_pool, peer_pool = self.pool("q"), self.pool("q")
        seeder = Seeder(env, project)
        try:
            seeder.seed_pool(octotp_pool, 1, tries)
        finally:
            seeder.close()
        peer.seed_devices(env, peer_pool, 1, tries, token=CODE)
        api_key = {"X-Api-Key": project.api_key}
        octotp_bodies = (
            {"projectId": project.id, "recipientEmail": email(octotp_pool, 1, n), "code": CODE}
            for n in range(1, tries + 1)
        )
        peer_bodies = ({"user": email(peer_pool, 1, n), "code": CODE} for n in range(1, tries + 1))
        url = server.url + SERVERS["django"].prefix + "/api/tokens/validate"
        for result in (
            probe(db, f"django (octotp-django, {hasher})", url, octotp_bodies, api_key),
            probe(db, f"{peer.SERVER} (peer)", server.url + "/peer/validate", peer_bodies, {}),
        ):
            self.probes.append(result)
            print(f"   probe {result.server}: {asdict(result)}", flush=True)

    # -- start-up ----------------------------------------------------------------------------------
    def run_start(self) -> None:
        """Median of START_RUNS starts to the first 200 per server kind, on SQLite, and serve's imports."""
        print(f"\n== start: {START_RUNS} starts of each server, sqlite", flush=True)
        for kind in [SERVE, *(SERVERS[name] for name in self.config.servers)]:
            label = f"start-{kind.name}"
            with database("sqlite", self.config, self.workdir, label) as url:
                env = server_env(self.config, "sqlite", url, "hmac", self.workdir)
                if kind is SERVE:  # serve refuses per-process limits with several workers
                    env["OCTOTP_RATE_LIMIT_STORAGE"] = "database://"
                prepare(SERVERS["django"] if kind.django else SERVERS["standalone"], env)
                started = time_starts(kind, env, self.workdir, START_RUNS)
                self.starts.append(started)
                print(f"   {kind.name:10} median {started.median:.2f} s  {[round(x, 2) for x in started.seconds]}")
                if kind is SERVE:
                    self.imports = serve_imports(env, self.workdir)

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
                    result, *_ = self.load(
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


def _mark(ok: bool, text: str, informational: bool = False) -> str:
    mark = f"{'✅' if ok else '❌'} {text}"
    return f"({mark})" if informational else mark


def _targets(row: CaseResult) -> str:
    marks = []
    goal = TARGET_VS_REFERENCE.get(row.hasher)
    if row.case in OVERHEAD_CASES and goal is not None and row.vs_reference is not None:
        marks.append(_mark(row.vs_reference >= goal, f"≥{goal:g}xref"))
    if row.case in OCTOTP_CASES and row.server != peer.SERVER:
        ok = row.tail_ratio <= TARGET_P99_OVER_P50
        marks.append(_mark(ok, f"p99≤{TARGET_P99_OVER_P50:g}xp50", informational=row.database == "sqlite"))
    return " ".join(marks)


def _main_table(bench: Bench) -> list[str]:
    lines = [
        "| db | server | hasher | case | req/s | p50 ms | p99 ms | p99/p50 | CPU ms/req | ref CPU ms/req "
        "| CPU − ref "  # noqa: RUF001 - the column's name, as issue 18 spells it
        "| peak RSS MB | worker RSS MB | xref | targets | notes |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in bench.results:
        extra = None if r.ref_cpu_ms_per_request is None else r.cpu_ms_per_request - r.ref_cpu_ms_per_request
        lines.append(
            f"| {r.database} | {r.server} | {r.hasher} | {r.case} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.tail_ratio:.1f} | {_fmt(r.cpu_ms_per_request)} | {_fmt(r.ref_cpu_ms_per_request)} "
            f"| {_fmt(extra, '+.2f')} "
            f"| {r.peak_rss_mb:.0f} | {r.worker_peak_rss_mb:.0f} | {_fmt(r.vs_reference)} | {_targets(r)} "
            f"| {'; '.join(r.notes)} |"
        )
    return lines


def _peer_table(bench: Bench) -> list[str]:
    """octotp-django against django-otp, per database and case, with issue 18's targets."""
    rows = {(r.database, r.server, r.hasher, r.case): r for r in bench.results}
    peer_rows = [r for r in bench.results if r.server == peer.SERVER]
    if not peer_rows:
        return []
    lines = [
        "",
        "## Peer: octotp-django against django-otp",
        "",
        "Measured in the same server process and database as octotp-django's hmac rows, right after them, "
        "with the same wrk load; django-otp's email device "
        "(plain-text token, e-mail rendered into the locmem backend) behind `POST /peer/create` "
        "(`generate_challenge()`) and `POST /peer/validate` (`verify_token()`). Ratio = octotp-django "
        "req/s ÷ django-otp req/s. " + ", ".join(f"target `{h}` ≥ {g:g}x" for h, g in TARGET_VS_PEER.items()),
        "",
        "| db | case | django-otp req/s | CPU ms/req | worker RSS MB | octotp hmac req/s | ratio "
        "| octotp otp req/s | ratio |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for p in peer_rows:
        cells = []
        for hasher, goal in TARGET_VS_PEER.items():
            mine = rows.get((p.database, "django", hasher, p.case))
            if mine is None or not p.rps:
                cells += ["", ""]
                continue
            ratio = mine.rps / p.rps
            cells += [f"{mine.rps:.0f}", _mark(ratio >= goal, f"{ratio:.2f}")]
        lines.append(
            f"| {p.database} | {p.case} | {p.rps:.0f} | {_fmt(p.cpu_ms_per_request)} | {p.worker_peak_rss_mb:.0f} "
            f"| {' | '.join(cells)} |"
        )
    return lines


def _probe_table(bench: Bench) -> list[str]:
    if not bench.probes:
        return []
    lines = [
        "",
        "## Double-accept probe",
        "",
        "Each try: a fresh token (device) and its right code, sent twice at once (two connections "
        "opened first, the requests released together by a `threading.Barrier`) to the Django host.",
        "",
        "| db | validate of | codes tried | accepted twice | accepted once | accepted by neither | errors |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for p in bench.probes:
        lines.append(
            f"| {p.database} | {p.server} | {p.tried} | {p.accepted_twice} | {p.accepted_once} "
            f"| {p.accepted_never} | {p.errors} |"
        )
    return lines


def _start_section(bench: Bench) -> list[str]:
    if not bench.starts and not bench.results:
        return []
    lines = ["", "## Start and memory"]
    if bench.starts:
        lines += [
            "",
            f"Seconds from the process's start (`Popen`) to the first 200 on its health URL, {START_RUNS} starts "
            "on a SQLite file already migrated; `serve` is `octotp serve` as shipped (`/healthz`; "
            "`OCTOTP_RATE_LIMIT_STORAGE=database://`, which it requires with 2 workers), the others "
            "run.py's servers (`/bench/hello`).",
            "",
            "| server | command | median s | each start s |",
            "|---|---|--:|---|",
        ]
        for st in bench.starts:
            each = ", ".join(f"{x:.2f}" for x in st.seconds)
            lines.append(f"| {st.server} | `{st.command}` | {st.median:.2f} | {each} |")
    if bench.imports:
        lines += [
            "",
            f"`octotp serve`'s {len(bench.imports)} largest cumulative imports "
            "(`python -X importtime -m octotp_core.cli serve`, one worker; depth 0 = imported by the CLI's "
            "`__main__` or the interpreter):",
            "",
            "| module | cumulative ms | self ms | depth |",
            "|---|--:|--:|--:|",
        ]
        lines += [f"| `{c.module}` | {c.cumulative_ms:.1f} | {c.self_ms:.1f} | {c.depth} |" for c in bench.imports]
    if bench.results:
        lines += [
            "",
            "Peak RSS over each server's measured cases (MB): the largest single worker, and the whole tree.",
            "",
            "| db | server | hasher | largest worker | tree |",
            "|---|---|---|--:|--:|",
        ]
        peaks: dict[tuple[str, str, str], tuple[float, float]] = {}
        for r in bench.results:
            w, t = peaks.get((r.database, r.server, r.hasher), (0.0, 0.0))
            peaks[(r.database, r.server, r.hasher)] = (max(w, r.worker_peak_rss_mb), max(t, r.peak_rss_mb))
        lines += [f"| {d} | {s} | {h} | {w:.0f} | {t:.0f} |" for (d, s, h), (w, t) in peaks.items()]
    return lines


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
        "- `xref` = octotp req/s ÷ reference-create req/s, same server run; `ref CPU ms/req` = the reference "
        "create's CPU ms/req in that run, `CPU − ref` = octotp's minus it; "  # noqa: RUF001
        "CPU and `peak RSS` are the server's whole process tree (master + workers), "
        "`worker RSS` the largest single worker's peak",
        f"- targets (issue 18): create and validate-ok ≥ {TARGET_VS_REFERENCE['otp']:g} xref (`otp`), "
        f"≥ {TARGET_VS_REFERENCE['hmac']:g} xref (`hmac`); p99 ≤ {TARGET_P99_OVER_P50:g} x p50 on PostgreSQL "
        "(in parentheses on SQLite: informational, one writer at a time); lookup growth ≤ "
        f"{TARGET_LOOKUP_GROWTH:g}; peer ratios in their own section",
        "",
        *_main_table(bench),
    ]
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
    lines += _peer_table(bench) + _probe_table(bench) + _start_section(bench)
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
    parser.add_argument("--no-peer", action="store_true", help="skip the django-otp peer rows and the probe")
    parser.add_argument(
        "--probe-tries", type=int, default=300, help="double-accept tries (default %(default)s; 0 skips)"
    )
    parser.add_argument("--no-start", action="store_true", help="skip the start-up times and serve's imports")
    parser.add_argument(
        "--no-nodelay-check",
        action="store_true",
        help="skip the run on uvicorn's own socket, as plain uvicorn --workers N binds it "
        "(hello and create, hmac, first database)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OCTOTP_TEST_REDIS_URL", REDIS_URL),
        help="Redis for the PostgreSQL rows' rate limits (default: $OCTOTP_TEST_REDIS_URL or %(default)s)",
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
        peer=not args.no_peer,
        probe_tries=args.probe_tries,
        start=not args.no_start,
        profile=args.profile,
        postgres_url=os.environ.get("OCTOTP_TEST_POSTGRES_URL", POSTGRES_URL),
        redis_url=args.redis_url,
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
            uvicorn_socket = SERVERS["standalone-nodelay-bug"]
            bench.run_server(config.databases[0], uvicorn_socket, "hmac", ["hello", "create"])
        if config.lookup:
            for db in config.databases:
                bench.run_lookup(db)
        if config.start:
            bench.run_start()
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
                "double_accept_probe": [asdict(p) for p in bench.probes],
                "start_and_memory": {
                    "starts": [{**asdict(st), "median": st.median} for st in bench.starts],
                    "serve_imports": [asdict(c) for c in bench.imports],
                    "worker_peak_rss_mb": {
                        f"{r.database}/{r.server}/{r.hasher}/{r.case}": r.worker_peak_rss_mb for r in bench.results
                    },
                },
            },
            indent=1,
        )
    )
    print("\n" + text)
    print(f"written to {out.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
