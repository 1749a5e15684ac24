"""Everything the sync and async clients share: configuration, building each call, reading its
answer, and the error and retry decisions. The two clients differ only in how bytes are sent."""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit

from ._http import HttpRequest, HttpResponse, Outcome, TransportFailure, encode_json
from ._retry import RetryPolicy
from .errors import APIError, ConfigurationError, error_for_response
from .models import CreatedToken, Health, Token, Validation
from .version import __version__

log = logging.getLogger("octotp.client")

T = TypeVar("T")

ENV_BASE_URL = "OCTOTP_BASE_URL"
ENV_API_KEY = "OCTOTP_API_KEY"
ENV_PROJECT_ID = "OCTOTP_PROJECT_ID"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class RequestPlan(Generic[T]):
    """One API call planned once for both transports: the request to send, how to read a successful
    answer, and whether it may be repeated after a connection failure in which the server may have
    received it."""

    request: HttpRequest
    parse: Callable[[HttpResponse], T]
    repeatable_after_send: bool


class ClientBase:
    """Configuration and the transport-independent half of ``OctotpClient`` / ``AsyncOctotpClient``."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        *,
        project_id: str | None,
        timeout: float,
        max_retries: int,
    ) -> None:
        api_key = api_key or os.environ.get(ENV_API_KEY) or None
        base_url = base_url or os.environ.get(ENV_BASE_URL) or None
        if not base_url:
            raise ConfigurationError(
                f"no octotp base URL: pass base_url= (e.g. 'http://127.0.0.1:8000') or set {ENV_BASE_URL}"
            )
        if not api_key:
            raise ConfigurationError(f"no octotp API key: pass api_key= or set {ENV_API_KEY}")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise ConfigurationError("base_url must not contain a query string or fragment")
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries!r}")
        self.base_url = base_url.rstrip("/")
        """Where the octotp API is mounted, e.g. ``http://127.0.0.1:8000`` or ``https://example.com/octotp``."""
        self.project_id = project_id or os.environ.get(ENV_PROJECT_ID) or None
        """The default project for ``create_token`` / ``validate_token``."""
        self.timeout = float(timeout)
        """Seconds allowed for connecting, and for each read of the response, on every attempt."""
        self.max_retries = max_retries
        """How many times a safe-to-repeat failure is retried (see ``octotp_client._retry``)."""
        self._retry = RetryPolicy(max_retries=max_retries)
        self._headers = {
            "X-Api-Key": api_key,
            "Accept": "application/json",
            "User-Agent": f"octotp-client/{__version__} python/{platform.python_version()}",
        }

    def __repr__(self) -> str:  # never shows the API key
        return f"{type(self).__name__}(base_url={self.base_url!r}, project_id={self.project_id!r})"

    # -- building calls ----------------------------------------------------------------------
    def _project(self, project_id: str | None) -> str:
        chosen = project_id or self.project_id
        if not chosen:
            raise ConfigurationError(
                f"no project id: pass project_id= to the call or the client, or set {ENV_PROJECT_ID}"
            )
        return chosen

    def _create_token_call(
        self,
        *,
        email: str | None,
        phone: str | None,
        expires_in: int | dt.timedelta | None,
        purpose: str | None,
        send: bool | None,
        channel: str | None,
        locale: str | None,
        project_id: str | None,
        idempotency_key: str | None,
    ) -> RequestPlan[CreatedToken]:
        if isinstance(expires_in, dt.timedelta):
            expires_in = round(expires_in.total_seconds())
        body = _without_none(
            projectId=self._project(project_id),
            recipientEmail=email,
            recipientPhone=phone,
            expiresInSeconds=expires_in,
            purpose=purpose,
            send=send,
            channel=channel,
            locale=locale,
        )
        # One key per logical call, the same on every retry: the server can recognise a repeat.
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return RequestPlan(_post("/api/tokens", body, headers), _created_token, repeatable_after_send=True)

    def _validate_token_call(
        self,
        *,
        code: str,
        email: str | None,
        phone: str | None,
        purpose: str | None,
        project_id: str | None,
    ) -> RequestPlan[Validation]:
        body = _without_none(
            projectId=self._project(project_id),
            recipientEmail=email,
            recipientPhone=phone,
            code=code,
            purpose=purpose,
        )
        # Not repeatable once sent: the server may already have counted (or approved) the attempt.
        return RequestPlan(_post("/api/tokens/validate", body), _validation, repeatable_after_send=False)

    def _get_token_call(self, token_id: str) -> RequestPlan[Token]:
        # A read: repeating it cannot change anything, so it is retried like health/ready.
        return RequestPlan(HttpRequest("GET", _token_path(token_id)), _token, repeatable_after_send=True)

    def _cancel_token_call(self, token_id: str) -> RequestPlan[None]:
        request = HttpRequest("DELETE", _token_path(token_id))
        # Not repeatable once sent: a repeat of a cancel that worked would answer 404.
        return RequestPlan(request, _nothing, repeatable_after_send=False)

    def _health_call(self, path: str) -> RequestPlan[Health]:
        return RequestPlan(HttpRequest("GET", path), _health, repeatable_after_send=True)

    # -- sending and reading -----------------------------------------------------------------
    def _url(self, request: HttpRequest) -> str:
        return self.base_url + request.path

    def _request_headers(self, request: HttpRequest) -> dict[str, str]:
        headers = dict(self._headers)
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(request.headers)
        return headers

    def _next_delay(self, call: RequestPlan[Any], outcome: Outcome, retries_done: int) -> float | None:
        """The wait before the next attempt, or ``None`` to finish with ``outcome``. Logs retries."""
        delay = self._retry.delay_before_retry(outcome, retries_done, repeatable_after_send=call.repeatable_after_send)
        if delay is not None:
            why = outcome.error.message if isinstance(outcome, TransportFailure) else f"status {outcome.status}"
            log.info(
                "retrying %s %s in %.2fs (retry %d of %d) after %s",
                call.request.method,
                call.request.path,
                delay,
                retries_done + 1,
                self.max_retries,
                why,
            )
        return delay

    def _finish(self, call: RequestPlan[T], outcome: Outcome) -> T:
        """The call's result, or the error that ends it."""
        if isinstance(outcome, TransportFailure):
            raise outcome.error
        if not 200 <= outcome.status < 300:
            body = outcome.json()
            raise error_for_response(
                outcome.status,
                body if isinstance(body, dict) else None,
                outcome.headers,
                outcome.text,
                request=f"{call.request.method} {self._url(call.request)}",
            )
        return call.parse(outcome)


# -- request and response shapes -------------------------------------------------------------
def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _post(path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> HttpRequest:
    return HttpRequest("POST", path, encode_json(body), headers or {})


def _token_path(token_id: str) -> str:
    if not token_id:
        raise ValueError("token_id must not be empty")
    return f"/api/tokens/{quote(token_id, safe='')}"


def _unexpected(response: HttpResponse, what: str) -> APIError:
    return APIError(
        f"{response.status} response with an unexpected body: {what}",
        status=response.status,
        request_id=response.headers.get("x-request-id"),
        headers=response.headers,
    )


def _object(response: HttpResponse) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise _unexpected(response, "not a JSON object")
    return data


def _field(response: HttpResponse, data: Mapping[str, Any], name: str, kind: type[T]) -> T:
    value = data.get(name)
    if not isinstance(value, kind):
        raise _unexpected(response, f"{name!r} is missing or not a {kind.__name__}")
    return value


def parse_timestamp(value: str) -> dt.datetime:
    """An ISO-8601 timestamp as a timezone-aware datetime (``Z`` and naive values are UTC)."""
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def _timestamp(response: HttpResponse, data: Mapping[str, Any], name: str) -> dt.datetime:
    try:
        return parse_timestamp(_field(response, data, name, str))
    except ValueError:
        raise _unexpected(response, f"{name!r} is not an ISO-8601 timestamp") from None


def _created_token(response: HttpResponse) -> CreatedToken:
    data = _object(response)
    code = data.get("code")
    if code is not None and not isinstance(code, str):
        raise _unexpected(response, "'code' is not a string")
    expires_at = _timestamp(response, data, "expiresAt")
    return CreatedToken(
        id=_field(response, data, "id", str),
        code=code,
        expires_at=expires_at,
        channel=data["channel"] if isinstance(data.get("channel"), str) else None,
        sent=data["sent"] if isinstance(data.get("sent"), bool) else None,
        replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
    )


def _validation(response: HttpResponse) -> Validation:
    data = _object(response)
    return Validation(is_valid=_field(response, data, "isValid", bool), status=_field(response, data, "status", str))


def _token(response: HttpResponse) -> Token:
    data = _object(response)
    return Token(
        id=_field(response, data, "id", str),
        status=_field(response, data, "status", str),
        channel=_field(response, data, "channel", str),
        recipient_hint=_field(response, data, "recipientHint", str),
        purpose=_field(response, data, "purpose", str),
        created_at=_timestamp(response, data, "createdAt"),
        expires_at=_timestamp(response, data, "expiresAt"),
        closed_at=None if data.get("closedAt") is None else _timestamp(response, data, "closedAt"),
        attempts=_count(response, data, "attempts"),
        max_attempts=_count(response, data, "maxAttempts"),
    )


def _count(response: HttpResponse, data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):  # JSON true is not a count
        raise _unexpected(response, f"{name!r} is missing or not an integer")
    return value


def _health(response: HttpResponse) -> Health:
    return Health(status=_field(response, _object(response), "status", str))


def _nothing(response: HttpResponse) -> None:
    return None
