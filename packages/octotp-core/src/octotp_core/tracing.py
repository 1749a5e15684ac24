"""OpenTelemetry spans around create, validate, hash, store and delivery (``octotp-core[otel]``).

``tracer_for(settings)`` is None when ``opentelemetry-api`` is not importable, when no tracer
provider is configured yet (the API alone, as FastAPI installs it, gives only no-op spans), or when
``tracing_enabled`` is off: then ``Octotp`` wraps nothing, and no per-call work is added anywhere.
Otherwise the spans go to the provider the host configured with the OpenTelemetry SDK, which it must
do before it builds its ``Octotp`` (as OpenTelemetry's instrumentations expect too).

Attributes name the project, the channel and the outcome (a validation's status, an error's type),
never a code, a key or a recipient; exceptions are not recorded as span events, since their text is
not the span's to show.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .delivery import DeliveryBackend, Message
    from .hashing import CodeHasher
    from .settings import Settings
    from .store import Store
    from .tokens import TokenService

F = TypeVar("F", bound=Callable[..., Any])

TRACER_NAME = "octotp"


def tracer_for(settings: Settings) -> Any | None:
    """octotp's tracer, or None when ``tracing_enabled`` is off, ``opentelemetry-api`` is absent, or no
    tracer provider is configured (``trace.set_tracer_provider``, or ``OTEL_PYTHON_TRACER_PROVIDER``)."""
    if not settings.tracing_enabled:
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    if isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None  # spans would be dropped: wrapping would cost every call for nothing
    from .version import __version__

    return trace.get_tracer(TRACER_NAME, __version__)


def _span(tracer: Any, name: str, function: F, attributes: Callable[[Any], dict[str, Any]] | None = None) -> F:
    """``function`` run inside a span ``name``; ``attributes(result)`` adds attributes from its result."""

    @functools.wraps(function)
    def traced(*args: Any, **kwargs: Any) -> Any:
        with tracer.start_as_current_span(name, record_exception=False, set_status_on_exception=False) as span:
            return _outcome(span, lambda: function(*args, **kwargs), attributes)

    return traced  # type: ignore[return-value]


def _outcome(span: Any, call: Callable[[], Any], attributes: Callable[[Any], dict[str, Any]] | None) -> Any:
    """``call()``'s result, its attributes set on ``span``; an error's type and status when it raises."""
    from opentelemetry.trace import Status, StatusCode

    try:
        result = call()
    except Exception as exc:
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR))
        raise
    if attributes is not None:
        span.set_attributes(attributes(result))
    return result


def trace_tokens(tokens: TokenService, tracer: Any) -> None:
    """Spans ``octotp.create`` and ``octotp.validate`` around the service's ``create`` and ``validate``
    (attributes: ``octotp.project_id``, and ``octotp.channel`` and ``octotp.sent``, or ``octotp.status``)."""
    create, validate = tokens.create, tokens.validate

    def traced_create(project: Any, **kwargs: Any) -> Any:
        with tracer.start_as_current_span(
            "octotp.create", record_exception=False, set_status_on_exception=False
        ) as span:
            span.set_attribute("octotp.project_id", _project_id(project))
            return _outcome(
                span, lambda: create(project, **kwargs), lambda r: {"octotp.channel": r.channel, "octotp.sent": r.sent}
            )

    def traced_validate(project: Any, **kwargs: Any) -> Any:
        with tracer.start_as_current_span(
            "octotp.validate", record_exception=False, set_status_on_exception=False
        ) as span:
            span.set_attribute("octotp.project_id", _project_id(project))
            return _outcome(span, lambda: validate(project, **kwargs), lambda r: {"octotp.status": r.status})

    tokens.create = functools.wraps(create)(traced_create)  # type: ignore[method-assign]
    tokens.validate = functools.wraps(validate)(traced_validate)  # type: ignore[method-assign]


def _project_id(project: Any) -> str:
    return str(getattr(project, "id", project))


class TracedHasher:
    """A ``CodeHasher`` whose hash and verify each run in an ``octotp.hash`` span."""

    def __init__(self, inner: CodeHasher, tracer: Any) -> None:
        self.inner = inner
        self.hash = _span(tracer, "octotp.hash", inner.hash, lambda _: {"octotp.operation": "hash"})
        self.verify = _span(tracer, "octotp.hash", inner.verify, lambda _: {"octotp.operation": "verify"})


class TracedStore:
    """The store a ``TokenService`` uses, each method call in an ``octotp.store.<method>`` span; every
    other attribute is the inner store's."""

    def __init__(self, inner: Store, tracer: Any) -> None:
        self._inner, self._tracer = inner, tracer
        self._traced: dict[str, tuple[object, Callable[..., Any]]] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value
        # Wrapped once per method, and again if the inner store's method was replaced since.
        function = getattr(value, "__func__", value)
        cached = self._traced.get(name)
        if cached is None or cached[0] is not function:
            cached = self._traced[name] = (function, _span(self._tracer, f"octotp.store.{name}", value))
        return cached[1]


def send_traced(tracer: Any, send: Callable[[DeliveryBackend, str, Message], object]) -> Callable[..., object]:
    """``send(backend, channel, message)`` in an ``octotp.delivery`` span (attributes
    ``octotp.channel`` and ``octotp.outcome``: ``sent`` or ``error`` with ``error.type``)."""
    from opentelemetry.trace import Status, StatusCode

    def traced(backend: DeliveryBackend, channel: str, message: Message) -> object:
        with tracer.start_as_current_span(
            "octotp.delivery", record_exception=False, set_status_on_exception=False
        ) as span:
            span.set_attribute("octotp.channel", channel)
            try:
                result = send(backend, channel, message)
            except Exception as exc:
                span.set_attributes({"octotp.outcome": "error", "error.type": type(exc).__name__})
                span.set_status(Status(StatusCode.ERROR))
                raise
            span.set_attribute("octotp.outcome", "sent")
            return result

    return traced
