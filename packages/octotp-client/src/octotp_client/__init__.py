"""octotp-client: call an octotp service from Python.

::

    from octotp_client import OctotpClient

    with OctotpClient(api_key="octotp_...", base_url="http://127.0.0.1:8000", project_id="...") as octotp:
        token = octotp.create_token(email="user@example.com")
        assert octotp.validate_token(email="user@example.com", code=token.code).is_valid

``AsyncOctotpClient`` (``pip install 'octotp-client[async]'``) has the same methods with ``await``.
Errors are in ``octotp_client.errors``; the retry rule is in the README. ``verify_webhook(body,
headers, secret)`` checks the Standard Webhooks signature of a webhook octotp sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import OctotpClient
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DeliveryError,
    FieldError,
    NotFoundError,
    OctotpError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    WebhookVerificationError,
)
from .models import CreatedToken, Health, Token, Validation
from .version import __version__
from .webhooks import verify_webhook

if TYPE_CHECKING:
    from .async_client import AsyncOctotpClient


def __getattr__(name: str) -> Any:
    # Imported on first use so the package works without httpx (the optional [async] extra).
    if name == "AsyncOctotpClient":
        from .async_client import AsyncOctotpClient

        return AsyncOctotpClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncOctotpClient",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "CreatedToken",
    "DeliveryError",
    "FieldError",
    "Health",
    "NotFoundError",
    "OctotpClient",
    "OctotpError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "Token",
    "Validation",
    "WebhookVerificationError",
    "__version__",
    "verify_webhook",
]
