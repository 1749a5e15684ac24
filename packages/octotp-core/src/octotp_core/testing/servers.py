"""Real server processes for tests: ``octotp serve`` (or any command) on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from .http_clients import UrlClient


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without its ``OCTOTP_*`` settings (test URLs kept), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOTP_") or k.startswith("OCTOTP_TEST_")}
    env.update(extra)
    return env


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    """Poll ``url + /healthz`` until it answers 200; raise with the server's output if it exits or stalls."""
    deadline = time.monotonic() + timeout
    client = UrlClient(url, timeout=2)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if client.request("GET", "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not become healthy:\n{log.read_text()}")


class ServeProcess:
    """``octotp serve`` in a subprocess; ``env`` must hold at least ``OCTOTP_DATA_DIR`` (its log goes there).

    Stop it with ``stop()`` (SIGTERM: uvicorn shuts down gracefully, then re-raises the signal, so the
    exit status is -15), or use it as a context manager.
    """

    def __init__(self, env: dict[str, str], *, workers: int = 1, startup_timeout: float = 90.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(env["OCTOTP_DATA_DIR"]) / f"serve-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "octotp_core.cli", "serve", "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [*command, "--workers", str(workers)], env=clean_environment(env), stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_until_healthy(self.url, self.proc, self.log, startup_timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> int:
        """SIGTERM and wait (SIGKILL after 30 s); the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
