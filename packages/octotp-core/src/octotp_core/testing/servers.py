"""Real server processes for tests: ``octotp serve`` (or any command) on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

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


STARTUP_COMPLETE = "Application startup complete."  # what uvicorn logs once per worker


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

    With ``app`` (``"package.module:factory"``), uvicorn serves that app factory instead (a host app
    in a process of its own), octotp mounted at ``prefix`` (its ``/healthz`` is polled there).
    ``args`` are more options of the command (``("--purge-every", "1")``).

    It is ready when every one of its ``workers`` has started its app (uvicorn's "Application startup
    complete." once per worker in the log), not when the first answers ``/healthz``: a test spreading
    requests over the workers finds them all listening.

    Stop it with ``stop()`` (SIGTERM: uvicorn shuts down gracefully, then re-raises the signal, so the
    exit status is -15), or use it as a context manager.
    """

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 1,
        startup_timeout: float = 90.0,
        app: str | None = None,
        prefix: str = "",
        args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(env["OCTOTP_DATA_DIR"]) / f"serve-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "octotp_core.cli", "serve", "--port", str(self.port)]
        if app is not None:
            command = [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [*command, "--workers", str(workers), *args],
                env=clean_environment(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + startup_timeout
            wait_until_healthy(self.url + prefix, self.proc, self.log, startup_timeout)
            self._wait_for_workers(workers, deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_for_workers(self, workers: int, deadline: float) -> None:
        while self.output().count(STARTUP_COMPLETE) < workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"not all {workers} workers started:\n{self.output()}")
            time.sleep(0.1)

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


class ThreadedUvicorn:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port in a daemon thread (a context manager)."""

    def __init__(self, app: Any, *, startup_timeout: float = 90.0) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ThreadedUvicorn:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


class _ThreadingWsgiServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the request line may carry a query string
        pass


class ThreadedWsgi:
    """A WSGI app (Flask, Django's ``WSGIHandler``...) served by the standard library's server, a thread
    per request, on a free 127.0.0.1 port in a daemon thread (a context manager)."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWsgiServer, handler_class=_QuietHandler)
        self.port: int = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ThreadedWsgi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=15)
        self.server.server_close()
