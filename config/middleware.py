"""Request-wide middleware: request ids and the body-size guard."""

import re
import threading
import uuid

from django.conf import settings
from django.http import JsonResponse

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_local = threading.local()


def current_request_id() -> str:
    """The id of the request this thread is serving ('' outside a request)."""
    return getattr(_local, "request_id", "")


class RequestIdMiddleware:
    """Every response carries X-Request-Id: the client's when it is sane, else a new UUID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        request.request_id = request_id
        _local.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _local.request_id = ""
        response[REQUEST_ID_HEADER] = request_id
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
                {"error": f"request body over {settings.REQUEST_BODY_MAX_BYTES} bytes", "code": "FILE_TOO_LARGE"},
                status=413,
            )
        return self.get_response(request)
