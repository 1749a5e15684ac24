"""The HTTP contract suite against a Django project with octotp mounted under ``/octotp/``, on every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
from django.conf import settings
from django.test import Client, override_settings

from octotp_core import FrozenClock, Octotp, TokenEvent
from octotp_core.testing.contract import (
    CONTRACT_PLANS,
    ContractSuite,
    Listener,
    MountedOctotp,
    ProjectKey,
    assert_trusted_proxy_names_the_client,
)
from octotp_core.testing.http_clients import HttpResult
from octotp_core.tokens import EventKind
from octotp_django.api import build_octotp, reset_octotp
from octotp_django.signals import SIGNALS

pytestmark = pytest.mark.django_db(databases="__all__")


class DjangoClientAdapter:
    """The contract suite's ``HttpClient`` over Django's test client (the full WSGI handler and middleware)."""

    def __init__(self, client: Client, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        headers = dict(headers or {})
        # Also kept in ``headers``: the test client drops ``content_type`` when the body is empty.
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        response = self.client.generic(
            method, self.prefix + path, data=body or b"", content_type=content_type, headers=headers
        )
        result = {k.lower(): v for k, v in response.items()}
        if response.cookies:  # Django keeps cookies apart from the headers; the WSGI handler sends both
            result["set-cookie"] = ", ".join(morsel.OutputString() for morsel in response.cookies.values())
        return HttpResult(response.status_code, result, b"".join(response))


def project_factory(octotp: Octotp) -> Callable[[str | None], ProjectKey]:
    """``MountedOctotp.new_project`` through the app's own ``Octotp``."""

    def new_project(plan: str | None) -> ProjectKey:
        created = octotp.accounts.create_project("contract", plan=plan)
        return ProjectKey(created.project.id, created.api_key.secret, created.api_key.key.id)

    return new_project


def connect_listener(kind: EventKind, listener: Listener) -> Callable[[], None]:
    """A receiver of the Django signal for ``kind``, connected as a project connects one."""

    def receiver(sender: object, event: TokenEvent, **fields: object) -> None:
        listener(event)

    SIGNALS[kind].connect(receiver, weak=False)
    return lambda: SIGNALS[kind].disconnect(receiver)


@pytest.fixture
def django_app(octotp_db: str, clock: FrozenClock) -> Iterator[MountedOctotp]:
    """The test project with the contract plans and a frozen clock installed as ``get_octotp()``."""
    with override_settings(OCTOTP={**settings.OCTOTP, "PLANS": CONTRACT_PLANS}):
        octotp = build_octotp(clock=clock)
        reset_octotp(octotp)
        yield MountedOctotp(
            DjangoClientAdapter(Client(), "/octotp"),
            project_factory(octotp),
            octotp.accounts.revoke_api_key,
            clock=clock,
            extra={"octotp": octotp},
            connect_listener=connect_listener,
            configure_project=octotp.accounts.configure_project,
        )
    reset_octotp()


class TestDjangoApp(ContractSuite):
    @pytest.fixture
    def mounted(self, django_app: MountedOctotp) -> MountedOctotp:
        return django_app


def test_trusted_proxies_setting_is_honoured(octotp_db: str) -> None:
    """``OCTOTP["TRUSTED_PROXIES"]``; the peer is ``REMOTE_ADDR``."""
    config = {**settings.OCTOTP, "TRUSTED_PROXIES": ["10.0.0.0/8"], "DASHBOARD_LOGIN_LIMIT_PER_ADDRESS": "3/minute"}
    with override_settings(OCTOTP=config):
        reset_octotp(build_octotp())
        try:
            assert_trusted_proxy_names_the_client(DjangoClientAdapter(Client(REMOTE_ADDR="10.0.0.2"), "/octotp"), 3)
        finally:
            reset_octotp()
