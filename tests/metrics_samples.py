"""Reading a Prometheus scrape in tests: every sample by name and labels (prometheus-client's parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

TOKEN = "metrics-token-for-tests-0123456789"
"""The ``metrics_token`` the adapters' tests configure."""


def samples(text: str) -> Samples:
    """Every sample of an exposition by (name, labels sorted by name)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def created_requests(found: Samples, route: str = "/api/tokens") -> float:
    """``octotp_http_requests_total`` of the creates answered 201 (0 before the first)."""
    return found.get(("octotp_http_requests_total", (("method", "POST"), ("route", route), ("status", "201"))), 0.0)
