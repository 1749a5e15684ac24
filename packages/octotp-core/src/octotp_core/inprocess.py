"""The in-process API every adapter exports under the same names: ``create_token``,
``validate_token``, ``cancel_token``. Written once here; an adapter only says how to find the
current ``Octotp`` (Flask: the current app; Django: settings; FastAPI: the installed one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from typing_extensions import Unpack

if TYPE_CHECKING:
    from .core import Octotp
    from .tokens import CreatedToken, Validation


class CreateOptions(TypedDict, total=False):
    """Keyword arguments of ``create_token``: exactly one of ``email`` / ``phone``."""

    email: str | None
    phone: str | None
    expires_in: int | None
    purpose: str | None
    send: bool
    channel: str | None
    locale: str | None


class ValidateOptions(TypedDict, total=False):
    """Keyword arguments of ``validate_token`` besides ``code``: exactly one of ``email`` / ``phone``."""

    email: str | None
    phone: str | None
    purpose: str | None


class InProcessApi:
    """``create_token`` / ``validate_token`` / ``cancel_token`` bound to a way of finding the ``Octotp``."""

    def __init__(self, resolve: Callable[[], Octotp]) -> None:
        self._resolve = resolve

    def create_token(self, project_id: str, **options: Unpack[CreateOptions]) -> CreatedToken:
        """Issue a code for the recipient, superseding any earlier one for the same purpose.

        ``CreatedToken.code`` is the plain code (None for deliver-only projects). Raises the core
        errors: ``InvalidInput``, ``RateLimited``, ``DeliveryFailed``, ``NotFound``, ``StorageUnavailable``.
        """
        return self._resolve().tokens.create(project_id, **options)

    def validate_token(self, project_id: str, *, code: str, **options: Unpack[ValidateOptions]) -> Validation:
        """Check a code; ``approved`` (``is_valid`` True) happens at most once per token."""
        return self._resolve().tokens.validate(project_id, code=code, **options)

    def cancel_token(self, project_id: str, token_id: str) -> None:
        """Close an open token (again for a cancelled one); ``NotFound`` if the project has no such
        token, or it was used or replaced."""
        self._resolve().tokens.cancel(project_id, token_id)
