"""The client's address behind proxies (``Settings.trusted_proxies``), decided once in core, and the
contract suite's capability rules."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Iterator, Mapping

import pytest

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.dashboard import DashboardHandler
from octotp_core.http import Request, client_address, resolve_client
from octotp_core.http.proxies import IPNetwork
from octotp_core.testing.contract import DashboardLoginForm, MountedOctotp, ProjectKey, require
from octotp_core.testing.http_clients import HttpResult

TRUSTED: list[IPNetwork] = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:1::/48")]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),
        ("127.0.0.1", "198.51.100.1", "127.0.0.1"),
        ("203.0.113.5", None, "203.0.113.5"),
        # A trusted proxy: the right-most hop that is not a trusted proxy.
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the left-most is the client's own forgery
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1"),  # through two trusted proxies
        ("10.0.0.2", "10.1.1.1, 10.0.0.3", "10.1.1.1"),  # every hop trusted: the furthest
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", " , ", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),  # hops with ports (some proxies add them)
        ("10.0.0.2", "[2001:db8:2::9]:443", "2001:db8:2::9"),
        ("10.0.0.2", "unknown", "unknown"),  # not an address: kept as the proxy sent it
        ("2001:db8:1::5", "2001:DB8:2:0::9", "2001:db8:2::9"),  # IPv6, normalised
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),  # an IPv4-mapped peer is its IPv4 address
        ("::ffff:203.0.113.5", "198.51.100.1", "203.0.113.5"),
        # Peers that are no address at all (a test client's "testclient") are never trusted.
        ("testclient", "198.51.100.1", "testclient"),
        (None, "198.51.100.1", None),
    ],
)
def test_client_address(peer: str | None, forwarded_for: str | None, expected: str | None) -> None:
    assert client_address(peer, forwarded_for, TRUSTED) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert Settings().trusted_proxies == []
    assert client_address("127.0.0.1", "198.51.100.1", Settings().trusted_proxies) == "127.0.0.1"


def test_trusted_proxies_setting_forms() -> None:
    as_list = Settings(trusted_proxies=["127.0.0.1", "10.0.0.0/8", "::1"]).trusted_proxies
    assert [str(n) for n in as_list] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxies == as_list[:2]
    for bad in (["10.0.0.1/8"], ["not-an-address"]):
        with pytest.raises(ValueError, match="trusted_proxies"):
            Settings(trusted_proxies=bad)


def test_trusted_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCTOTP_TRUSTED_PROXIES", '["127.0.0.1", "fd00::/8"]')
    assert [str(n) for n in Settings().trusted_proxies] == ["127.0.0.1/32", "fd00::/8"]


def test_forwarded_proto_only_from_a_trusted_proxy() -> None:
    def seen(peer: str) -> tuple[str | None, str]:
        headers = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
        resolved = resolve_client(Request("GET", "/", headers, client=peer, scheme="http"), TRUSTED)
        return resolved.client, resolved.scheme

    assert seen("10.0.0.2") == ("198.51.100.1", "https")
    assert seen("203.0.113.5") == ("203.0.113.5", "http")
    odd = Request("GET", "/", {"X-Forwarded-Proto": "gopher"}, client="10.0.0.2", scheme="http")
    assert resolve_client(odd, TRUSTED).scheme == "http"


class NeutralClient:
    """The contract suite's ``HttpClient`` straight onto core's dashboard handler, from one socket peer."""

    def __init__(self, handler: DashboardHandler, peer: str) -> None:
        self.handler, self.peer = handler, peer

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        assert path.startswith("/dashboard")
        neutral = Request(method, path[len("/dashboard") :], dict(headers or {}), body or b"", "", self.peer)
        response = self.handler.handle(neutral, "/dashboard")
        headers_out: dict[str, str] = {}
        for name, value in response.headers:
            key = name.lower()
            headers_out[key] = f"{headers_out[key]}, {value}" if key in headers_out else value
        return HttpResult(response.status, headers_out, response.body)


@pytest.fixture
def behind_proxy(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> Iterator[DashboardHandler]:
    """Core's dashboard with 10.0.0.0/8 as its proxies and a per-address login limit of 3 a minute."""
    octotp = Octotp(
        make_settings(
            database_url=database_url, trusted_proxies=["10.0.0.0/8"], dashboard_login_limit_per_address="3/minute"
        ),
        clock=clock,
    )
    yield DashboardHandler(octotp)
    octotp.close()


def test_a_trusted_proxys_header_names_the_client_for_per_address_limits(behind_proxy: DashboardHandler) -> None:
    proxy = NeutralClient(behind_proxy, "10.0.0.2")
    form = DashboardLoginForm.fetch(proxy)
    # One client behind the proxy spends its own budget, whatever it forges at the left.
    statuses = [form.attempt(proxy, forwarded_for=f"6.6.6.{i}, 198.51.100.1").status for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Another client behind the same proxy has its own budget; the proxy's own address is untouched.
    assert form.attempt(proxy, forwarded_for="198.51.100.2").status == 200
    assert form.attempt(proxy).status == 200
    # The same header from a peer that is no proxy of ours counts against that peer only.
    direct = NeutralClient(behind_proxy, "203.0.113.5")
    assert [form.attempt(direct, forwarded_for="198.51.100.2").status for _ in range(4)] == [200, 200, 200, 429]
    assert form.attempt(proxy, forwarded_for="198.51.100.2").status == 200  # 198.51.100.2 was not charged by it


# -- the contract suite's capabilities ---------------------------------------------------------
def _mounted(**fields: object) -> MountedOctotp:
    def new_project(plan: str | None) -> ProjectKey:
        raise AssertionError("not used")

    base: dict[str, object] = {"client": None, "new_project": new_project, "revoke_key": lambda key_id: None}
    return MountedOctotp(**{**base, **fields})  # type: ignore[arg-type]


def test_an_app_cannot_skip_a_capability_without_declaring_it() -> None:
    with pytest.raises(ValueError, match="provides no clock"):
        _mounted(lacks=frozenset({"listeners"}))
    with pytest.raises(ValueError, match="provides no listeners"):
        _mounted(clock=FrozenClock(), lacks=frozenset())
    with pytest.raises(ValueError, match="unknown capabilities"):
        _mounted(lacks=frozenset({"clock", "listeners", "idempotency"}))
    with pytest.raises(ValueError, match="declares that it lacks"):
        _mounted(clock=FrozenClock(), lacks=frozenset({"clock", "listeners"}))


def test_a_declared_lack_skips_with_its_name() -> None:
    mounted = _mounted(lacks=frozenset({"clock", "listeners"}))
    with pytest.raises(pytest.skip.Exception, match="adapter lacks clock"):
        require(mounted, "clock")
    with pytest.raises(ValueError, match="unknown capability"):
        require(mounted, "time travel")
    assert dataclasses.replace(mounted, clock=FrozenClock(), lacks=frozenset({"listeners"})).clock is not None
