"""``Octotp``: the composition root that wires settings, store, hasher, limits and services together.

Adapters build one per app; a host app's code calls its in-process API (``create_token``,
``validate_token``, ``cancel_token``) with no HTTP involved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

from sqlalchemy import Engine

from .accounts import AccountService
from .clock import Clock, SystemClock
from .console.audit import AuditLog
from .delivery import DeliveryBackend, Send, load_backend, plain_send
from .hashing import make_code_hasher
from .inprocess import InProcessApi
from .metrics import metrics_for, send_counted
from .outbox import Outbox, Worker
from .ratelimit import RateLimits
from .settings import Settings
from .store import SqlAlchemyStore, Store, make_engine
from .tokens import TokenEvent, TokenService
from .tracing import TracedHasher, TracedStore, send_traced, trace_tokens, tracer_for
from .webhooks.endpoints import WebhookEndpoints


class Octotp(InProcessApi):
    """One configured octotp: ``tokens``, ``accounts`` and ``audit`` services over one store, and the in-process
    API (``create_token``, ``validate_token``, ``cancel_token``) on them."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        engine: Engine | None = None,
        clock: Clock | None = None,
        backends: dict[str, DeliveryBackend] | None = None,
    ) -> None:
        super().__init__(lambda: self)
        self.settings = settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.engine = engine
        if store is None:
            self.engine = engine or make_engine(settings.effective_database_url)
            store = SqlAlchemyStore(self.engine)
        self.store = store
        secrets = settings.secrets()
        # Metrics and spans: hooks that do nothing (NO_METRICS) and nothing wrapped (no tracer) unless
        # metrics_enabled is set, and opentelemetry-api is importable with a tracer provider configured.
        self.metrics = metrics = metrics_for(settings)
        tracer = tracer_for(settings)
        hasher = metrics.instrument_hasher(make_code_hasher(settings.hasher, secrets, settings.argon2_profile))
        self.hasher = TracedHasher(hasher, tracer) if tracer is not None else hasher
        send: Send = functools.partial(send_counted, metrics) if metrics.enabled else plain_send
        if tracer is not None:
            send = send_traced(tracer, send)
        # ``database://`` counts in octotp's own database: the engine of a SQLAlchemy store.
        limits_engine = store.engine if isinstance(store, SqlAlchemyStore) else None
        self.limits = RateLimits.from_settings(settings, limits_engine)
        if backends is None:
            backends = {
                "email": load_backend(settings.delivery_email_backend, settings.delivery_options),
                "sms": load_backend(settings.delivery_sms_backend, settings.delivery_options),
            }
        self.accounts = AccountService(store, settings, self.clock)
        self.audit = AuditLog(store, settings, self.clock)
        listeners: list[Callable[[TokenEvent], None]] = []  # one list: token and delivery events alike
        if metrics.enabled:
            listeners.append(metrics.token_event)
        self.outbox = Outbox(store, settings, self.clock, backends, secrets, listeners)
        self.outbox.send = send
        self.webhooks = WebhookEndpoints(store, settings, self.clock, secrets)
        self.webhooks.dispatch = self.outbox.dispatch
        self.outbox.send_webhook = self.webhooks.send
        listeners.append(self.webhooks.on_token_event)
        self.tokens = TokenService(
            cast(Store, TracedStore(store, tracer)) if tracer is not None else store,
            settings,
            self.hasher,
            self.limits,
            self.clock,
            secrets[0],
            backends,
            fallback_secrets=secrets[1:],
            outbox=self.outbox,
            listeners=listeners,
        )
        self.tokens.send = send
        if tracer is not None:
            trace_tokens(self.tokens, tracer)

    def migrate(self) -> None:
        """Create or upgrade octotp's tables (SQLAlchemy stores only)."""
        from .migrate import upgrade

        if self.engine is None:
            raise RuntimeError("this Octotp has no SQLAlchemy engine to migrate")
        upgrade(self.engine)

    # -- the in-process API (create_token, validate_token, cancel_token) comes from InProcessApi --

    def start_worker(self) -> Worker:
        """A ``Worker`` sending this octotp's jobs (codes with ``delivery_mode="queue"``, and event
        webhooks in either mode) in a daemon thread: what ``octotp serve`` runs in each of its
        processes. Stop it with ``stop()``."""
        return Worker(self.outbox).start()

    def close(self) -> None:
        """Write pending usage counters and release database connections."""
        self.tokens.meter.flush()
        if self.engine is not None:
            self.engine.dispose()
