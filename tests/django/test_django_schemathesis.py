"""schemathesis against the Django test project (octotp under ``/octotp/``), served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from octotp_core.testing.fuzz import FUZZ_SETTINGS, FuzzTarget, run_schemathesis
from octotp_core.testing.servers import ThreadedWsgi
from octotp_django.api import get_octotp, reset_octotp

from . import django_project_settings as project_settings

# transaction=True: the server's threads must see the project this test creates.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fuzz_configured() -> Iterator[None]:
    options = {**project_settings.OCTOTP, **{k.upper(): v for k, v in FUZZ_SETTINGS.items()}}
    with override_settings(OCTOTP=options):
        reset_octotp()
        yield
    reset_octotp()


@pytest.mark.usefixtures("fuzz_configured")
def test_django_passes_schemathesis() -> None:
    created = get_octotp().accounts.create_project("fuzz")
    with ThreadedWsgi(WSGIHandler()) as server:
        report = run_schemathesis(FuzzTarget(server.url + "/octotp", created.project.id, created.api_key.secret))
    print(f"\nschemathesis (Django): {report.cases} requests, {dict(report.statuses)}")
    assert report.cases >= 1_000
    assert report.server_errors == 0
