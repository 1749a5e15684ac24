"""A ``redis-server`` of the benchmark's own, so that its ``INFO`` counters see nobody else's traffic."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

from .servers import free_port


class PrivateRedis:
    """``redis-server`` on 127.0.0.1 (``port``, or a free one), without persistence; a context manager."""

    def __init__(self, port: int = 0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="octotp-capacity-redis-")
        log = Path(self._dir.name) / "redis.log"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self._dir.name, "--logfile", str(log)],
        )  # fmt: skip
        self.client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"redis-server on port {self.port} did not start:\n{log.read_text()}") from None
                time.sleep(0.05)

    def version(self) -> str:
        return str(self.client.info("server")["redis_version"])

    def benchmark(self, requests: int = 200_000, clients: int = 8) -> dict[str, dict[str, float]]:
        """``redis-benchmark`` for a few simple commands: requests/s as the tool saw them, and requests
        per second of the server's own CPU (``INFO cpu`` around each command), which is what one core
        of Redis does whatever else the machine runs."""
        binary = shutil.which("redis-benchmark")
        if binary is None:
            return {}
        results: dict[str, dict[str, float]] = {}
        for command in ("set", "get", "incr", "lpush"):
            before = self._cpu()
            out = subprocess.run(
                [binary, "-h", "127.0.0.1", "-p", str(self.port), "-q", "-n", str(requests), "-c", str(clients),
                 "-t", command],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            cpu = self._cpu() - before
            found = re.findall(r"([\d.]+) requests per second", out)  # -q: the final figure comes last
            results[command] = {
                "requests_per_second": float(found[-1]) if found else float("nan"),
                "requests_per_cpu_second": requests / cpu if cpu > 0 else float("nan"),
            }
        self.client.flushall()
        return results

    def _cpu(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self._dir.cleanup()

    def __enter__(self) -> PrivateRedis:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
