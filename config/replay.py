"""Answers the WSGI front (config.wsgi, config.front.FrontApplication) gives below Django.

The front of the stack (config.front.FrontMiddleware, first in MIDDLEWARE) decides that a request
needs none of Django's per-request work: a probe, or a cookie-less anonymous read the read cache
can answer (catalog.api.front). It remembers that decision here, per request *shape* (every
environ value the decision read: method, path, query string, host and scheme headers, Cookie and
Authorization), for API_FRONT_SHAPE_SECONDS. For the same shape within that time the WSGI
front calls the remembered answer directly: no request object, no request_started/finished
signals, no middleware, no response object. The answer reads its current state each time (the
read cache's entry and the pack's generation, the probe's last result) and returns None when it
cannot answer (an expired or outdated entry, a rollout flag that moved): Django then takes the
request, as it would have. What a decision rests on besides the request is static per process
(settings, URL patterns, ALLOWED_HOSTS) or re-checked by the answer (the feature flag).

Only decisions are remembered, never answers: a visible change shows as soon as the read cache
shows it, and a request with any cookie or credentials has a shape that is never remembered.
A decision that depends on who asks (a partial rollout of snapshot reads) is not remembered.
"""

from __future__ import annotations

import time
from typing import Protocol

from django.conf import settings

# Every environ value a front decision may read. Host validation and the scheme (HSTS, the
# read-cache slot) read the host and proxy headers; eligibility reads Cookie and Authorization.
SHAPE_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_COOKIE",
    "HTTP_AUTHORIZATION",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
)
# Shapes kept per process; past this many the memory starts afresh (decisions are cheap to redo).
MAX_SHAPES = 4096

Reply = tuple[int, list[tuple[str, str]], bytes]


class Answer(Protocol):
    """What the WSGI front calls: status, headers (X-Request-Id excluded) and body, or None."""

    @property
    def route(self) -> str:
        """The route group its responses are counted under (config.metrics)."""
        ...

    def __call__(self) -> Reply | None: ...


# Where the WSGI front leaves the shape of a request it hands to Django (whose WSGIRequest
# rewrites PATH_INFO and SCRIPT_NAME in the environ it is given).
SHAPE_ENVIRON_KEY = "packyard.shape"

_shapes: dict[tuple, tuple[float, Answer]] = {}


def shape(environ) -> tuple:
    return tuple(environ.get(name) for name in SHAPE_KEYS)


def remember(meta, answer: Answer) -> None:
    """The WSGI front may answer requests shaped like this one (request.META) with `answer` for a
    while. A request that did not come through the WSGI front (Django's test client calls the
    handler directly) leaves nothing to remember."""
    seconds = settings.API_FRONT_SHAPE_SECONDS
    key = meta.get(SHAPE_ENVIRON_KEY)
    if key is None or seconds <= 0:
        return
    if len(_shapes) >= MAX_SHAPES:
        _shapes.clear()
    _shapes[key] = (time.monotonic() + seconds, answer)


def answer_for(environ) -> Answer | None:
    """The remembered answer for this request's shape, if any; the shape is left in the environ
    for remember()."""
    key = environ[SHAPE_ENVIRON_KEY] = shape(environ)
    held = _shapes.get(key)
    if held is None or held[0] < time.monotonic():
        return None
    return held[1]


def forget() -> None:
    """Forget every decision (tests)."""
    _shapes.clear()
