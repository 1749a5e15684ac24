"""Prometheus metrics: one set of ``octotp_*`` metrics per process, and the hooks that feed them.

``metrics_for(settings)`` gives every ``Octotp`` its hooks: ``NO_METRICS`` (methods that do nothing,
and nothing of ``prometheus_client`` imported) unless ``metrics_enabled`` is set, else a ``Metrics``
over the process's one set of metric objects (``prometheus-client``, the ``octotp-core[metrics]``
extra). ``render_metrics`` writes the text exposition a scrape receives; with
``PROMETHEUS_MULTIPROC_DIR`` set (``octotp serve --workers N`` sets it) it is the sum over every
worker process (prometheus-client's multiprocess mode).

Labels stay low-cardinality: a route is its template (``/api/tokens/{tokenId}``), never the path; no
project id, recipient, key or code is ever a label value.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .delivery.outcomes import PermanentFailure
from .errors import OctotpError, RateLimited, StorageUnavailable
from .ratelimit import LIMIT_STORAGE, storage_scheme

if TYPE_CHECKING:
    from .delivery import DeliveryBackend, Message
    from .hashing import CodeHasher
    from .settings import Settings
    from .store import Store
    from .tokens import TokenEvent

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess directory: when set, every process writes its values there and a
scrape sums them."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The exposition format's media type (prometheus-client's ``CONTENT_TYPE_LATEST``)."""

TOKEN_EVENTS = ("created", "approved", "failed", "locked")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
"""The ``route`` label of a request for a path octotp has no route for (its 404)."""

# Latency buckets (seconds): an argon2 ``otp`` hash takes ~10 ms, a create with SMTP delivery longer.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_HASH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


class NoMetrics:
    """The hooks of an ``Octotp`` whose metrics are off: each does nothing."""

    enabled = False

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Nothing (metrics are off)."""

    def observe_error(self, error: OctotpError) -> None:
        """Nothing (metrics are off)."""

    def token_event(self, event: TokenEvent) -> None:
        """Nothing (metrics are off)."""

    def instrument_hasher(self, hasher: CodeHasher) -> CodeHasher:
        """``hasher`` itself (metrics are off)."""
        return hasher

    def delivered(self, channel: str, outcome: str) -> None:
        """Nothing (metrics are off)."""


NO_METRICS = NoMetrics()


class _Families:
    """The process's metric objects, made once (prometheus-client refuses a name registered twice)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "octotp_http_requests_total", "API requests answered", ["route", "method", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "octotp_http_request_duration_seconds",
            "Time to answer an API request",
            ["route", "method"],
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "octotp_tokens_total", "Token events (created, approved, failed, locked)", ["event"], registry=r
        )
        self.rate_limited = Counter(
            "octotp_rate_limited_total", "Requests refused by a rate limit (429), by limit", ["limit"], registry=r
        )
        self.hash_seconds = Histogram(
            "octotp_hash_duration_seconds",
            "Time to hash a code (create) or verify one (validate)",
            ["operation"],
            buckets=_HASH_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "octotp_deliveries_total", "Delivery attempts by channel and outcome", ["channel", "outcome"], registry=r
        )
        self.database_errors = Counter(
            "octotp_database_errors_total", "Requests answered 503 because the database failed", registry=r
        )
        self.redis_errors = Counter(
            "octotp_redis_errors_total", "Requests answered 503 because the Redis rate-limit storage failed", registry=r
        )


@functools.cache
def _families() -> _Families:
    return _Families()


class Metrics:
    """The hooks of an ``Octotp`` whose metrics are on, feeding the process's ``octotp_*`` metrics."""

    enabled = True

    def __init__(self, settings: Settings) -> None:
        self._m = _families()
        # Which counter a rate-limit storage failure goes to: Redis's, or the database's when the
        # limits count in octotp's own database (database://) or in memory.
        self._limit_errors = (
            self._m.redis_errors
            if storage_scheme(settings.rate_limit_storage).startswith(("redis", "rediss"))
            else self._m.database_errors
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered API request and its duration."""
        method = method.upper()
        if method not in _METHODS:  # anyone can send any method token: keep the label set bounded
            method = "OTHER"
        self._m.requests.labels(route, method, str(status)).inc()
        self._m.request_seconds.labels(route, method).observe(seconds)

    def observe_error(self, error: OctotpError) -> None:
        """Count a rate-limited request or a storage failure the API answered."""
        if isinstance(error, RateLimited):
            self._m.rate_limited.labels(error.scope).inc()
        elif isinstance(error, StorageUnavailable):
            counter = self._limit_errors if error.source == LIMIT_STORAGE else self._m.database_errors
            counter.inc()

    def token_event(self, event: TokenEvent) -> None:
        """A token listener: count ``created``, ``approved``, ``failed`` and ``locked``."""
        if event.kind in TOKEN_EVENTS:
            self._m.tokens.labels(event.kind).inc()

    def instrument_hasher(self, hasher: CodeHasher) -> CodeHasher:
        """``hasher`` timing each hash and verify into ``octotp_hash_duration_seconds``."""
        return TimedHasher(hasher, self._m.hash_seconds.labels("hash"), self._m.hash_seconds.labels("verify"))

    def delivered(self, channel: str, outcome: str) -> None:
        """Count one delivery attempt (``sent``, ``failed`` for good, or ``error``, retried in queue mode)."""
        self._m.deliveries.labels(channel, outcome).inc()


class TimedHasher:
    """A ``CodeHasher`` observing how long its inner hasher takes."""

    def __init__(self, inner: CodeHasher, hash_histogram: Any, verify_histogram: Any) -> None:
        self.inner = inner
        self._hash, self._verify = hash_histogram, verify_histogram

    def hash(self, code: str) -> str:
        """The inner hasher's hash, timed."""
        started = time.perf_counter()
        try:
            return self.inner.hash(code)
        finally:
            self._hash.observe(time.perf_counter() - started)

    def verify(self, stored: str, code: str) -> bool:
        """The inner hasher's verify, timed."""
        started = time.perf_counter()
        try:
            return self.inner.verify(stored, code)
        finally:
            self._verify.observe(time.perf_counter() - started)


def metrics_for(settings: Settings) -> Metrics | NoMetrics:
    """The hooks for an ``Octotp`` with these settings: ``NO_METRICS`` unless ``metrics_enabled``."""
    if not settings.metrics_enabled:
        return NO_METRICS
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise RuntimeError("metrics_enabled needs prometheus-client: pip install 'octotp-core[metrics]'") from None
    return Metrics(settings)


def send_counted(metrics: Metrics | NoMetrics, backend: DeliveryBackend, channel: str, message: Message) -> object:
    """``backend.send(message)``, counting its outcome when metrics are on (what both the synchronous
    send and the outbox call)."""
    if not metrics.enabled:
        return backend.send(message)
    try:
        provider_id = backend.send(message)
    except PermanentFailure:
        metrics.delivered(channel, "failed")
        raise
    except Exception:
        metrics.delivered(channel, "error")
        raise
    metrics.delivered(channel, "sent")
    return provider_id


class _OpenJobs:
    """A collector reading the outbox's depth from the store at scrape time (one indexed query)."""

    def __init__(self, store: Store, on_error: Callable[[StorageUnavailable], None]) -> None:
        self.store, self.on_error = store, on_error

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            counts = self.store.count_open_jobs()
        except StorageUnavailable as exc:
            self.on_error(exc)
            return
        family = GaugeMetricFamily("octotp_delivery_jobs", "Outbox jobs now queued or being sent", labels=["state"])
        for state, count in sorted(counts.items()):
            family.add_metric([state], count)
        yield family


def render_metrics(metrics: Metrics | NoMetrics, store: Store) -> bytes:
    """The text exposition of octotp's metrics in this process (or, in multiprocess mode, summed over
    every process writing to ``PROMETHEUS_MULTIPROC_DIR``), with the outbox's depth read from ``store``."""
    from prometheus_client import CollectorRegistry, generate_latest

    families = _families()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = families.registry
    text = generate_latest(registry)
    jobs = CollectorRegistry(auto_describe=False)
    jobs.register(_OpenJobs(store, metrics.observe_error))  # type: ignore[arg-type]
    return text + generate_latest(jobs)
