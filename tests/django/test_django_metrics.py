"""``octotp_django.views.metrics_view`` in a host's URLconf: a create shows up in the next scrape."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings

from octotp_django.api import get_octotp, reset_octotp
from octotp_django.views import metrics_view
from tests.metrics_samples import TOKEN, created_requests, samples

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.mark.parametrize(
    "octotp_db", ["sqlite"], indirect=True
)  # the view only translates; the store suite counts jobs on each
def test_a_host_app_serves_octotp_metrics(octotp_db: str) -> None:
    with override_settings(OCTOTP={**settings.OCTOTP, "METRICS_ENABLED": True, "METRICS_TOKEN": TOKEN}):
        reset_octotp()
        try:
            created = get_octotp().accounts.create_project("django metrics")
            scrape = RequestFactory().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            before = created_requests(samples(metrics_view(scrape).content.decode()))
            body = json.dumps({"projectId": created.project.id, "recipientEmail": "host@example.com"})
            answer = Client().post(
                "/api/tokens", body, content_type="application/json", headers={"X-Api-Key": created.api_key.secret}
            )
            assert answer.status_code == 201
            scraped = metrics_view(scrape)
            refused = metrics_view(RequestFactory().get("/metrics"))
        finally:
            reset_octotp()
    assert scraped.status_code == 200
    assert created_requests(samples(scraped.content.decode())) == before + 1
    assert answer.json()["code"] not in scraped.content.decode()
    assert refused.status_code == 401
    assert json.loads(refused.content)["code"] == "invalid_metrics_token"
