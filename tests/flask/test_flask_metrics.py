"""``octotp_flask.metrics_view`` routed in a host app: a create shows up in the next scrape."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from octotp_flask import get_octotp, metrics_view
from tests.metrics_samples import TOKEN, created_requests, samples


def test_a_host_app_serves_octotp_metrics(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_METRICS_ENABLED=True, OCTOTP_METRICS_TOKEN=TOKEN)
    app.add_url_rule("/metrics", view_func=metrics_view)
    with app.app_context():
        created = get_octotp().accounts.create_project("flask metrics")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = created_requests(samples(client.get("/metrics", headers=auth).text))
    body = {"projectId": created.project.id, "recipientEmail": "host@example.com"}
    answer = client.post("/api/tokens", json=body, headers={"X-Api-Key": created.api_key.secret})
    assert answer.status_code == 201
    scraped = client.get("/metrics", headers=auth)
    assert scraped.status_code == 200
    assert created_requests(samples(scraped.text)) == before + 1
    assert answer.json is not None
    assert answer.json["code"] not in scraped.text
    refused = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.json is not None
    assert refused.json["code"] == "invalid_metrics_token"
