"""The project page's ready-to-paste snippets, run for real: read from the dashboard of a live server
(``octotp serve``, and a host FastAPI app with octotp under ``/octotp``), then the curl one with
bash, the Python one with this interpreter (octotp-client) and the JavaScript one with node, each
with only ``OCTOTP_API_KEY`` in the environment. Each must create a code and validate it."""

from __future__ import annotations

import html
import http.client
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from octotp_core.testing.dashboard import DashboardBrowser, RawResult, new_key
from octotp_core.testing.servers import clean_environment

from ..conftest import unavailable
from .conftest import LiveServer

pytestmark = pytest.mark.xdist_group("client")

PASSWORD = "snippets are run for real"
SNIPPET = re.compile(r'<details class="snippet" id="snippet-(\w+)".*?<pre><code[^>]*>(.*?)</code></pre>', re.S)


class LiveRawClient:
    """A ``RawClient`` for a live server over ``http.client``: every header kept (each ``Set-Cookie``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return RawResult(response.status, response.getheaders(), response.read())
        finally:
            connection.close()


def page_snippets(server: LiveServer, name: str) -> tuple[str, str, dict[str, str]]:
    """Sign in to the server's dashboard as a new owner, create a project there, and read its page:
    (project id, API key shown once, {snippet key: code as a browser would copy it})."""
    parts = urlsplit(server.base_url)
    email = f"snippets-{uuid.uuid4().hex[:10]}@example.com"
    server.core.accounts.create_account(email, PASSWORD)
    browser = DashboardBrowser(LiveRawClient(server.base_url), parts.path + "/dashboard", host=parts.netloc)
    assert browser.login(email, PASSWORD).status == 303
    created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": name}))
    assert created.status == 200, created.text
    key = new_key(created)
    assert key is not None
    found = re.search(r'<code id="project-id">([0-9a-f-]{36})</code>', created.text)
    assert found is not None
    codes = {k: html.unescape(code) for k, code in SNIPPET.findall(created.text)}
    assert set(codes) == {"curl", "python", "javascript"}, created.text
    return found.group(1), key, codes


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (the snippet tests run it)")
    assert path is not None
    return path


@pytest.fixture(params=["standalone", "hosted"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    """``octotp serve`` at the root, and a host app with octotp (API and dashboard) under ``/octotp``."""
    live: LiveServer = request.getfixturevalue(request.param)
    return live


def test_every_snippet_creates_and_validates_a_code(server: LiveServer, tmp_path: Path) -> None:
    project_id, key, codes = page_snippets(server, "Snippets")
    for code in codes.values():
        assert project_id in code
        assert server.base_url in code  # the API's URL, mount prefix included, as the browser reached it
        assert key not in code  # the key is never in a snippet
    env = clean_environment({"OCTOTP_API_KEY": key})
    (tmp_path / "snippet.sh").write_text(codes["curl"])
    (tmp_path / "snippet.py").write_text(codes["python"])
    (tmp_path / "octotp.mjs").write_text(codes["javascript"])
    tool("curl"), tool("jq")
    runs = {
        "curl": ([tool("bash"), "-eu", "snippet.sh"], '{"isValid":true,"status":"approved"}'),
        "python": ([sys.executable, "snippet.py"], "True approved"),
        "javascript": ([tool("node"), "octotp.mjs"], "true approved"),
    }
    for name, (command, expected) in runs.items():
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, expected), (name, done.stdout, done.stderr)
        # The server agrees: the project's newest token was created by this run and approved.
        tokens = server.core.store.list_tokens(project_id, 10)
        assert len(tokens) == list(runs).index(name) + 1, name
        assert (tokens[0].recipient_hint, tokens[0].closed_reason) == ("u***@example.com", "approved"), name


def test_a_snippet_without_the_key_in_the_environment_is_refused(server: LiveServer, tmp_path: Path) -> None:
    project_id, _, codes = page_snippets(server, "No key")
    (tmp_path / "snippet.py").write_text(codes["python"])
    done = subprocess.run(
        [sys.executable, "snippet.py"],
        cwd=tmp_path,
        env=clean_environment({}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "OCTOTP_API_KEY" in done.stderr  # octotp-client says which variable is missing
    assert server.core.store.list_tokens(project_id, 10) == []
