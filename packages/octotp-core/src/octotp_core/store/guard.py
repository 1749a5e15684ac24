"""One decorator for every store: a lost or unreachable database becomes ``StorageUnavailable`` (HTTP
503), never a crash. Each store names its own driver's exception types."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ..errors import StorageUnavailable

P = ParamSpec("P")
R = TypeVar("R")


def storage_guard(
    unavailable: tuple[type[BaseException], ...], passthrough: tuple[type[BaseException], ...] = ()
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate store methods: ``unavailable`` errors become ``StorageUnavailable``; ``passthrough``
    errors (integrity violations a method handles itself) propagate unchanged."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except passthrough:
                raise
            except unavailable as exc:
                cause = getattr(exc, "orig", None) or exc
                raise StorageUnavailable(f"storage unavailable: {type(cause).__name__}") from exc

        return wrapper

    return decorate
