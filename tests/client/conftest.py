"""Live servers for the client tests, all on 127.0.0.1 and all real TCP:

- ``standalone``: ``octotp serve`` as a subprocess with its own data dir, a ``tiny`` plan (1 create a
  minute), no API-key cache (revocation is immediate) and an SMTP delivery backend pointing at a dead
  port (so ``send=True`` answers 502);
- ``hosted``: a host FastAPI app with octotp ``install``-ed under ``/octotp``, run by uvicorn in a thread;
- ``clocked``: ``create_app`` on an ``Octotp`` whose ``FrozenClock`` the test moves (expiry without sleeping);
- ``redis_down``: ``create_app`` whose rate-limit storage is a Redis URL with nothing listening (503s);
- ``postgres_hosted``: a host app on a temporary PostgreSQL database the test can drop (503s);
- ``scripted``: a small HTTP server answering a script of responses, then proxying to ``standalone``
  (for retries), recording every request it got;
- ``stalling``: accepts connections, reads the request, never answers (for timeouts);
- ``refused_url``: a port with nothing listening.

Every test module here marks itself ``xdist_group("client")`` so one worker starts these servers once.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from octotp_client import OctotpClient
from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.testing.databases import ServiceUnavailable, service_url, temporary_database
from octotp_core.testing.servers import ServeProcess, ThreadedUvicorn
from octotp_core.testing.servers import free_port as dead_port

from ..conftest import unavailable

PLANS = {"free": {"creates_per_minute": 600}, "tiny": {"creates_per_minute": 1}}
STARTUP_SECONDS = 90.0


@dataclass(frozen=True)
class Project:
    """A project on a live server, and the client settings that reach it."""

    base_url: str
    id: str
    api_key: str


@dataclass
class LiveServer:
    """A running octotp and the ``Octotp`` (on the same database) used to create its projects."""

    base_url: str
    core: Octotp

    def project(self, plan: str | None = None) -> Project:
        created = self.core.accounts.create_project(f"client-tests-{uuid.uuid4().hex[:8]}", None, plan)
        return Project(self.base_url, created.project.id, created.api_key.secret)


def settings_for(data_dir: Path, secret: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "secret_key": secret, "plans": PLANS}
    values.update(overrides)
    return Settings(**values)


# -- octotp serve as a real subprocess -----------------------------------------------------------
@pytest.fixture(scope="session")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``octotp serve`` on a free port with its own data dir; terminated at the end of the session."""
    data_dir = tmp_path_factory.mktemp("standalone")
    secret = secrets.token_urlsafe(32)
    env = {
        "OCTOTP_DATA_DIR": str(data_dir),
        "OCTOTP_SECRET_KEY": secret,
        "OCTOTP_PLANS": json.dumps(PLANS),
        "OCTOTP_API_KEY_CACHE_SECONDS": "0",  # revocations take effect at once
        "OCTOTP_DELIVERY_EMAIL_BACKEND": "octotp_core.delivery.smtp.SmtpBackend",
        "OCTOTP_DELIVERY_OPTIONS": json.dumps({"smtp": {"host": "127.0.0.1", "port": dead_port(), "timeout": 2}}),
    }
    with ServeProcess(env, startup_timeout=STARTUP_SECONDS) as server:
        core = Octotp(settings_for(data_dir, secret))  # the server migrated the database at start
        yield LiveServer(server.url, core)
        core.close()


# -- apps served by uvicorn in a thread ----------------------------------------------------------
def host_app(core: Octotp, prefix: str) -> Any:
    """A host FastAPI app with its own route and octotp installed under ``prefix``."""
    from fastapi import FastAPI

    from octotp_fastapi import install

    app = FastAPI()

    @app.get("/")
    def home() -> dict[str, str]:
        return {"app": "host"}

    install(app, core, prefix=prefix)
    return app


@pytest.fixture(scope="session")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A host FastAPI app with ``install(app, octotp, prefix="/octotp")`` (SQLite), served by uvicorn."""
    core = Octotp(settings_for(tmp_path_factory.mktemp("hosted"), secrets.token_urlsafe(32)))
    core.migrate()
    with ThreadedUvicorn(host_app(core, "/octotp")) as server:
        yield LiveServer(f"http://127.0.0.1:{server.port}/octotp", core)
    core.close()


@dataclass
class ClockedServer(LiveServer):
    """A live server whose time is ``clock``: ``clock.advance(seconds)`` moves it for the server too."""

    clock: FrozenClock = field(default_factory=FrozenClock)


@pytest.fixture(scope="session")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockedServer]:
    """``create_app`` (SQLite) on a ``FrozenClock`` starting now, to the second (the API's precision).

    Shared by the session: tests only move the clock forward, and each uses its own tokens."""
    from octotp_fastapi import create_app

    clock = FrozenClock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    core = Octotp(settings_for(tmp_path_factory.mktemp("clocked"), secrets.token_urlsafe(32)), clock=clock)
    core.migrate()
    with ThreadedUvicorn(create_app(octotp=core)) as server:
        yield ClockedServer(server.url, core, clock)
    core.close()


@pytest.fixture(scope="session")
def redis_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``create_app`` whose rate-limit storage is a Redis URL on a port where nothing listens."""
    from octotp_fastapi import create_app

    settings = settings_for(
        tmp_path_factory.mktemp("redis-down"),
        secrets.token_urlsafe(32),
        rate_limit_storage=f"redis://127.0.0.1:{dead_port()}/0",
    )
    core = Octotp(settings)
    core.migrate()
    with ThreadedUvicorn(create_app(octotp=core)) as server:
        yield LiveServer(f"http://127.0.0.1:{server.port}", core)


@dataclass
class DroppableServer(LiveServer):
    """A live server on a temporary PostgreSQL database, and a way to take that database away."""

    drop_database: Callable[[], None] = field(default=lambda: None)


@pytest.fixture
def postgres_hosted(tmp_path: Path) -> Iterator[DroppableServer]:
    """A host app on a fresh PostgreSQL database; ``drop_database()`` drops it under the server."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        with temporary_database("postgres", tmp_path) as url:
            core = Octotp(settings_for(tmp_path, secrets.token_urlsafe(32), database_url=url))
            core.migrate()

            def drop_database() -> None:
                admin = create_engine(make_url(service_url("postgres")), isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:  # FORCE terminates the server's open connections
                    conn.execute(text(f"DROP DATABASE {make_url(url).database} WITH (FORCE)"))
                admin.dispose()

            with ThreadedUvicorn(host_app(core, "/otp")) as server:
                yield DroppableServer(f"http://127.0.0.1:{server.port}/otp", core, drop_database)
            core.close()
    except ServiceUnavailable as exc:
        unavailable(str(exc))


# -- servers that misbehave on purpose -----------------------------------------------------------
@dataclass(frozen=True)
class Received:
    """One request as a test server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


@dataclass(frozen=True)
class Scripted:
    """A canned answer: status, headers, and a body (a str is sent as is, anything else as JSON)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @classmethod
    def problem(cls, status: int, code: str, retry_after: str | None = None) -> Scripted:
        headers = {"Content-Type": "application/problem+json", "X-Request-Id": f"scripted-{uuid.uuid4().hex[:8]}"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        body = {"type": "about:blank", "title": "scripted", "status": status, "detail": code, "code": code}
        return cls(status, headers, body)


PROXY = "proxy"
PROXY_THEN_HANG_UP = "proxy-then-hang-up"  # forward, then drop the answer: the client never sees it


class ScriptedServer:
    """An HTTP/1.1 server (keep-alive) that answers from a script, then proxies to ``upstream``.

    ``server.then(server.problem(503, "x", retry_after="0"), server.answer(502), server.PROXY)``.
    ``upstream_answers`` records (status, headers) of every proxied answer.
    """

    PROXY = PROXY
    PROXY_THEN_HANG_UP = PROXY_THEN_HANG_UP
    problem = staticmethod(Scripted.problem)
    answer = Scripted

    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.script: list[Scripted | str] = []
        self.received: list[Received] = []
        self.upstream_answers: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.client_address[1],
                )
                with outer.lock:
                    outer.received.append(seen)
                    step = outer.script.pop(0) if outer.script else PROXY
                if step == PROXY_THEN_HANG_UP:
                    outer._proxy(seen)
                    self.close_connection = True
                    return
                status, headers, content = outer._proxy(seen) if step == PROXY else outer._canned(step)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @staticmethod
    def _canned(step: Scripted | str) -> tuple[int, dict[str, str], bytes]:
        assert isinstance(step, Scripted)
        if step.body is None:
            return step.status, step.headers, b""
        content = step.body.encode() if isinstance(step.body, str) else json.dumps(step.body).encode()
        return step.status, step.headers, content

    def _proxy(self, seen: Received) -> tuple[int, dict[str, str], bytes]:
        if self.upstream is None:
            return 500, {}, b""
        headers = {k: v for k, v in seen.headers.items() if k not in ("host", "content-length", "connection")}
        answer = requests.request(
            seen.method, self.upstream + seen.path, headers=headers, data=seen.body, timeout=10, allow_redirects=False
        )
        keep = ("content-type", "x-request-id", "retry-after", "ratelimit-limit", "idempotent-replayed")
        headers = {k: v for k, v in answer.headers.items() if k.lower() in keep}
        self.upstream_answers.append((answer.status_code, {k.lower(): v for k, v in headers.items()}))
        return answer.status_code, headers, answer.content

    def then(self, *steps: Scripted | str) -> ScriptedServer:
        """Answer the next requests with ``steps`` (``PROXY`` forwards to the upstream), then proxy."""
        self.script.extend(steps)
        return self


@pytest.fixture
def scripted(standalone: LiveServer) -> Iterator[ScriptedServer]:
    server = ScriptedServer(standalone.base_url)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class StallingServer:
    """Accepts connections and reads requests but never answers: it holds the connection open
    (``hang_up=False``) or closes it once the request is read (``hang_up=True``)."""

    def __init__(self, hang_up: bool = False) -> None:
        self.hang_up = hang_up
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.connections: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
        self.requests.append(data)
        if self.hang_up:
            conn.close()

    def wait_for(self, count: int, timeout: float = 5.0) -> int:
        """How many requests arrived, waiting up to ``timeout`` for ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.requests)

    def headers(self, index: int) -> dict[str, str]:
        head = self.requests[index].split(b"\r\n\r\n")[0].decode()
        return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])}

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def stalling() -> Iterator[StallingServer]:
    server = StallingServer()
    yield server
    server.close()


@pytest.fixture
def hanging_up() -> Iterator[StallingServer]:
    server = StallingServer(hang_up=True)
    yield server
    server.close()


@pytest.fixture
def refused_url() -> str:
    return f"http://127.0.0.1:{dead_port()}"


# -- clients and recipients ----------------------------------------------------------------------
@pytest.fixture
def project(standalone: LiveServer) -> Project:
    return standalone.project()


@pytest.fixture
def recipient() -> str:
    """A fresh email address (each recipient may receive only 5 codes per 10 minutes)."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def make_client() -> Iterator[Callable[..., OctotpClient]]:
    """``make_client(project, **options)``: an ``OctotpClient`` for a project, closed after the test."""
    made: list[OctotpClient] = []

    def factory(project: Project, base_url: str | None = None, **options: Any) -> OctotpClient:
        client = OctotpClient(project.api_key, base_url or project.base_url, project_id=project.id, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
