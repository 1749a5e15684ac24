"""The dashboard conformance suite on a Django project (full middleware stack, Django's CSRF
middleware included), octotp under ``/octotp/``, on every database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from http.cookies import SimpleCookie

import pytest
from django.test import Client, override_settings

from octotp_core import FrozenClock
from octotp_core.testing.dashboard import DashboardSuite, MountedDashboard, RawResult
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
def django_dashboard(octotp_db: str, clock: FrozenClock) -> Iterator[MountedDashboard]:
    octotp = build_octotp(clock=clock)
    reset_octotp(octotp)
    yield MountedDashboard(
        RawDjangoClient(Client(enforce_csrf_checks=True)),
        "/octotp/dashboard",
        "/octotp",
        octotp.accounts.create_account,
    )
    reset_octotp()


class TestDjangoDashboard(DashboardSuite):
    @pytest.fixture
    def dashboard(self, django_dashboard: MountedDashboard) -> MountedDashboard:
        return django_dashboard


def test_dashboard_off(octotp_db: str) -> None:
    from django.conf import settings

    with override_settings(OCTOTP={**settings.OCTOTP, "DASHBOARD": False}):
        r = Client().get("/octotp/dashboard/login")
        assert r.status_code == 404
        assert b"Log in" not in r.content
