"""``octotp serve`` as a real process behind (or without) a same-host proxy: uvicorn does not rewrite
the peer from ``X-Forwarded-For``, and core believes the header only from ``trusted_proxies``.

The per-address login throttle (3 a minute here) shows which address a request was counted against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from octotp_core.testing.contract import DashboardLoginForm
from octotp_core.testing.dashboard import set_cookie_attributes
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess

from .conftest import serve_env

pytestmark = pytest.mark.xdist_group("processes")


def _server(data_dir: Path, secret: str, **extra: str) -> ServeProcess:
    return ServeProcess(serve_env(data_dir, secret, OCTOTP_DASHBOARD_LOGIN_LIMIT_PER_ADDRESS="3/minute", **extra))


@pytest.fixture
def default_server(tmp_path: Path, test_secret: str) -> Iterator[UrlClient]:
    with _server(tmp_path, test_secret) as server:
        yield UrlClient(server.url)


@pytest.fixture
def behind_local_proxy(tmp_path: Path, test_secret: str) -> Iterator[UrlClient]:
    with _server(tmp_path, test_secret, OCTOTP_TRUSTED_PROXIES=json.dumps(["127.0.0.1"])) as server:
        yield UrlClient(server.url)


def test_forged_forwarded_for_from_loopback_does_not_change_the_address(default_server: UrlClient) -> None:
    form = DashboardLoginForm.fetch(default_server)
    statuses = [form.attempt(default_server, forwarded_for=f"198.51.100.{i}").status for i in range(1, 5)]
    assert statuses == [200, 200, 200, 429]  # every forged address was 127.0.0.1's attempt
    assert form.attempt(default_server, forwarded_for="203.0.113.200").status == 429
    # Nor does a forged X-Forwarded-Proto make the server think the request came over TLS.
    page = default_server.request("GET", "/dashboard/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in set_cookie_attributes(page.headers["set-cookie"])


def test_a_trusted_local_proxy_names_the_client(behind_local_proxy: UrlClient) -> None:
    form = DashboardLoginForm.fetch(behind_local_proxy)
    first = [form.attempt(behind_local_proxy, forwarded_for="6.6.6.6, 198.51.100.1").status for _ in range(4)]
    assert first == [200, 200, 200, 429]
    assert form.attempt(behind_local_proxy, forwarded_for="198.51.100.2").status == 200  # another client
    assert form.attempt(behind_local_proxy).status == 200  # the proxy's own address was not spent
    page = behind_local_proxy.request("GET", "/dashboard/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in set_cookie_attributes(page.headers["set-cookie"])
