"""The front of the stack: what is answered before sessions, authentication, CSRF, messages and
the rest of MIDDLEWARE run (it is first there).

- `/healthz` and `/readyz` (GET/HEAD): the probe views, with the security headers
  (SecurityMiddleware's response half: HSTS on HTTPS, nosniff, ...), an X-Request-Id and the
  packyard_http_* metrics. Probes skip host validation and the HTTPS redirect: orchestrators reach
  processes directly, by address, over plain HTTP.
- Anonymous reads with no cookie and no credentials: the read cache's finished answers
  (catalog.api.front), replayed with their own X-Request-Id and counted in packyard_http_*; a
  miss goes through the whole stack once and is stored.

Everything else passes straight through. django_prometheus' own django_http_* families count only
what reaches the stack; packyard_http_* (config.metrics) count every response.
"""

import time

from django.middleware.security import SecurityMiddleware

from catalog.api.front import front_answer, front_eligible
from config import health
from config.metrics import observe_request
from config.middleware import REQUEST_ID_HEADER, assign_request_id

PROBES = {"/healthz": health.healthz, "/readyz": health.readyz}


class FrontMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)

    def __call__(self, request):
        started = time.perf_counter()
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            request_id = assign_request_id(request)
            response = self.security.process_response(request, probe(request))
        elif front_eligible(request):
            response, replayed = front_answer(request, self.get_response)
            if not replayed:
                return response
            request_id = assign_request_id(request)
        else:
            return self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        observe_request(request, response.status_code, (time.perf_counter() - started) * 1000.0)
        return response
