"""Starting each benchmarked server on 127.0.0.1 and measuring its process tree (CPU, peak RSS)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent.parent
WORKERS = 2  # one per core
THREADS = 4  # gunicorn gthread threads per worker


@dataclass(frozen=True)
class ServerKind:
    """One way of serving octotp: how to start it and where octotp's API is mounted."""

    name: str
    title: str
    prefix: str  # where the octotp API lives; the reference routes are always at /bench/...
    django: bool = False
    health: str = "/bench/hello"  # the first URL to answer 200 once the server is up

    def command(self, port: int) -> list[str]:
        py = sys.executable
        bind = f"127.0.0.1:{port}"
        if self.name == "serve":
            return [py, "-m", "octotp_core.cli", "serve", "--port", str(port), "--workers", str(WORKERS)]
        if self.name == "serve-importtime":  # one worker: every import is in the process -X importtime reports on
            return [py, "-X", "importtime", "-m", "octotp_core.cli", "serve", "--port", str(port)]
        if self.name in ("standalone", "fastapi", "standalone-nodelay-bug"):
            app = "host" if self.name == "fastapi" else "standalone"
            sock = "uvicorn" if self.name == "standalone-nodelay-bug" else "tcp"
            return [
                py, "-m", "benchapps.serve_uvicorn", "--app", app, "--socket", sock,
                "--port", str(port), "--workers", str(WORKERS),
            ]  # fmt: skip
        gunicorn = [py, "-m", "gunicorn", "-w", str(WORKERS), "--threads", str(THREADS), "-b", bind]
        if self.name == "flask":
            return [*gunicorn, "benchapps.flask_host:create_app()"]
        if self.name == "django":
            return [*gunicorn, "benchapps.django_host.wsgi:application"]
        raise ValueError(self.name)


SERVERS = {
    s.name: s
    for s in [
        ServerKind("standalone", "octotp serve (uvicorn)", ""),
        # The standalone app on the socket uvicorn.run(workers=N) binds itself (no TCP_NODELAY), as a plain
        # ``uvicorn --workers N`` serves it; octotp serve binds its own (see serve_uvicorn.py)
        ServerKind("standalone-nodelay-bug", "the standalone app on uvicorn's own socket (no TCP_NODELAY)", ""),
        ServerKind("fastapi", "FastAPI host (uvicorn)", "/octotp"),
        ServerKind("flask", "Flask host (gunicorn gthread)", "/octotp"),
        ServerKind("django", "Django host (gunicorn gthread)", "/octotp", django=True),
    ]
}
# Only timed from start to first 200 (no /bench routes): the real `octotp serve` command, as shipped.
SERVE = ServerKind("serve", "octotp serve (the CLI, as shipped)", "", health="/healthz")
SERVE_IMPORTTIME = ServerKind("serve-importtime", "octotp serve, one worker, -X importtime", "", health="/healthz")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_environ(env: dict[str, str]) -> dict[str, str]:
    """The process environment for a server or a Django management command."""
    return {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")])),
        "DJANGO_SETTINGS_MODULE": "benchapps.django_host.settings",
    }


class RssSampler:
    """Peak resident memory of a process tree, sampled in a thread while a load runs: ``peak`` is the
    largest sum over the tree, ``worker_peak`` the largest single worker's (any process but the root)."""

    def __init__(self, tree: ProcessTree, interval: float = 0.1) -> None:
        self.tree, self.interval, self.peak, self.worker_peak = tree, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        per_process = self.tree.rss_by_process()
        self.peak = max(self.peak, sum(per_process.values()))
        workers = [rss for pid, rss in per_process.items() if pid != self.tree.root.pid]
        self.worker_peak = max([self.worker_peak, *workers])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


class ProcessTree:
    """A server's master process and all its workers."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.processes():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss(self) -> int:
        return sum(self.rss_by_process().values())

    def rss_by_process(self) -> dict[int, int]:
        """Resident memory of each live process of the tree, by pid."""
        found = {}
        for p in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                found[p.pid] = p.memory_info().rss
        return found

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self.processes()[1:]]


class RunningServer:
    """A server process on a free port, stopped with SIGTERM (then SIGKILL) when done."""

    def __init__(self, kind: ServerKind, env: dict[str, str], log_path: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            kind.command(self.port),
            env=server_environ(env),
            cwd=BENCH_DIR,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.tree = ProcessTree(self.proc.pid)

    def wait_ready(self, timeout: float = 120.0, *, interval: float = 0.2, all_workers: bool = True) -> float:
        """Poll the kind's health URL until it answers 200 (and, with ``all_workers``, every worker
        process is up); the monotonic time it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind.name} exited:\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url + self.kind.health, timeout=2) as r:
                    answered = time.monotonic()
                    if r.status == 200 and (not all_workers or len(self.tree.worker_pids()) >= WORKERS):
                        return answered
            except OSError:
                pass
            time.sleep(interval)
        raise RuntimeError(f"{self.kind.name} did not start:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
