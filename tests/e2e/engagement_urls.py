"""The site's URLs plus a page that likes a pack the way the reference web client does: fetch() with
no body, no custom header and no CSRF token, relying on cookies alone (tests/e2e/test_engagement_browser.py)."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns

CLIENT = engines["django"].from_string(
    """<!doctype html><html><head><title>like</title></head><body><pre id="out">pending</pre>
<script nonce="{{ csp_nonce }}">
async function like() {
  const answer = await fetch("/api/sticker-packs/{{ pack_key }}/like", {method: "POST"});
  return (await answer.json()).data;
}
(async () => {
  const first = await like();
  const second = await like();
  document.getElementById("out").textContent = JSON.stringify({
    first: first.engagement.like_count, second: second.engagement.like_count, again: second.recorded,
  });
})().catch((error) => { document.getElementById("out").textContent = "error " + error; });
</script></body></html>"""
)


def client_page(request, pack_key):
    return HttpResponse(CLIENT.render({"pack_key": pack_key}, request=request))


urlpatterns = [path("like-probe/<slug:pack_key>", client_page), *site_urlpatterns]
