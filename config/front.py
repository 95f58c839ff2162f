"""The front of the stack: what is answered before sessions, authentication, CSRF, messages and
the rest of MIDDLEWARE run (FrontMiddleware is first there), and below Django altogether
(FrontApplication, the WSGI application of config.wsgi).

- `/healthz` and `/readyz` (GET/HEAD): the probe views, with the security headers
  (SecurityMiddleware's response half: HSTS on HTTPS, nosniff, ...), an X-Request-Id and the
  packyard_http_* metrics. Probes skip host validation and the HTTPS redirect: orchestrators reach
  processes directly, by address, over plain HTTP.
- Anonymous reads with no cookie and no credentials: the read cache's finished answers
  (catalog.api.front), replayed with their own X-Request-Id and counted in packyard_http_*; a
  miss goes through the whole stack once and is stored. The host is validated first
  (ALLOWED_HOSTS), as the stack behind would.

Both remember their decision for the request's shape (config.replay); FrontApplication then
answers the same shape itself — the probe's current result, the read cache's current entry — and
hands everything else, and every answer it cannot give, to Django.

Everything else passes straight through. django_prometheus' own django_http_* families count only
what reaches the stack; packyard_http_* (config.metrics) count every response.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import responses

from django.middleware.security import SecurityMiddleware

from catalog.api.front import front_answer, front_eligible
from config import health, replay
from config.metrics import observe, route_group
from config.middleware import REQUEST_ID_HEADER, assign_request_id, request_id_of

PROBES = {"/healthz": health.liveness, "/readyz": health.readiness}


@dataclass(frozen=True, slots=True)
class ProbeAnswer:
    """A probe answered below Django: its state now, with the headers of its last Django answer."""

    route: str
    state: Callable[[], tuple[dict, int]]
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def learned_from(cls, request, state, response) -> "ProbeAnswer":
        """The probe as Django just answered it: its headers, less each request's own."""
        own = ("x-request-id", "content-length")
        headers = tuple((name, value) for name, value in response.items() if name.lower() not in own)
        return cls(route_group(request), state, headers)

    def __call__(self) -> replay.Reply:
        content, status = health.probe_content(self.state)
        return status, [*self.headers, ("Content-Length", str(len(content)))], content


class FrontMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)

    def __call__(self, request):
        started = time.perf_counter()
        state = PROBES.get(request.path_info)
        if state is not None and request.method in ("GET", "HEAD"):
            request_id = assign_request_id(request)
            response = self.security.process_response(request, health.probe_response(state))
            replay.remember(request.META, ProbeAnswer.learned_from(request, state, response))
        elif front_eligible(request):
            request.get_host()  # ALLOWED_HOSTS (DisallowedHost: a 400), before any replay
            response, replayed = front_answer(request, self.get_response)
            if not replayed:
                return response
            request_id = assign_request_id(request)
        else:
            return self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        observe(route_group(request), request.method, response.status_code, (time.perf_counter() - started) * 1000.0)
        return response


class FrontApplication:
    """The WSGI application: answers the shapes the front remembered (config.replay), with their
    own X-Request-Id and counted in packyard_http_*; Django's application answers the rest."""

    def __init__(self, django_application):
        self.django_application = django_application

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        answer = replay.answer_for(environ)
        if answer is None:
            return self.django_application(environ, start_response)
        try:
            reply = answer()
        except Exception:  # the cache away, say: Django answers (and logs) it its own way
            reply = None
        if reply is None:
            return self.django_application(environ, start_response)
        status, headers, content = reply
        headers.append((REQUEST_ID_HEADER, request_id_of(environ)))
        start_response(f"{status} {responses.get(status, 'Unknown Status Code')}", headers)
        method = environ["REQUEST_METHOD"]
        observe(answer.route, method, status, (time.perf_counter() - started) * 1000.0)
        return [b"" if method == "HEAD" else content]
