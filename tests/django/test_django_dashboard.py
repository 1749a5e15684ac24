"""The dashboard conformance suite on a Django project (full middleware stack, Django's CSRF
middleware included), octotp under ``/octotp/``, on every database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.test import Client, override_settings

from octotp_core import FrozenClock
from octotp_core.testing.console import ConsoleSuite
from octotp_core.testing.dashboard import MountedDashboard, RawResult
from octotp_django.api import build_octotp, reset_octotp

pytestmark = pytest.mark.django_db(databases="__all__")


class RawDjangoClient:
    """The dashboard suite's ``RawClient`` over Django's test client (cookies come back as ``Set-Cookie``)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        self.client.cookies = SimpleCookie()  # the suite's browser keeps its own cookies
        headers = dict(headers or {})
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        path, _, query = path.partition("?")
        response = self.client.generic(
            method,
            path + (f"?{query}" if query else ""),
            data=body or b"",
            content_type=content_type,
            headers=headers,
        )
        cookies = [("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values()]
        return RawResult(response.status_code, [*response.items(), *cookies], b"".join(response))


@pytest.fixture
def make_django_dashboard(octotp_db: str, clock: FrozenClock) -> Iterator[Callable[..., MountedDashboard]]:
    """``make_django_dashboard(**settings)``: the test project with ``OCTOTP`` overridden by these
    settings (``dashboard_signup`` → ``OCTOTP["DASHBOARD_SIGNUP"]``); the last one built answers."""
    from django.conf import settings as django_settings

    def build(**settings: Any) -> MountedDashboard:
        overrides = {name.upper(): value for name, value in settings.items()}
        with override_settings(OCTOTP={**django_settings.OCTOTP, **overrides}):
            octotp = build_octotp(clock=clock)
        reset_octotp(octotp)
        client = RawDjangoClient(Client(enforce_csrf_checks=True))
        create = octotp.accounts.create_account
        return MountedDashboard(client, "/octotp/dashboard", "/octotp", create, octotp=octotp)

    yield build
    reset_octotp()


class TestDjangoDashboard(ConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_django_dashboard: Callable[..., MountedDashboard]) -> Callable[..., MountedDashboard]:
        return make_django_dashboard


def test_dashboard_off(octotp_db: str) -> None:
    from django.conf import settings

    with override_settings(OCTOTP={**settings.OCTOTP, "DASHBOARD": False}):
        r = Client().get("/octotp/dashboard/login")
        assert r.status_code == 404
        assert b"Log in" not in r.content
