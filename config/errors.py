"""Error pages (400, 404, 500, CSRF failures): JSON under /api (SPEC §3), Django's HTML pages elsewhere."""

from django.views import csrf, defaults

from catalog.api.exceptions import json_bad_request, json_csrf_failure, json_not_found, json_server_error


def is_api(request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def handler400(request, exception):
    if is_api(request):
        return json_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def handler404(request, exception):
    if is_api(request):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api(request):
        return json_server_error(request)
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    if is_api(request):
        return json_csrf_failure(request, reason)
    return csrf.csrf_failure(request, reason)
