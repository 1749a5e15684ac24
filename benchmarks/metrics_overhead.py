"""What metrics and spans cost a create: ``ApiHandler.handle`` on in-process ``POST /api/tokens``
requests (no socket; the API layer, the token service and the store on one SQLite file) for
(a) ``off``: metrics off and tracing off, nothing wrapped; (b) ``metrics``: ``metrics_enabled``
(prometheus-client counting every hook); (c) ``otel``: tracing on with the OpenTelemetry SDK
configured (a ``TracerProvider`` whose ``SimpleSpanProcessor`` hands every span to an exporter that
drops it, so the spans are made and ended but not shipped); (d) ``both``. Rounds alternate the
cases in one process; prints the median and the best round's per-create time of each and their
ratios to ``off`` (on a busy machine the best round says more about the hooks' own cost).
A benchmark, not a test.

    python benchmarks/metrics_overhead.py                   # 300 creates per case, 5 rounds, argon2
    python benchmarks/metrics_overhead.py --n 1000 --rounds 7 --hasher hmac

``--hasher hmac`` takes argon2's ~10 ms out of each create, so the hooks' own cost shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from pydantic import SecretStr

from octotp_core import Octotp, Settings
from octotp_core.http import ApiHandler, Request


class _Dropping(SpanExporter):
    """Takes every span and keeps none (what an exporter costs is the exporter's, not octotp's)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _timed(handler: ApiHandler, project: str, key: str, n: int) -> float:
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    start = time.perf_counter()
    for _ in range(n):
        body = json.dumps({"projectId": project, "recipientEmail": f"u-{uuid.uuid4().hex[:12]}@example.com"})
        answer = handler.handle(Request("POST", "/api/tokens", headers, body.encode()))
        assert answer.status == 201, answer.body
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hasher", choices=["argon2", "hmac"], default="argon2")
    args = parser.parse_args()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Dropping()))
    trace.set_tracer_provider(provider)
    with tempfile.TemporaryDirectory() as directory:
        base = {
            "database_url": f"sqlite:///{Path(directory) / 'bench.db'}",
            "secret_key": SecretStr("b" * 43),
            "plans": {"bench": {"creates_per_minute": 10_000_000}},
            "default_plan": "bench",
            "recipient_send_budget": "1000000/10 minutes",
            "hasher": args.hasher,
            "metrics_token": SecretStr("m" * 32),
        }
        variants = {
            "off": {"metrics_enabled": False, "tracing_enabled": False},
            "metrics": {"metrics_enabled": True, "tracing_enabled": False},
            "otel": {"metrics_enabled": False, "tracing_enabled": True},
            "both": {"metrics_enabled": True, "tracing_enabled": True},
        }
        cases: dict[str, tuple[Octotp, ApiHandler, str, str]] = {}
        for name, options in variants.items():
            octotp = Octotp(Settings(**base, **options))  # type: ignore[arg-type]
            if not cases:
                octotp.migrate()
            created = octotp.accounts.create_project(f"bench {name}")
            cases[name] = (octotp, ApiHandler(octotp), created.project.id, created.api_key.secret)
        for _, handler, project, key in cases.values():
            _timed(handler, project, key, 20)  # warm-up
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (_, handler, project, key) in cases.items():
                results[name].append(_timed(handler, project, key, args.n))
        for octotp, *_ in cases.values():
            octotp.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    best = {name: min(values) for name, values in results.items()}
    print(f"hasher {args.hasher}, {args.n} creates x {args.rounds} rounds per case (median round; best round)")
    for name in medians:
        print(
            f"{name:>8}: {medians[name] * 1e6:8.0f} µs per create, ratio to off {medians[name] / medians['off']:.3f}; "
            f"best {best[name] * 1e6:8.0f} µs, ratio {best[name] / best['off']:.3f}"
        )


if __name__ == "__main__":
    main()
