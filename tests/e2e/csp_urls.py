"""The site's URLs plus one probe page with two inline scripts: one with the response's nonce,
one without (tests/e2e/test_csp_browser.py)."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns

PROBE = engines["django"].from_string(
    """<!doctype html><html><head><title>probe</title></head><body>
<p id="with-nonce">blocked</p><p id="without-nonce">blocked</p><p id="handler">blocked</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="" onerror="document.getElementById('handler').textContent='ran'">
<script nonce="{{ csp_nonce }}">document.getElementById("with-nonce").textContent = "ran";</script>
<script>document.getElementById("without-nonce").textContent = "ran";</script>
</body></html>"""
)


def probe(request):
    return HttpResponse(PROBE.render(request=request))


urlpatterns = [path("csp-probe", probe), *site_urlpatterns]
