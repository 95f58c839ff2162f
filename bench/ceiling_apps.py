"""The two reference servers of bench/ceiling.py, served by the same gunicorn settings as the app.

    gunicorn -c config/gunicorn.py bench.ceiling_apps:bare      a WSGI function returning 12 bytes
    gunicorn -c config/gunicorn.py bench.ceiling_apps:minimal   Django with no middleware and one view
                                                                returning the same bytes

`minimal` is the ceiling of any Django code on this machine: request parsing, URL resolution,
the handler and response objects, nothing of the project.
"""

from django.conf import settings

BODY = b"hello world\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def bare(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]


settings.configure(
    DEBUG=False,
    SECRET_KEY="ceiling-bench-minimal-django-app-0123456789",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
    LOGGING_CONFIG=None,
)

import django  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def hello(request):
    return HttpResponse(BODY, content_type="text/plain")


urlpatterns = [path("", hello), path("hello", hello), path("healthz", hello)]

django.setup(set_prefix=False)
minimal = get_wsgi_application()
