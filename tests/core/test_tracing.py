"""OpenTelemetry spans (issue 17), recorded by the real SDK's in-memory exporter: create and validate
each a root with hash, store and delivery spans below it, and no attribute holds a code, key or
recipient."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from octotp_core import Octotp, Settings
from octotp_core.testing.databases import migrated_sqlite_url


@pytest.fixture(scope="module")
def provider() -> TracerProvider:
    """The process's SDK tracer provider (OpenTelemetry allows setting it once per process)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    made = TracerProvider()
    trace.set_tracer_provider(made)
    return made


@pytest.fixture
def exporter(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()  # exports nothing more


@pytest.fixture
def traced(tmp_path: Path, make_settings: Callable[..., Settings]) -> Iterator[Octotp]:
    octotp = Octotp(make_settings(database_url=migrated_sqlite_url(tmp_path / "t.db")))
    yield octotp
    octotp.close()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[str]:
    assert parent.context is not None
    return [s.name for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_create_and_validate_are_spans_with_their_steps_below(traced: Octotp, exporter: InMemorySpanExporter) -> None:
    created = traced.accounts.create_project("traced")
    project = created.project.id
    exporter.clear()
    token = traced.create_token(project, email="Traced.User@example.com", send=True)
    assert token.code is not None
    wrong = str((int(token.code) + 1) % 10 ** len(token.code)).zfill(len(token.code))
    assert traced.validate_token(project, email="traced.user@example.com", code=wrong).status == "incorrect"
    assert traced.validate_token(project, email="traced.user@example.com", code=token.code).is_valid
    spans = list(exporter.get_finished_spans())

    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["octotp.create", "octotp.validate", "octotp.validate"]
    create, failed, approved = roots
    below_create = _children(spans, create)
    assert below_create.count("octotp.hash") == 1
    assert "octotp.store.insert_token" in below_create
    assert "octotp.delivery" in below_create
    assert "octotp.store.get_project" in below_create
    assert below_create.index("octotp.hash") < below_create.index("octotp.store.insert_token")
    assert _children(spans, approved) == [
        "octotp.store.get_project",
        "octotp.store.reserve_latest",
        "octotp.hash",
        "octotp.store.consume_token",
    ]
    assert "octotp.hash" in _children(spans, failed)

    assert create.attributes is not None
    assert dict(create.attributes) == {
        "octotp.project_id": project,
        "octotp.channel": "email",
        "octotp.sent": True,
    }
    assert failed.attributes is not None
    assert failed.attributes["octotp.status"] == "incorrect"
    assert approved.attributes is not None
    assert approved.attributes["octotp.status"] == "approved"
    delivery = next(s for s in spans if s.name == "octotp.delivery")
    assert delivery.attributes is not None
    assert dict(delivery.attributes) == {
        "octotp.channel": "email",
        "octotp.outcome": "sent",
    }

    # Nothing secret or personal in any span: no code, key or recipient, no exception text.
    values = [str(v) for s in spans for v in (s.attributes or {}).values()]
    values += [str(v) for s in spans for e in s.events for v in (e.attributes or {}).values()]
    for secret in (token.code, wrong, created.api_key.secret, "traced.user", "Traced.User", "example.com"):
        assert not any(secret in value for value in values), secret


def test_a_refused_create_is_an_error_span_naming_the_error(traced: Octotp, exporter: InMemorySpanExporter) -> None:
    project = traced.accounts.create_project("refused").project.id
    exporter.clear()
    with pytest.raises(Exception, match="expires_in"):
        traced.create_token(project, email="refused@example.com", expires_in=5)
    (span,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert span.name == "octotp.create"
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "InvalidInput"
    assert span.events == ()  # the exception's text is not recorded


def test_tracing_off_wraps_nothing(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    octotp = Octotp(make_settings(database_url=migrated_sqlite_url(tmp_path / "off.db"), tracing_enabled=False))
    try:
        assert "create" not in vars(octotp.tokens)
        assert type(octotp.tokens.store).__name__ == "SqlAlchemyStore"
    finally:
        octotp.close()


API_WITHOUT_PROVIDER = """
import json, sys, tempfile
from opentelemetry import trace  # the API, as FastAPI installs it; no SDK provider set
from octotp_core import Octotp, Settings
octotp = Octotp(Settings(data_dir=tempfile.mkdtemp(), secret_key="s" * 32))
print(json.dumps({
    "provider": type(trace.get_tracer_provider()).__name__,
    "create_wrapped": "create" in vars(octotp.tokens),
    "store": type(octotp.tokens.store).__name__,
    "hasher": type(octotp.hasher).__name__,
}))
octotp.close()
"""


def test_the_api_without_a_configured_provider_wraps_nothing() -> None:
    """FastAPI depends on opentelemetry-api, so the API is there in every standalone service: with no
    tracer provider configured its spans would be dropped, so octotp adds no per-call work at all."""
    done = subprocess.run(
        [sys.executable, "-c", API_WITHOUT_PROVIDER], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "provider": "ProxyTracerProvider",
        "create_wrapped": False,
        "store": "SqlAlchemyStore",
        "hasher": "Argon2CodeHasher",
    }
