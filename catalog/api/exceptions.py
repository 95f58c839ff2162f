"""One exception handler for the whole API: every error is {"error": ..., "code": ...}."""

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler

from catalog.errors import CatalogError

_DRF_CODES = {
    drf.NotAuthenticated: "NOT_AUTHENTICATED",
    drf.AuthenticationFailed: "NOT_AUTHENTICATED",
    drf.PermissionDenied: "NOT_ALLOWED",
    drf.NotFound: "NOT_FOUND",
    drf.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    drf.NotAcceptable: "NOT_ACCEPTABLE",
    drf.UnsupportedMediaType: "UNSUPPORTED_MEDIA",
    drf.Throttled: "RATE_LIMITED",
    drf.ParseError: "INVALID_INPUT",
    drf.ValidationError: "INVALID_INPUT",
}


def error_body(message: str, code: str) -> dict:
    """The Error shape (catalog.api.outputs.ErrorOut), rendered by it."""
    from catalog.api.outputs import ErrorOut

    return ErrorOut.render({"error": message, "code": code})


def error_message(detail) -> str:
    """DRF's error detail (a dict of field errors, a list, a string) as one line."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {error_message(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(error_message(value) for value in detail)
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, CatalogError):
        return Response(error_body(exc.message, exc.code), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request body too large", "FILE_TOO_LARGE"), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(suspicious_body(exc), status=400)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 path (logged), body below
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "ERROR")
    if isinstance(exc, drf.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        code = "CSRF_FAILED"  # SessionAuthentication's check of an unsafe request
    response.data = error_body(error_message(exc.detail), code)
    return response


def suspicious_body(exc) -> dict:
    """Django's refusals of a malformed request (too many fields or files, ...), as API errors."""
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return error_body("the request carries too many fields or files", "TOO_MANY_FIELDS")
    return error_body("the request is malformed", "INVALID_INPUT")


def json_bad_request(request, exception=None):
    return JsonResponse(suspicious_body(exception), status=400)


@csrf_exempt  # a POST to a path no route matches is a 404, with or without a session (SPEC §3)
def json_not_found(request, exception=None):
    return JsonResponse(error_body("not found", "NOT_FOUND"), status=404)


def json_csrf_failure(request, reason: str = ""):
    return JsonResponse(
        error_body(f"CSRF check failed: {reason}" if reason else "CSRF check failed", "CSRF_FAILED"), status=403
    )


def json_server_error(request):
    return JsonResponse(error_body("internal error", "INTERNAL_ERROR"), status=500)
