"""``AsyncOctotpClient``: the asyncio client, on httpx (``pip install 'octotp-client[async]'``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import TracebackType

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("AsyncOctotpClient needs httpx: install it with  pip install 'octotp-client[async]'") from exc

from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, ClientBase, RequestPlan, T
from ._http import HttpRequest, HttpResponse, Outcome, TransportFailure, transport_failure
from .errors import APIConnectionError, APITimeoutError
from .models import CreatedToken, Health, Token, Validation

__all__ = ["AsyncOctotpClient"]


class AsyncOctotpClient(ClientBase):
    """The asyncio twin of ``OctotpClient``: the same constructor, methods, results, errors and
    retry rule, with ``await`` and an ``httpx.AsyncClient`` for the connection pool.

    ::

        async with AsyncOctotpClient("octotp_...", "http://127.0.0.1:8000", project_id="...") as octotp:
            token = await octotp.create_token(email="user@example.com")

    Pass ``session`` (an ``httpx.AsyncClient``) to use your own pool; ``aclose()`` then leaves it open.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        project_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        session: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(api_key, base_url, project_id=project_id, timeout=timeout, max_retries=max_retries)
        self._owns_session = session is None
        self._session = session if session is not None else httpx.AsyncClient()

    # -- the API (see OctotpClient for the full descriptions) --------------------------------
    async def create_token(
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
        """Issue a code for ``email`` or ``phone``; see ``OctotpClient.create_token``."""
        return await self._request(
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

    async def validate_token(
        self,
        *,
        code: str,
        email: str | None = None,
        phone: str | None = None,
        purpose: str | None = None,
        project_id: str | None = None,
    ) -> Validation:
        """Check ``code`` for ``email`` or ``phone``; see ``OctotpClient.validate_token``."""
        return await self._request(
            self._validate_token_call(code=code, email=email, phone=phone, purpose=purpose, project_id=project_id)
        )

    async def get_token(self, token_id: str) -> Token:
        """Read a token's state by id (never its code); see ``OctotpClient.get_token``."""
        return await self._request(self._get_token_call(token_id))

    async def cancel_token(self, token_id: str) -> None:
        """Close an open token; ``NotFoundError`` if there is none."""
        await self._request(self._cancel_token_call(token_id))

    async def health(self) -> Health:
        """``GET /healthz``: the service is up (liveness)."""
        return await self._request(self._health_call("/healthz"))

    async def ready(self) -> Health:
        """``GET /readyz``: the service and its storage answer; ``ServiceUnavailableError`` when not."""
        return await self._request(self._health_call("/readyz"))

    # -- lifecycle ---------------------------------------------------------------------------
    async def close(self) -> None:
        """Release pooled connections (unless the session was passed in). Safe to call twice."""
        if self._owns_session:
            await self._session.aclose()

    aclose = close

    async def __aenter__(self) -> AsyncOctotpClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- transport ---------------------------------------------------------------------------
    async def _request(self, call: RequestPlan[T]) -> T:
        retries_done = 0
        while True:
            outcome = await self._send(call.request)
            delay = self._next_delay(call, outcome, retries_done)
            if delay is None:
                return self._finish(call, outcome)
            await asyncio.sleep(delay)
            retries_done += 1

    async def _send(self, request: HttpRequest) -> Outcome:
        try:
            response = await self._session.request(
                request.method,
                self._url(request),
                content=request.body,
                headers=self._request_headers(request),
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            return _failure(exc, self.timeout)
        return HttpResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)


def _failure(exc: httpx.TransportError, timeout: float) -> TransportFailure:
    """Classify an httpx exception: timed out or not, and whether the request may have been sent."""
    # ConnectTimeout / PoolTimeout / ConnectError: no connection was made, nothing was sent.
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return transport_failure(APITimeoutError(f"connecting timed out after {timeout:g}s"), exc, sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return transport_failure(APITimeoutError(f"no response within {timeout:g}s"), exc, sent=True)
    if isinstance(exc, httpx.ConnectError):
        return transport_failure(APIConnectionError(f"connection failed: {exc}"), exc, sent=False)
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError)):
        return transport_failure(APIConnectionError(f"request failed: {exc}"), exc, sent=False, retryable=False)
    return transport_failure(APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}"), exc, sent=True)
