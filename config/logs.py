"""Log context: the request id (and the queue item being worked on) on every log line (SPEC §8).

The web's RequestIdMiddleware binds the request id for the duration of a request; a worker binds
the request id an event or task was created under, plus its id and type, while it works on it.
Queue items enqueued meanwhile inherit the bound request id (workers.queue), so the id that
caused a chain of work shows on every log line along it.

`ContextFilter` copies the bound values onto each log record; the formatters in
config/settings.py LOGGING (python-json-logger for LOG_FORMAT=json, a plain format for console)
print them. Only ids are bound: never addresses, user names, e-mails, tokens or actor keys.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Python warnings (e.g. WhiteNoise's "No directory at" STATIC_ROOT) become log records too, so every
# line a process writes has the configured format. This module is imported when LOGGING is set up.
logging.captureWarnings(True)

# One immutable mapping per context; binding replaces it, so threads and nested binds never share.
_context: ContextVar[dict[str, str | int]] = ContextVar("packyard_log_context", default={})  # noqa: B039 - never mutated


def current_request_id() -> str:
    """The request id bound in this thread/context ('' when none)."""
    return str(_context.get().get("request_id", ""))


def set_request_id(request_id: str) -> None:
    """Bind a request id until `clear()` (the web request's lifetime: set by the middleware,
    cleared when Django sends request_finished, after its own response logging)."""
    _context.set({"request_id": request_id} if request_id else {})


def clear() -> None:
    _context.set({})


@contextmanager
def bound(**fields: str | int | None) -> Iterator[None]:
    """Bind fields (empty ones are skipped) for the block; the previous binding comes back after."""
    values = {**_context.get(), **{name: value for name, value in fields.items() if value not in (None, "")}}
    token = _context.set(values)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` (always, '' outside any request) and the other bound ids to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = _context.get()
        record.request_id = values.get("request_id", "")
        for name, value in values.items():
            if name != "request_id":
                setattr(record, name, value)
        return True
