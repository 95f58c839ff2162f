"""Login lockouts (django-axes): how a locked-out login is answered and whose name it counts.

The admin login and POST /api/auth/token both authenticate through axes' backend, so failures of
either count against the network identity (config.client) and against the username; over
AXES_FAILURE_LIMIT either one is locked out for AXES_COOLOFF_TIME, or until staff delete the
lockout in the admin ("Axes › Access attempts").
"""

from django.http import JsonResponse
from django.shortcuts import render

from catalog.api.exceptions import error_body
from config.errors import is_api


def lockout_username(request, credentials=None) -> str:
    """The username a failure counts against, case-folded: `Admin` and `ADMIN` are one account on a
    case-insensitive collation, so they are one counter too."""
    raw = (credentials or {}).get("username")
    if raw is None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        raw = data.get("username") if hasattr(data, "get") else None
    return raw.strip().casefold()[:150] if isinstance(raw, str) else ""


def lockout_response(request, original_response=None, credentials=None):
    message = "too many failed logins; try again later or ask staff to lift the lockout"
    if is_api(request):
        return JsonResponse(error_body(message, "RATE_LIMITED"), status=429)
    # The admin's look for the admin login, the site's for the pages' login (/login/). Rendered
    # here: the middleware answers after the view, past the point where Django renders.
    template = "admin/lockout.html" if request.path.startswith("/admin/") else "registration/lockout.html"
    return render(request, template, {"title": "Login locked", "message": message}, status=429)
