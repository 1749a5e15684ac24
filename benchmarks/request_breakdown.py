"""Where a request's time goes inside octotp: core's ``ApiHandler`` answering in-process
``POST /api/tokens`` (create) and ``POST /api/tokens/validate`` (validate with the right code), each
step timed by a thin wrapper (``time.thread_time`` around the real method, no profiler), beside the
reference's own work (``benchapps.reference``: parse the body, draw and hash a code, one insert
through SQLAlchemy) on the same database. Logging is configured as ``octotp serve`` configures it
(text lines to a file). What the framework and server add is not here: ``run.py``'s CPU column
minus this script's total is that.

    python benchmarks/request_breakdown.py                      # SQLite + memory limits, hmac
    python benchmarks/request_breakdown.py --database postgres  # a temporary database + Redis limits
    python benchmarks/request_breakdown.py --hasher argon2

Prints, per case, microseconds of thread CPU per request for each step (steps nest: ``create``
holds ``store.insert_token``, which the outer steps include). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import insert

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from benchapps.reference import make_hash, metadata, new_row, reference_tokens  # noqa: E402
from harness.data import temporary_postgres  # noqa: E402
from octotp_core import Octotp, Settings  # noqa: E402
from octotp_core.http import ApiHandler, Request  # noqa: E402
from octotp_core.logs import configure_logging  # noqa: E402

_spent: collections.Counter[str] = collections.Counter()


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            _spent[name] += time.thread_time() - started

    return wrapper


def _instrument(octotp: Octotp, handler: ApiHandler) -> None:
    """Wrap each step of a request on these very objects (instances only; the classes are untouched)."""
    import octotp_core.http.api as api_module
    import octotp_core.tokens as tokens_module

    steps: list[tuple[Any, str, str]] = [
        (handler, "_answer", "http: whole request (ApiHandler)"),
        (handler, "_authenticate", "http: API key lookup (cached)"),
        (handler, "_parse", "http: body (pydantic)"),
        (octotp.tokens, "create", "tokens.create"),
        (octotp.tokens, "validate", "tokens.validate"),
        (octotp.tokens, "_emit", "token events"),
        (octotp.tokens.meter, "count", "usage meter"),
        (octotp.tokens.hasher, "hash", "hash"),
        (octotp.tokens.hasher, "verify", "verify"),
        (octotp.limits, "admit_create", "limits: create (plan + send budget)"),
        (octotp.limits, "spend_failure", "limits: spend failure budget"),
        (octotp.limits, "refund_failure", "limits: refund failure budget"),
        (octotp.store, "insert_token", "store: insert (superseding)"),
        (octotp.store, "reserve_latest", "store: reserve attempt"),
        (octotp.store, "consume_token", "store: consume"),
    ]
    for target, attribute, name in steps:
        setattr(target, attribute, _timed(name, getattr(target, attribute)))
    tokens_module.recipient_from = _timed("recipient normalisation", tokens_module.recipient_from)  # type: ignore[attr-defined]
    for logger, name in ((tokens_module.log, "log: token line"), (api_module.log, "log: request line")):
        logger.info = _timed(name, logger.info)  # type: ignore[method-assign]
    api_module.Response.json = staticmethod(_timed("http: response JSON", api_module.Response.json))  # type: ignore[method-assign]


@contextlib.contextmanager
def _database(kind: str, directory: Path) -> Iterator[dict[str, Any]]:
    if kind == "sqlite":
        yield {"database_url": f"sqlite:///{directory / 'bench.db'}", "rate_limit_storage": "memory://"}
        return
    server = os.environ.get("OCTOTP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis = os.environ.get("OCTOTP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with temporary_postgres(server) as url:
        yield {"database_url": url, "rate_limit_storage": redis}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--hasher", choices=["argon2", "hmac"], default="hmac")
    args = parser.parse_args()
    os.environ["OCTOTP_HASHER"] = args.hasher  # the reference hashes as octotp does
    with tempfile.TemporaryDirectory() as name, _database(args.database, Path(name)) as database:
        directory = Path(name)
        configure_logging("text")  # as octotp serve does, but into a file instead of stderr
        for root_handler in logging.getLogger().handlers:
            if isinstance(root_handler, logging.StreamHandler):
                root_handler.setStream(open(directory / "server.log", "a"))  # noqa: SIM115
        octotp = Octotp(
            Settings(
                **database,
                secret_key=SecretStr("b" * 43),
                plans={"bench": {"creates_per_minute": 10_000_000}},
                default_plan="bench",
                recipient_send_budget="1000000/10 minutes",
                hasher=args.hasher,
            )
        )
        octotp.migrate()
        created = octotp.accounts.create_project("breakdown")
        project, key = created.project.id, created.api_key.secret
        handler = ApiHandler(octotp)
        headers = {"Content-Type": "application/json", "X-Api-Key": key}

        def create() -> dict[str, Any]:
            email = f"u-{uuid.uuid4().hex[:12]}@example.com"
            body = json.dumps({"projectId": project, "recipientEmail": email}).encode()
            answer = handler.handle(Request("POST", "/api/tokens", headers, body))
            assert answer.status == 201, answer.body
            return {**json.loads(answer.body), "email": email}

        def validate(token: dict[str, Any]) -> None:
            body = {"projectId": project, "recipientEmail": token["email"], "code": token["code"]}
            answer = handler.handle(Request("POST", "/api/tokens/validate", headers, json.dumps(body).encode()))
            assert answer.status == 200, answer.body
            assert b'"approved"' in answer.body, answer.body

        assert octotp.engine is not None
        metadata.create_all(octotp.engine)
        hash_code, statement = make_hash(), insert(reference_tokens)

        def reference() -> None:
            body = json.dumps({"recipientEmail": f"u-{uuid.uuid4().hex[:12]}@example.com"}).encode()
            row, _ = new_row(body, hash_code)
            with octotp.engine.begin() as conn:  # type: ignore[union-attr]
                conn.execute(statement, row)

        for _ in range(50):  # warm-up: caches, pools, compiled statements
            reference()
            validate(create())
        _instrument(octotp, handler)
        reference_cpu = _reference_cpu(reference, args.n)
        results: dict[str, dict[str, float]] = {}
        _spent.clear()
        tokens = [create() for _ in range(args.n)]
        results["create"] = {k: v / args.n for k, v in _spent.items()}
        _spent.clear()
        for token in tokens:
            validate(token)
        results["validate-ok"] = {k: v / args.n for k, v in _spent.items()}
        octotp.close()
    print(f"{args.database}, hasher {args.hasher}, {args.n} requests per case; µs of thread CPU per request")
    print(f"  reference (parse, draw, hash, one insert): {reference_cpu * 1e6:7.0f}")
    for case, spent in results.items():
        print(f"  {case}:")
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"    {name:42} {seconds * 1e6:7.0f}")


def _reference_cpu(reference: Callable[[], None], n: int) -> float:
    started = time.thread_time()
    for _ in range(n):
        reference()
    return (time.thread_time() - started) / n


if __name__ == "__main__":
    main()
