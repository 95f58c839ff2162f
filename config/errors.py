"""Error pages: JSON under /api (SPEC §3), Django's HTML pages elsewhere."""

from django.views import defaults

from catalog.api.exceptions import json_not_found, json_server_error


def _is_api(request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def handler404(request, exception):
    if _is_api(request):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return json_server_error(request)
    return defaults.server_error(request)
