"""Request-wide middleware: request ids, HTTP metrics and the body-size guard."""

import re
import time
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.http import JsonResponse

from catalog.api.exceptions import error_body
from config import logs
from config.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-Id"
# 64 characters at most: the id is stored with the events and tasks the request causes.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

current_request_id = logs.current_request_id


def _clear_log_context(**kwargs) -> None:
    logs.clear()


# Django logs 4xx/5xx responses after the middleware chain has returned; the request id stays
# bound until the response is closed, so those lines carry it too.
request_finished.connect(_clear_log_context, dispatch_uid="packyard-clear-log-context")


class RequestIdMiddleware:
    """Every response carries X-Request-Id: the client's when it is sane, else a new UUID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = assign_request_id(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def request_id_of(environ) -> str:
    """The client's X-Request-Id when sane, else a new UUID (`environ`: request.META or WSGI's)."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if _SANE_REQUEST_ID.match(incoming) else str(uuid.uuid4())


def assign_request_id(request) -> str:
    """The request's id (request_id_of), bound to its logs."""
    request_id = request.request_id = request_id_of(request.META)
    logs.set_request_id(request_id)
    return request_id


class HttpMetricsMiddleware:
    """packyard_http_* for every response, those answered by middleware further in (the anonymous
    read cache, the body-size guard) included: it sits first in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(request, response.status_code, (time.perf_counter() - started) * 1000.0)
        return response


class BodySizeLimitMiddleware:
    """Refuse a request whose declared body is over REQUEST_BODY_MAX_BYTES with a JSON 413,
    before anything reads (or spools to disk) the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_BODY_MAX_BYTES:
            return JsonResponse(
                error_body(f"request body over {settings.REQUEST_BODY_MAX_BYTES} bytes", "FILE_TOO_LARGE"), status=413
            )
        return self.get_response(request)
