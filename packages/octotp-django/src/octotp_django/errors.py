"""Opt-in: octotp errors raised in the host's own views answered as RFC 9457 problem JSON.

``create_token(..., email="not an email")`` in a view raises ``InvalidInput``; unhandled, Django
answers a 500. Decorate a view with ``@handle_octotp_errors``, or add
``"octotp_django.errors.OctotpErrorsMiddleware"`` to ``MIDDLEWARE`` for every view, and such an
error answers core's problem instead (``octotp_core.http.host_problem``: the API's status and
``code``, fields named as the Python arguments). Only ``octotp_core`` errors are handled; the
host's other exceptions keep their own handling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from octotp_core.errors import OctotpError
from octotp_core.http import host_problem

View = TypeVar("View", bound=Callable[..., Any])


def problem_response(request: HttpRequest, error: OctotpError) -> HttpResponse:
    """The problem+json response for an octotp error raised while handling ``request``."""
    from .views import to_native_response  # views reads settings on import; this module may not

    return to_native_response(host_problem(error, request.headers.get("X-Request-Id")))


def handle_octotp_errors(view: View) -> View:
    """A view decorator (sync or async views; ``method_decorator`` for class-based ones): an
    ``OctotpError`` raised by the view answers ``problem_response``."""
    if iscoroutinefunction(view):
        async_view = cast(Callable[..., Awaitable[HttpResponse]], view)

        @wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return await async_view(request, *args, **kwargs)
            except OctotpError as error:
                return problem_response(request, error)

        return cast(View, async_wrapper)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return cast(HttpResponse, view(request, *args, **kwargs))
        except OctotpError as error:
            return problem_response(request, error)

    return cast(View, wrapper)


class OctotpErrorsMiddleware(MiddlewareMixin):
    """``handle_octotp_errors`` for every view: an ``OctotpError`` a view raises answers
    ``problem_response``; anything else goes on to Django's handling."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Django's hook for an exception a view raised."""
        if isinstance(exception, OctotpError):
            return problem_response(request, exception)
        return None
