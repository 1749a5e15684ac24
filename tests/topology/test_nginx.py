"""Debian's nginx terminating TLS in front of two ``octotp serve`` processes (one PostgreSQL database,
one Redis), configured by the deployment page's ``octotp.conf``, with a self-signed certificate made
here. Everything is checked through nginx over HTTPS: the dashboard's cookies and ``Origin`` check,
the client addresses octotp counts per-address limits against, and a limit exact across both servers.

nginx reaches the servers from 127.0.0.2 (``proxy_bind``), the one trusted proxy; the clients
connect from 127.0.0.3 and 127.0.0.4, so each is an address of its own on one machine.
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from octotp_core import Octotp, Settings
from octotp_core.dashboard.cookies import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from octotp_core.testing.contract import DashboardLoginForm
from octotp_core.testing.dashboard import PASSWORD, DashboardBrowser, RawResult, project_id, set_cookie_attributes
from octotp_core.testing.http_clients import HttpResult
from octotp_core.testing.servers import ServeProcess, free_port

from .children import Child, self_signed_certificate, tool
from .conftest import ROOMY_PLANS, redis_command
from .documented import documented_block

pytestmark = pytest.mark.xdist_group("topology")

PROXY_ADDRESS = "127.0.0.2"
CLIENT_A, CLIENT_B = "127.0.0.3", "127.0.0.4"  # the per-address limit test's clients
BROWSER, API_CLIENT = "127.0.0.5", "127.0.0.6"  # the other tests' (a sign-in counts against its address too)
LOGIN_LIMIT = 3  # per client address, a minute
SEND_BUDGET = 5  # the default per-recipient send budget (5 per 10 minutes)


def nginx_config(directory: Path, port: int, upstreams: list[int], cert: Path, key: Path) -> str:
    """The documented ``octotp.conf`` with the test's port, certificate and upstreams, inside a main
    configuration that keeps every nginx file in ``directory`` and stays in the foreground."""
    site = documented_block("octotp.conf")
    replacements = [
        (r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        (r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};"),
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstreams[0]};"),
        (r"server 127\.0\.0\.1:8001;", f"server 127.0.0.1:{upstreams[1]};"),
        (r"proxy_pass http://octotp;", f"proxy_pass http://octotp;\n        proxy_bind {PROXY_ADDRESS};"),
    ]
    for pattern, replacement in replacements:
        site, count = re.subn(pattern, lambda _m, r=replacement: r, site)
        assert count == 1, f"the documented octotp.conf no longer has {pattern!r}"
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {directory / "access.log"};
{temp}
{site}
}}
"""


def _results(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, [(k.lower(), v) for k, v in response.headers.multi_items()], response.content


class HttpsClient:
    """Requests to nginx over HTTPS from one local address, verifying the test's certificate; cookies
    are the caller's to keep (``DashboardBrowser`` keeps its own), so none are stored here."""

    def __init__(self, base_url: str, ca: Path, local_address: str) -> None:
        context = ssl.create_default_context(cafile=str(ca))
        self.client = httpx.Client(
            base_url=base_url,
            transport=httpx.HTTPTransport(verify=context, local_address=local_address),
            timeout=60,
        )

    def send(self, method: str, path: str, headers: Mapping[str, str] | None, body: bytes | None) -> httpx.Response:
        response = self.client.request(method, path, headers=dict(headers or {}), content=body)
        self.client.cookies.clear()
        return response

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        status, items, content = _results(self.send(method, path, headers, body))
        return HttpResult(status, dict(items), content)

    def raw(self) -> RawHttps:
        return RawHttps(self)

    def close(self) -> None:
        self.client.close()


@dataclass
class RawHttps:
    """``HttpsClient`` as the dashboard suite's ``RawClient`` (every ``Set-Cookie`` kept)."""

    https: HttpsClient

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        return RawResult(*_results(self.https.send(method, path, headers, body)))


@dataclass
class Topology:
    url: str
    authority: str
    """``127.0.0.1:PORT``: what a browser sends as ``Host`` and puts in ``Origin``."""
    ca: Path
    servers: list[ServeProcess]
    octotp: Octotp
    nginx: Child

    def client(self, local_address: str) -> HttpsClient:
        return HttpsClient(self.url, self.ca, local_address)


@pytest.fixture(scope="module")
def topology(postgres_database: str, tmp_path_factory: pytest.TempPathFactory, test_secret: str) -> Iterator[Topology]:
    nginx_binary = tool("nginx", "nginx")
    data_dir = tmp_path_factory.mktemp("nginx-octotp")
    # nginx's workers run as nobody when the tests run as root: its own directory, readable by them.
    nginx_dir = Path(tempfile.mkdtemp(prefix="octotp-nginx-"))
    nginx_dir.chmod(0o755)
    redis_port = free_port()
    started: list[ServeProcess | Child] = []
    try:
        redis = Child(redis_command(data_dir, redis_port), data_dir / "redis.log", port=redis_port)
        started.append(redis)
        env = {
            "OCTOTP_DATA_DIR": str(data_dir),
            "OCTOTP_SECRET_KEY": test_secret,
            "OCTOTP_DATABASE_URL": postgres_database,
            "OCTOTP_RATE_LIMIT_STORAGE": f"redis://127.0.0.1:{redis_port}/0",
            "OCTOTP_TRUSTED_PROXIES": json.dumps([PROXY_ADDRESS]),
            "OCTOTP_DASHBOARD_LOGIN_LIMIT_PER_ADDRESS": f"{LOGIN_LIMIT}/minute",
            "OCTOTP_PLANS": ROOMY_PLANS,
        }
        servers = []
        for _ in range(2):  # one after the other: the first one migrates the new database
            servers.append(ServeProcess(env))
            started.append(servers[-1])
        cert, key = self_signed_certificate(nginx_dir, "nginx")
        port = free_port()
        config = nginx_dir / "nginx.conf"
        config.write_text(nginx_config(nginx_dir, port, [s.port for s in servers], cert, key))
        nginx = Child(
            [nginx_binary, "-p", str(nginx_dir), "-c", str(config), "-e", str(nginx_dir / "error.log")],
            nginx_dir / "nginx.out",
            port=port,
        )
        started.append(nginx)
        settings = Settings(
            data_dir=data_dir, secret_key=test_secret, database_url=postgres_database, plans=json.loads(ROOMY_PLANS)
        )
        octotp = Octotp(settings)
        try:
            yield Topology(f"https://127.0.0.1:{port}", f"127.0.0.1:{port}", cert, servers, octotp, nginx)
        finally:
            octotp.close()
    finally:
        for child in reversed(started):
            child.stop()
        shutil.rmtree(nginx_dir, ignore_errors=True)


def test_dashboard_cookies_are_secure_and_origin_is_checked_through_nginx(topology: Topology) -> None:
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    topology.octotp.accounts.create_account(email, PASSWORD)
    https = topology.client(BROWSER)
    try:
        # As a browser would send them: Host and Origin are the proxy's, scheme https.
        browser = DashboardBrowser(https.raw(), "/dashboard", host=topology.authority, scheme="https")
        page = browser.get("/login")
        assert page.status == 200, page.text[:300]
        (csrf_cookie,) = page.all("set-cookie")
        signed_in = browser.login(email, PASSWORD)
        assert signed_in.status == 303, signed_in.text[:300]
        session_cookie = next(c for c in signed_in.all("set-cookie") if c.startswith(SESSION_COOKIE + "="))
        for cookie, name in ((csrf_cookie, LOGIN_CSRF_COOKIE), (session_cookie, SESSION_COOKIE)):
            attributes = set_cookie_attributes(cookie)
            assert name in attributes, cookie
            assert "secure" in attributes, cookie  # X-Forwarded-Proto: https, from the trusted proxy
            assert "httponly" in attributes, cookie
            assert attributes["samesite"] == "Lax", cookie
            assert attributes["path"] == "/dashboard", cookie

        token = browser.csrf_token()
        refused = browser.post(
            "/projects", {"csrf_token": token, "name": "Cross site"}, {"Origin": "https://evil.example"}
        )
        assert refused.status == 403
        accepted = browser.post("/projects", {"csrf_token": token, "name": "Through nginx"})
        assert accepted.status == 303, accepted.text[:300]
        created = browser.follow(accepted)
        assert "Through nginx" in created.text
        assert "Cross site" not in browser.get("/").text
        # The API's address in the page's snippets is the one the browser used: https, nginx's port.
        assert f"https://{topology.authority}" in created.text
        assert project_id(created)
    finally:
        https.close()


def test_per_address_limits_count_the_forwarded_client(topology: Topology) -> None:
    a, b = topology.client(CLIENT_A), topology.client(CLIENT_B)
    try:
        form = DashboardLoginForm.fetch(a)
        statuses = [form.attempt(a).status for _ in range(LOGIN_LIMIT + 1)]
        assert statuses == [200] * LOGIN_LIMIT + [429], statuses
        # A client cannot choose another address: nginx appends the one it saw, the right-most hop.
        assert form.attempt(a, forwarded_for="198.51.100.9").status == 429
        assert form.attempt(b).status == 200  # another client, its own budget
        assert form.attempt(b, forwarded_for=CLIENT_A).status == 200  # nor can it spend someone else's
    finally:
        a.close()
        b.close()


def _requests_served(server: ServeProcess, path: str) -> int:
    return len(re.findall(rf"method=POST path={re.escape(path)} status=", server.output()))


def test_a_recipients_send_budget_is_exact_across_both_servers(topology: Topology) -> None:
    created = topology.octotp.accounts.create_project("exact")
    before = [_requests_served(server, "/api/tokens") for server in topology.servers]
    body = json.dumps({"projectId": created.project.id, "recipientEmail": "exact@example.com"}).encode()
    headers = {"Content-Type": "application/json", "X-Api-Key": created.api_key.secret}
    clients = [topology.client(API_CLIENT) for _ in range(6)]
    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(
                pool.map(
                    lambda i: clients[i % len(clients)].request("POST", "/api/tokens", headers=headers, body=body),
                    range(12),
                )
            )
    finally:
        for client in clients:
            client.close()
    statuses = Counter(answer.status for answer in answers)
    assert statuses == {201: SEND_BUDGET, 429: 12 - SEND_BUDGET}, statuses
    for answer in answers:
        if answer.status == 429:
            assert answer.json()["code"] == "rate_limited", answer.json()
    served = [
        _requests_served(server, "/api/tokens") - seen for server, seen in zip(topology.servers, before, strict=True)
    ]
    assert sum(served) == 12, served
    assert all(count > 0 for count in served), served  # nginx spread them over both servers
