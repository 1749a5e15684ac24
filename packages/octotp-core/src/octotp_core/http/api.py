"""``ApiHandler``: the whole token API (DESIGN §4) on neutral requests. Adapters only translate.

Everything a client can observe is decided here, once: routing, body limits, content type, JSON
parsing, field validation, authentication, rate-limit headers, problem bodies, request ids, logs.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core import Octotp
from ..errors import AuthenticationFailed, FieldError, InvalidInput, OctotpError, PermissionDenied, ProjectSuspended
from ..health import ensure_ready
from ..logs import request_context
from ..metrics import UNMATCHED_ROUTE
from ..ratelimit import LimitState
from ..states import token_state
from ..store import Job, Project
from .bodies import JSON, body_refusal
from .idempotency import RequestFingerprints, check_key, run_idempotent
from .messages import Request, Response
from .models import CreateTokenRequest, ValidateTokenRequest
from .openapi import openapi_document
from .problems import problem, problem_for, request_id_from
from .proxies import resolve_client
from .routes import find_route
from .twilio_status import twilio_status

log = logging.getLogger("octotp.http")

MAX_BODY_BYTES = 64 * 1024


def request_id_for(request: Request) -> str:
    """The caller's ``X-Request-Id`` when it is a safe token (so it can be traced end to end), else a new one."""
    return request_id_from(request.header("x-request-id"))


_KEY_QUERY_NAMES = {"api_key", "apikey", "x-api-key", "x_api_key", "key", "token"}
_NO_STORE = ("Cache-Control", "no-store")


class _RequestFacts:
    """Per-request facts gathered on the way, for the handler, the response headers and the log line."""

    __slots__ = ("path_params", "project_id", "request_id", "route")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.project_id: str | None = None
        self.path_params: dict[str, str] = {}
        self.route = UNMATCHED_ROUTE
        """The route's template (``/api/tokens/{tokenId}``): the ``route`` label of the request metrics."""


Handler = Callable[[Request, _RequestFacts], Response]


def format_timestamp(value: dt.datetime) -> str:
    """ISO-8601 UTC with a ``Z``, to the second (``2026-02-14T12:05:00Z``)."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    reasons = {
        "missing": "is required",
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "bool_type": "must be true or false",
        "string_pattern_mismatch": "must be a UUID",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
        "literal_error": f"must be one of {ctx.get('expected', '')}".replace("'", ""),
    }
    return reasons.get(kind, str(error["msg"]))


class ApiHandler:
    """Answers the token API for one ``Octotp``."""

    def __init__(self, octotp: Octotp) -> None:
        self.octotp = octotp
        self._metrics = octotp.metrics
        self._openapi: bytes | None = None
        self._trusted_proxies = tuple(octotp.settings.trusted_proxies)
        # Each operation of the route table by its name; the table decides paths and methods.
        self._handlers: dict[str, Handler] = {
            "create_token": self._create,
            "validate_token": self._validate,
            "get_token": self._get_token,
            "cancel_token": self._cancel,
            "twilio_status": self._twilio_status,
            "health": self._healthz,
            "ready": self._readyz,
            "openapi": self._openapi_json,
        }
        self._fingerprints = RequestFingerprints(octotp.settings.secrets())

    # -- entry point -------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request. Never raises for anything a client can send.

        ``request.client`` is the socket peer; it is replaced by the client's address (see
        ``resolve_client``) before anything reads it."""
        started = time.perf_counter()
        request = resolve_client(request, self._trusted_proxies)
        call = _RequestFacts(request_id_for(request))
        with request_context(call.request_id):  # every record logged while answering names the request
            return self._answer(request, call, started)

    def _answer(self, request: Request, call: _RequestFacts, started: float) -> Response:
        try:
            response = self._route(request, call)(request, call)
        except _Abort as exc:
            response = problem(exc.status, exc.code, exc.detail, call.request_id)
        except OctotpError as exc:
            self._metrics.observe_error(exc)
            response = problem_for(exc, call.request_id)
        except Exception:  # a bug of ours: still a problem body, never a stack trace
            log.exception(
                "unhandled error request_id=%s method=%s path=%s",
                call.request_id,
                request.method,
                _safe_path(request.path),
            )
            response = problem(500, "internal_error", "an unexpected error occurred", call.request_id)
        response.set_header("X-Request-Id", call.request_id)
        elapsed = time.perf_counter() - started
        self._metrics.observe_request(call.route, request.method, response.status, elapsed)
        path, duration_ms = _safe_path(request.path), round(elapsed * 1000, 1)
        log.info(
            "request_id=%s method=%s path=%s status=%s duration_ms=%.1f project=%s",
            call.request_id,
            request.method,
            path,
            response.status,
            duration_ms,
            call.project_id or "-",
            # The same facts as fields of their own, for JSON logs (log_format=json).
            extra={
                "method": request.method,
                "path": path,
                "status": response.status,
                "duration_ms": duration_ms,
                "project_id": call.project_id,
            },
        )
        return response

    def _route(self, request: Request, facts: _RequestFacts) -> Handler:
        found = find_route(request.path)
        if found is None:
            return _not_found
        route, facts.path_params = found
        facts.route = route.path
        operation = route.operation(request.method.upper())
        if operation is None:
            return _MethodNotAllowed(route.methods)
        return self._handlers[operation.name]

    # -- shared steps ------------------------------------------------------------------------
    def _authenticate(self, request: Request, *, required: bool = True) -> Project | None:
        if any(name.lower() in _KEY_QUERY_NAMES for name in request.query) or "octotp_" in request.query_string:
            raise AuthenticationFailed("API keys are never accepted in the URL; send the X-Api-Key header")
        key = request.header("x-api-key")
        if key is None and not required:
            return None
        return self.octotp.accounts.authenticate(key)[1]

    def _parse(self, request: Request, model: type[BaseModel]) -> Any:
        refusal = body_refusal(request, JSON, MAX_BODY_BYTES)
        if refusal is not None:
            raise _Abort(*refusal)
        try:
            return model.model_validate_json(request.body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if any(e["type"] == "json_invalid" for e in errors):
                raise _Abort(400, "malformed_json", "the body is not valid JSON") from None
            if any(e["type"] == "model_type" for e in errors):
                raise _Abort(400, "malformed_json", "the body must be a JSON object") from None
            fields = [FieldError(".".join(str(p) for p in e["loc"]) or "body", _reason(e)) for e in errors]
            raise InvalidInput(fields) from None

    @staticmethod
    def _check_project(project: Project | None, project_id: str) -> None:
        if project is not None and project.id.lower() != project_id.lower():
            raise PermissionDenied("this API key is not valid for the projectId in the request")

    # -- endpoints ---------------------------------------------------------------------------
    def _create(self, request: Request, call: _RequestFacts) -> Response:
        project = self._authenticate(request)
        assert project is not None
        call.project_id = project.id
        body: CreateTokenRequest = self._parse(request, CreateTokenRequest)
        self._check_project(project, body.project_id)
        limit: list[LimitState | None] = [None]

        def create() -> tuple[dict[str, Any], str, bool]:
            created = self.octotp.tokens.create(
                project,
                email=body.recipient_email,
                phone=body.recipient_phone,
                expires_in=body.expires_in_seconds,
                purpose=body.purpose,
                send=bool(body.send),
                channel=body.channel,
                locale=body.locale,
            )
            limit[0] = created.limit
            data: dict[str, Any] = {"id": created.id}
            if created.code is not None:
                data["code"] = created.code
            data.update(expiresAt=format_timestamp(created.expires_at), channel=created.channel, sent=created.sent)
            return data, created.id, created.sent

        idempotency_key = request.header("idempotency-key")
        if idempotency_key is None:
            data, replayed = create()[0], False
        else:
            data, replayed = run_idempotent(
                self.octotp.store,
                self.octotp.clock,
                project.id,
                check_key(idempotency_key),
                request.body,
                create,
                self._fingerprints,
            )
        response = Response.json(201, data)
        response.headers += [_NO_STORE, *_limit_headers(limit[0])]
        if replayed:
            response.headers.append(("Idempotent-Replayed", "true"))
        return response

    def _validate(self, request: Request, call: _RequestFacts) -> Response:
        if request.header("x-api-key") is None:  # anonymous: limited per client address, before any hashing
            self.octotp.limits.admit_anonymous_validate(request.client)
        project = self._authenticate(request, required=False)
        body: ValidateTokenRequest = self._parse(request, ValidateTokenRequest)
        self._check_project(project, body.project_id)
        call.project_id = body.project_id
        if project is None:
            # Anonymous, as the Octotp API allowed: refused for projects that require a key, so a
            # stranger who knows a project id cannot spend its users' attempts and failure budgets.
            project = self.octotp.accounts.get_project(body.project_id.lower())
            if project.suspended_at is not None:  # out of service for anonymous validates too
                raise ProjectSuspended("this project is suspended by the operator of this service")
            if project.validate_requires_key:
                raise AuthenticationFailed(
                    "this project requires an API key to validate: send it in the X-Api-Key header"
                )
        result = self.octotp.tokens.validate(
            project,
            code=body.code,
            email=body.recipient_email,
            phone=body.recipient_phone,
            purpose=body.purpose,
        )
        response = Response.json(200, {"isValid": result.is_valid, "status": result.status})
        response.headers.append(_NO_STORE)
        return response

    def _get_token(self, request: Request, call: _RequestFacts) -> Response:
        project = self._authenticate(request)
        assert project is not None
        call.project_id = project.id
        token = self.octotp.tokens.get(project, call.path_params["tokenId"])
        data = {
            "id": token.id,
            "status": token_state(token, self.octotp.clock.now()),
            "channel": token.channel,
            "recipientHint": token.recipient_hint,
            "purpose": token.purpose,
            "createdAt": format_timestamp(token.created_at),
            "expiresAt": format_timestamp(token.expires_at),
            "closedAt": format_timestamp(token.closed_at) if token.closed_at else None,
            "attempts": token.attempts,
            "maxAttempts": token.max_attempts,
            "delivery": _delivery(self.octotp.store.get_token_job(token.id)),
        }
        response = Response.json(200, data)
        response.headers.append(_NO_STORE)
        return response

    def _cancel(self, request: Request, call: _RequestFacts) -> Response:
        project = self._authenticate(request)
        assert project is not None
        call.project_id = project.id
        self.octotp.tokens.cancel(project, call.path_params["tokenId"])
        return Response(204)

    def _twilio_status(self, request: Request, call: _RequestFacts) -> Response:
        return twilio_status(self.octotp, request, call.request_id, MAX_BODY_BYTES)

    def _healthz(self, request: Request, call: _RequestFacts) -> Response:
        return Response.json(200, {"status": "ok"})

    def _readyz(self, request: Request, call: _RequestFacts) -> Response:
        ensure_ready(self.octotp)
        return Response.json(200, {"status": "ready"})

    def _openapi_json(self, request: Request, call: _RequestFacts) -> Response:
        if self._openapi is None:
            self._openapi = Response.json(200, openapi_document()).body
        return Response(200, [("Content-Type", "application/json")], self._openapi)


class _Abort(OctotpError):
    """A transport-level refusal with its own status (413, 415, malformed JSON)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code = status, code


def _not_found(request: Request, call: _RequestFacts) -> Response:
    return problem(404, "not_found", f"no route for {_safe_path(request.path)}", call.request_id)


class _MethodNotAllowed:
    def __init__(self, allowed: list[str]) -> None:
        self.allowed = allowed

    def __call__(self, request: Request, call: _RequestFacts) -> Response:
        return problem(
            405,
            "method_not_allowed",
            f"{request.method.upper()} is not allowed here; use {', '.join(self.allowed)}",
            call.request_id,
            headers=[("Allow", ", ".join(self.allowed))],
        )


def _limit_headers(state: LimitState | None) -> list[tuple[str, str]]:
    if state is None:
        return []
    return [
        ("RateLimit-Limit", str(state.limit)),
        ("RateLimit-Remaining", str(state.remaining)),
        ("RateLimit-Reset", str(state.reset_after)),
    ]


def _safe_path(path: str) -> str:
    """The path as logged: never longer than 200 characters, never containing something key-shaped."""
    return re.sub(r"octotp_[A-Za-z0-9]+", "octotp_[redacted]", path)[:200]


def _delivery(job: Job | None) -> dict[str, Any] | None:
    """A token's ``delivery`` member: its job's state, never its payload."""
    if job is None:
        return None
    return {
        "state": job.state,
        "reason": job.reason,
        "attempts": job.attempts,
        "sentAt": format_timestamp(job.sent_at) if job.sent_at else None,
        "deliveredAt": format_timestamp(job.delivered_at) if job.delivered_at else None,
    }
