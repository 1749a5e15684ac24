"""Start-up: time from process start to the first 200 on a server's health URL, and what
``octotp serve`` spends importing (``python -X importtime``)."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .servers import BENCH_DIR, RunningServer, ServerKind, free_port, server_environ

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)\s*$")


@dataclass
class StartResult:
    server: str
    command: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class ImportCost:
    module: str
    cumulative_ms: float
    self_ms: float
    depth: int


def _first_200(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> float:
    """Poll ``url`` every 10 ms until it answers 200; the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"no 200 from {url} within {timeout:g} s")


def _shown(args: list[str], port: int) -> str:
    """A command as the report shows it: ``python`` for this interpreter, ``PORT`` for the free port."""
    words = ["python" if a == sys.executable else a for a in args]
    return " ".join(words).replace(str(port), "PORT")


def time_starts(kind: ServerKind, env: dict[str, str], workdir: Path, runs: int = 5) -> StartResult:
    """Start ``kind`` ``runs`` times; seconds from ``Popen`` to the first 200 on its health URL."""
    seconds = []
    command = ""
    for i in range(runs):
        server = RunningServer(kind, env, workdir / f"start-{kind.name}-{i}.log")
        command = _shown(server.proc.args, server.port)  # type: ignore[arg-type]
        try:
            ready = _first_200(server.url + kind.health, server.proc)
            seconds.append(ready - server.started)
        except RuntimeError as exc:
            raise RuntimeError(f"{kind.name}: {exc}\n{server.log_path.read_text()[-4000:]}") from exc
        finally:
            server.stop()
    return StartResult(kind.name, command, seconds)


def parse_importtime(stderr: str) -> list[ImportCost]:
    """Every line of ``-X importtime`` output, as ``ImportCost`` (depth 0 = imported by ``__main__``)."""
    found = []
    for line in stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            self_us, cumulative_us, indent, module = m.groups()
            found.append(ImportCost(module, int(cumulative_us) / 1000, int(self_us) / 1000, len(indent) // 2))
    return found


def serve_imports(env: dict[str, str], workdir: Path, top: int = 15) -> list[ImportCost]:
    """The ``top`` largest cumulative imports of ``octotp serve`` (one worker, so that every import is
    in the process ``-X importtime`` reports on), taken once it answers 200 on /healthz."""
    port = free_port()
    err_path = workdir / "serve-importtime.log"
    cmd = [sys.executable, "-X", "importtime", "-m", "octotp_core.cli", "serve", "--port", str(port)]
    with err_path.open("wb") as err:
        proc = subprocess.Popen(cmd, env=server_environ(env), cwd=BENCH_DIR, stdout=err, stderr=err)
        try:
            _first_200(f"http://127.0.0.1:{port}/healthz", proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    costs = parse_importtime(err_path.read_text(errors="replace"))
    return sorted(costs, key=lambda c: c.cumulative_ms, reverse=True)[:top]
