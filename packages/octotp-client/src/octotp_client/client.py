"""``OctotpClient``: the synchronous client, on requests."""

from __future__ import annotations

import datetime as dt
import time
from types import TracebackType

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, ClientBase, RequestPlan, T
from ._http import HttpRequest, HttpResponse, Outcome, TransportFailure, transport_failure
from .errors import APIConnectionError, APITimeoutError
from .models import CreatedToken, Health, Token, Validation

__all__ = ["OctotpClient"]


class OctotpClient(ClientBase):
    """A client for an octotp service (the standalone server, or any app with octotp mounted).

    ::

        with OctotpClient("octotp_...", "http://127.0.0.1:8000", project_id="...") as octotp:
            token = octotp.create_token(email="user@example.com")
            octotp.validate_token(email="user@example.com", code="123456").is_valid

    ``api_key``, ``base_url`` and ``project_id`` default to ``OCTOTP_API_KEY``,
    ``OCTOTP_BASE_URL`` and ``OCTOTP_PROJECT_ID``; a missing key or URL raises
    ``ConfigurationError`` here. ``timeout`` (seconds) bounds connecting and each read on every
    attempt; ``max_retries`` is how often a safe-to-repeat failure is retried (see the README's
    retry rule). One connection pool (a ``requests.Session``) is reused by every call; pass
    ``session`` to use your own, which ``close()`` then leaves open.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        project_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(api_key, base_url, project_id=project_id, timeout=timeout, max_retries=max_retries)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    # -- the API -----------------------------------------------------------------------------
    def create_token(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        expires_in: int | dt.timedelta | None = None,
        purpose: str | None = None,
        send: bool | None = None,
        channel: str | None = None,
        locale: str | None = None,
        project_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedToken:
        """Issue a code for ``email`` or ``phone`` (exactly one), superseding any earlier one for
        the same recipient and ``purpose``.

        ``expires_in`` (seconds or a timedelta; the server's default is 300) must be within the
        project's bounds. ``send=True`` makes octotp deliver the code (by ``channel`` in
        ``locale``). ``idempotency_key`` defaults to a new UUID per call, sent unchanged on every
        retry. Raises ``BadRequestError``, ``RateLimitError``, ``DeliveryError``... (see ``errors``).
        """
        return self._request(
            self._create_token_call(
                email=email,
                phone=phone,
                expires_in=expires_in,
                purpose=purpose,
                send=send,
                channel=channel,
                locale=locale,
                project_id=project_id,
                idempotency_key=idempotency_key,
            )
        )

    def validate_token(
        self,
        *,
        code: str,
        email: str | None = None,
        phone: str | None = None,
        purpose: str | None = None,
        project_id: str | None = None,
    ) -> Validation:
        """Check ``code`` for ``email`` or ``phone`` (and ``purpose``). ``is_valid`` is True once
        per code; a wrong, expired, used or unknown code is a ``Validation`` with ``is_valid``
        False and the reason in ``status``, not an exception."""
        return self._request(
            self._validate_token_call(code=code, email=email, phone=phone, purpose=purpose, project_id=project_id)
        )

    def get_token(self, token_id: str) -> Token:
        """Read a token of the client's API key's project by id: its ``status`` (``pending``,
        ``expired``, ``locked``, or why it closed), attempts and timestamps, never its code.
        ``NotFoundError`` when the project has no such token (or it was purged). A read, so it is
        retried after any connection failure."""
        return self._request(self._get_token_call(token_id))

    def cancel_token(self, token_id: str) -> None:
        """Close an open token so its code can no longer be approved; ``NotFoundError`` if there is none."""
        self._request(self._cancel_token_call(token_id))

    def health(self) -> Health:
        """``GET /healthz``: the service is up (liveness)."""
        return self._request(self._health_call("/healthz"))

    def ready(self) -> Health:
        """``GET /readyz``: the service and its storage answer; ``ServiceUnavailableError`` when not."""
        return self._request(self._health_call("/readyz"))

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release pooled connections (unless the session was passed in). Safe to call twice."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> OctotpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------
    def _request(self, call: RequestPlan[T]) -> T:
        retries_done = 0
        while True:
            outcome = self._send(call.request)
            delay = self._next_delay(call, outcome, retries_done)
            if delay is None:
                return self._finish(call, outcome)
            time.sleep(delay)
            retries_done += 1

    def _send(self, request: HttpRequest) -> Outcome:
        try:
            response = self._session.request(
                request.method,
                self._url(request),
                data=request.body,
                headers=self._request_headers(request),
                timeout=self.timeout,
                allow_redirects=False,
            )
            content = response.content
        except requests.RequestException as exc:
            return _failure(exc, self.timeout)
        return HttpResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()}, content)


def _failure(exc: requests.RequestException, timeout: float) -> TransportFailure:
    """Classify a requests exception: timed out or not, and whether the request may have been sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return transport_failure(APITimeoutError(f"connecting timed out after {timeout:g}s"), exc, sent=False)
    if isinstance(exc, requests.Timeout):
        return transport_failure(APITimeoutError(f"no response within {timeout:g}s"), exc, sent=True)
    if isinstance(exc, requests.exceptions.SSLError):
        return transport_failure(APIConnectionError(f"TLS error: {exc}"), exc, sent=False, retryable=False)
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
        # urllib3 reports a failure to connect (refused, DNS, connect timeout) as MaxRetryError
        # with the connect error as reason; anything else may have happened after sending.
        before_sending = isinstance(reason, (NewConnectionError, ConnectTimeoutError))
        return transport_failure(APIConnectionError(f"connection failed: {_short(exc)}"), exc, sent=not before_sending)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader)):
        return transport_failure(APIConnectionError(f"invalid request: {exc}"), exc, sent=False, retryable=False)
    return transport_failure(APIConnectionError(f"request failed: {_short(exc)}"), exc, sent=True)


def _short(exc: BaseException) -> str:
    """The innermost reason of a wrapped requests/urllib3 error, without the pool's noise."""
    reason: object = exc
    while isinstance(reason, BaseException) and reason.args:
        inner = getattr(reason, "reason", None) or (
            reason.args[0] if isinstance(reason.args[0], BaseException) else None
        )
        if inner is None or inner is reason:
            break
        reason = inner
    return f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
