"""Log formats for octotp's own processes (``octotp serve``, ``octotp worker``): plain text or JSON lines.

Libraries never configure handlers (octotp's modules only call ``logging.getLogger("octotp...")``);
the processes octotp runs itself do, through ``logging_config``. A host app keeps its own logging and
may use ``JsonFormatter`` there: it is a plain ``logging.Formatter``.

The request id of the API request being answered reaches every record logged while it is answered
(``request_context``), so a JSON line carries ``request_id`` whichever module logged it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("octotp_request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
# ``color_message`` is uvicorn's ANSI-coloured copy of the message.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}


def current_request_id() -> str | None:
    """The id of the request being answered in this context, or None outside a request."""
    return _request_id.get()


@contextlib.contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Tag every record logged inside the block with ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (ISO-8601 UTC, milliseconds), ``level``,
    ``logger``, ``message``, ``request_id`` when the record was logged while answering a request (or
    passed it in ``extra``), other ``extra=`` fields as they are (``repr`` when not JSON), and
    ``exception`` / ``stack`` as text when present.

    Use it in any ``logging`` configuration, e.g. ``{"()": "octotp_core.logs.JsonFormatter"}`` as a
    ``dictConfig`` formatter. Newlines inside a message are escaped by JSON, so a record is always
    exactly one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        stamp = datetime.fromtimestamp(record.created, tz=timezone.utc)
        entry: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in entry:
                entry[name] = value if _is_json(value) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def _is_json(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def logging_config(log_format: LogFormat = "text", *, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary for a process octotp runs itself: octotp's loggers
    and uvicorn's at ``level``, anything else (the root logger) at WARNING, all on stderr in
    ``log_format``.

    uvicorn's access log stays off: it prints query strings, where a key sent by mistake would show;
    octotp logs its own request line (method, path without query, status, duration, request id).
    Passed to uvicorn as ``log_config``, it replaces uvicorn's own formatters in every worker.
    """
    formatter: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    handlers = ["stderr"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"octotp": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "octotp", "stream": "ext://sys.stderr"}},
        "root": {"handlers": handlers, "level": "WARNING"},
        "loggers": {
            "octotp": {"handlers": handlers, "level": level, "propagate": False},
            "uvicorn": {"handlers": handlers, "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(log_format: LogFormat = "text", *, level: str = "INFO") -> None:
    """Apply ``logging_config`` to this process (``octotp serve`` and ``octotp worker`` call it;
    a library never should)."""
    logging.config.dictConfig(logging_config(log_format, level=level))
