"""Issuing the signed anonymous viewer id (catalog.services.viewers) in its cookie: one place for the
pages and the engagement API, so page templates and scripts need nothing of their own.

- A page (an HTML 200 answer to a GET outside /admin and /api) sets a fresh random id when the
  browser has no genuine one.
- An engagement answer (POST /api/sticker-packs/{key}/{interaction}) to an anonymous request that
  carried no genuine cookie sets the id the request acted as (its X-Viewer-Key's, else its
  network's), so its next click is the same actor.

The cookie is HttpOnly and SameSite=Lax (the site's own scripts send it with fetch; nothing reads
it), Secure when the session cookie is, and an answer that sets it is `private, no-store`: a
shared cache must never hand one viewer's id to everyone.
"""

from django.conf import settings
from django.utils.cache import patch_cache_control

from catalog.services import viewers

ENGAGEMENT_ROUTE = "api-pack-engagement"


def set_viewer_cookie(response, viewer_id: str) -> None:
    response.set_cookie(
        settings.VIEWER_COOKIE_NAME,
        viewers.sign_viewer_id(viewer_id),
        max_age=settings.VIEWER_COOKIE_MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    patch_cache_control(response, private=True, no_store=True)


def _is_page(request, response) -> bool:
    path = request.path
    return (
        request.method == "GET"
        and response.status_code == 200
        and response.get("Content-Type", "").startswith("text/html")
        and not path.startswith(("/admin/", "/api/"))
    )


def _is_engagement(request, response) -> bool:
    match = getattr(request, "resolver_match", None)
    return (
        request.method == "POST"
        and response.status_code == 200
        and match is not None
        and (match.url_name == ENGAGEMENT_ROUTE)
    )


def viewer_id_to_issue(request, response) -> str | None:
    """The viewer id this answer should set in the cookie, or None."""
    if viewers.cookie_viewer_id(request) is not None:
        return None
    if _is_page(request, response):
        return viewers.new_viewer_id()
    if _is_engagement(request, response) and viewers.is_anonymous(request):
        return viewers.viewer_id(request)
    return None


class ViewerCookieMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        issue = viewer_id_to_issue(request, response)
        if issue is not None:
            set_viewer_cookie(response, issue)
        return response
