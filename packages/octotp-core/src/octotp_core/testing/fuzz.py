"""schemathesis against a mounted token API: one way to run it for every adapter.

``run_schemathesis(FuzzTarget(base_url, project_id, api_key))`` loads the canonical OpenAPI
document (after checking that the adapter serves exactly that one at ``/openapi.json``), adds the
links between its operations, and runs, with every built-in check of schemathesis:

- each operation, with schema-valid (positive) and schema-invalid (negative) requests;
- the stateful phase: sequences that follow the links (create → validate with the issued code,
  create → resend, create → cancel).

A real project id and key are mixed into generated requests so the token logic is reached, not
only the authentication. The seed is fixed (``derandomize``), so a CI run is reproducible. The
run fails on the first check that fails, and also when fewer than ``min_cases`` requests were
made: a silently tiny run cannot pass. The server should allow many creates per minute and large
recipient budgets, or most requests only meet a 429.

A third-party adapter serves its app on 127.0.0.1 and runs::

    from octotp_core.testing.fuzz import FuzzTarget, run_schemathesis

    def test_schemathesis(live_url, project_id, api_key):
        report = run_schemathesis(FuzzTarget(live_url, project_id, api_key))
        assert report.server_errors == 0
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from ..http import openapi_document

if TYPE_CHECKING:
    Case = schemathesis.Case[Any]
else:  # Case is generic only from schemathesis 4.x releases after the lowest supported one (4.11)
    Case = schemathesis.Case
_MODES = tuple(GenerationMode)  # positive (schema-valid) and negative (schema-invalid) requests


FUZZ_SETTINGS: dict[str, Any] = {
    "hasher": "hmac",
    "plans": {"free": {"creates_per_minute": 1_000_000}},
    "recipient_send_budget": "1000000/minute",
    "recipient_failure_budget": "1000000/minute",
}
"""``Settings`` values for a server under fuzzing (each adapter passes them its own way): limits high
enough that requests reach the token logic rather than a 429, and the fast ``hmac`` hasher."""


@dataclass(frozen=True)
class FuzzTarget:
    """A token API to fuzz: ``base_url`` is where its paths start (``/api/tokens`` is appended),
    e.g. ``http://127.0.0.1:8000`` or ``http://127.0.0.1:5000/octotp``; a project and one of its keys."""

    base_url: str
    project_id: str
    api_key: str


@dataclass
class FuzzReport:
    """What a run sent and got: requests per operation, statuses, stateful steps."""

    cases: int = 0
    stateful_steps: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, int]] = field(default_factory=Counter)
    """Requests per (operation, status)."""

    @property
    def server_errors(self) -> int:
        """Responses with a 5xx status other than the documented 502 (delivery) and 503 (storage)."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status not in (502, 503))


# Links the canonical document does not carry (yet): how a client chains the operations.
LINKS: dict[str, dict[str, Any]] = {
    "ValidateWithTheIssuedCode": {
        "operationId": "validateToken",
        "requestBody": {
            "projectId": "$request.body#/projectId",
            "recipientEmail": "$request.body#/recipientEmail",
            "recipientPhone": "$request.body#/recipientPhone",
            "code": "$response.body#/code",
        },
    },
    "Resend": {"operationId": "createToken", "requestBody": "$request.body"},
    "Cancel": {"operationId": "cancelToken", "parameters": {"tokenId": "$response.body#/id"}},
}


def fuzz_document() -> dict[str, Any]:
    """The canonical OpenAPI document with ``LINKS`` on ``createToken``'s 201 response."""
    document = copy.deepcopy(openapi_document())
    document["paths"]["/api/tokens"]["post"]["responses"]["201"]["links"] = copy.deepcopy(LINKS)
    return document


# JSON Schema cannot state some of the body rules the API enforces with a 400 (exactly one of
# recipientEmail/recipientPhone, a deliverable-looking address, a phone number valid in its numbering
# plan, the project's own expiry bounds, a purpose of letters, digits and ``_ . : -``, a code of
# 4-10 digits); a schema-valid body that breaks them is rightly refused, so for these two
# operations a 400 counts as an accepted outcome of ``positive_data_acceptance``. Every other check,
# and that one everywhere else, keeps schemathesis' defaults.
_BODY_RULES_BEYOND_SCHEMA = ["2xx", "400", "401", "403", "404", "409", "429"]


_NEGATIVE_DATA_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
"""schemathesis' default answers to schema-violating data, and 413."""


def fuzz_config(base_url: str | None = None) -> SchemathesisConfig:
    """schemathesis' configuration for the run (no config file is read, nothing is cached). The base
    URL is part of it because older schemathesis releases (4.11) need it for the checks that send
    requests of their own, whatever the call was given."""
    base = {} if base_url is None else {"base-url": base_url}
    return SchemathesisConfig.from_dict(
        {
            **base,
            # A body over 64 KiB is refused with 413 before it is read (documented on every operation
            # with a body): a rejection of schema-violating data like the default statuses.
            "checks": {"negative_data_rejection": {"expected-statuses": _NEGATIVE_DATA_REJECTED}},
            "operations": [
                {
                    "include-operation-id": operation,
                    "checks": {"positive_data_acceptance": {"expected-statuses": _BODY_RULES_BEYOND_SCHEMA}},
                }
                for operation in ("createToken", "validateToken")
            ]
            + [
                # Twilio's callbacks: a schema-valid form still needs Twilio's signature (403) and,
                # with a signature, a message octotp sent (404); nothing generated can have either.
                {
                    "include-operation-id": "twilioStatus",
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "403", "404"]}},
                }
            ],
        }
    )


def all_checks() -> list[Any]:
    """Every check schemathesis ships."""
    load_all_checks()
    return list(CHECKS.get_all())


_PURPOSE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class _Runner:
    def __init__(self, target: FuzzTarget, report: FuzzReport) -> None:
        self.target, self.report = target, report
        self.session = requests.Session()
        self.headers = {"X-Api-Key": target.api_key}
        self.checks = all_checks()

    def prepare(self, case: Case) -> None:
        """Steer some schema-valid bodies to the token logic (a real project, a real recipient).

        Only positive cases are edited, and only with values the schema allows, so a case stays what
        it was generated as; negative cases go as generated. The choice is a function of the
        generated body, so replaying a case replays its request (the stateful phase needs that:
        which links it can follow depends on the answers): one body in four keeps its generated
        project id, one in three its generated recipient, expiry, purpose and channel.
        """
        self.report.cases += 1
        meta = case.meta
        positive = meta is None or meta.generation.mode.is_positive
        if positive or (case.headers is not None and "X-Api-Key" in case.headers):
            # Every positive case carries the project's real key (where the key is optional too, so
            # that it reaches the token logic); a negative case generated without the header (one that
            # leaves a required header out) goes without it, as generated.
            if case.headers is None:
                case.headers = CaseInsensitiveDict()
            case.headers["X-Api-Key"] = self.target.api_key
        body = case.body
        if not isinstance(body, dict) or not positive:
            return
        n = zlib.crc32(json.dumps(body, sort_keys=True, default=repr).encode())
        if case.headers and "Idempotency-Key" in case.headers:
            # A key of its own per body: a replayed case is then an idempotent replay (same answer),
            # never a conflict with a different body that drew the same key earlier.
            case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:200]}-{n:08x}"
        if "projectId" in body and n % 4:
            body["projectId"] = self.target.project_id
        if n % 3 == 0 or case.operation.label not in ("POST /api/tokens", "POST /api/tokens/validate"):
            return
        if body.get("recipientPhone") is None or n % 2:
            body["recipientEmail"], body["recipientPhone"] = f"fuzz-{n % 5}@example.com", None
        purpose = body.get("purpose")
        if not isinstance(purpose, str) or not _PURPOSE.match(purpose):
            body["purpose"] = None
        if case.operation.label == "POST /api/tokens/validate":
            if not str(body.get("code", "")).isdigit():
                body["code"] = f"{n % 1_000_000:06d}"
            return
        expires = body.get("expiresInSeconds")
        if not isinstance(expires, int) or not 30 <= expires <= 600:
            body["expiresInSeconds"] = None
        body["channel"] = None

    def record(self, case: Case, response: schemathesis.Response) -> None:
        self.report.operations[case.operation.label] += 1
        self.report.statuses[response.status_code] += 1
        self.report.outcomes[(case.operation.label, response.status_code)] += 1

    def call_and_validate(self, case: Case) -> None:
        self.prepare(case)
        response = case.call(base_url=self.target.base_url, session=self.session)
        self.record(case, response)
        case.validate_response(response, checks=self.checks, headers=self.headers)


def _settings(examples: int, *, stateful_steps: int = 10) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        stateful_step_count=stateful_steps,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


def run_schemathesis(
    target: FuzzTarget,
    *,
    examples_per_operation: int = 150,
    stateful_examples: int = 40,
    min_cases: int = 1_000,
) -> FuzzReport:
    """Fuzz ``target`` with schemathesis (see the module docstring); raise on any failed check."""
    served = requests.get(target.base_url + "/openapi.json", timeout=30)
    assert served.status_code == 200, f"/openapi.json answered {served.status_code}"
    assert served.json() == json.loads(json.dumps(openapi_document())), "the served document is not the canonical one"

    schema = schemathesis.openapi.from_dict(fuzz_document(), config=fuzz_config(target.base_url))
    report = FuzzReport()
    runner = _Runner(target, report)
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here, as it should
        for mode in _MODES:
            strategy = operation.as_strategy(generation_mode=mode)

            @_settings(examples_per_operation)
            @hypothesis.given(case=strategy)
            def fuzz(case: Case) -> None:
                runner.call_and_validate(case)

            # Unsatisfiable: nothing to negate (an operation without parameters or body).
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                fuzz()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            runner.prepare(case)
            report.stateful_steps += 1

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": target.base_url, "session": runner.session}

        def after_call(self, response: schemathesis.Response, case: Case) -> None:
            runner.record(case, response)

        def validate_response(
            self, response: schemathesis.Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=runner.checks, headers=runner.headers, transport_kwargs=kwargs)

    Workflow.run(settings=_settings(stateful_examples, stateful_steps=10))
    runner.session.close()
    assert report.cases >= min_cases, f"only {report.cases} requests were made; at least {min_cases} were expected"
    assert report.server_errors == 0, f"server errors: {report.statuses}"
    return report
