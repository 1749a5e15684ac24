"""Start-up: time from process start to the first 200 on a server's health URL, and what
``octotp serve`` spends importing (``python -X importtime``)."""

from __future__ import annotations

import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from .servers import SERVE_IMPORTTIME, RunningServer, ServerKind

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
        try:  # the first 200, polled every 10 ms
            seconds.append(server.wait_ready(interval=0.01, all_workers=False) - server.started)
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
    server = RunningServer(SERVE_IMPORTTIME, env, workdir / "serve-importtime.log")
    try:
        server.wait_ready(interval=0.01, all_workers=False)
    finally:
        server.stop()
    costs = parse_importtime(server.log_path.read_text(errors="replace"))
    return sorted(costs, key=lambda c: c.cumulative_ms, reverse=True)[:top]
