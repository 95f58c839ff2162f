"""Security and caching headers (issue 19): a strict CSP on pages, HSTS behind TLS, no shared
caching of anything that depends on the viewer, no public caching of anonymous errors."""

import re

import pytest

from tests.catalog.conftest import client_for, make_pack
from tests.config.test_settings import _run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _anonymous_cache_on(settings):
    """The defaults (the catalog's conftest turns the cache off and clears it around each test)."""
    settings.API_ANONYMOUS_CACHE_SECONDS = 5
    settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS = 300


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def inline_scripts_and_handlers(html: str) -> tuple[list[str], list[str]]:
    """<script> tags without src (their opening tags) and on*= handler attributes."""
    scripts = [tag for tag in re.findall(r"<script\b[^>]*>", html, re.I) if not re.search(r"\bsrc=", tag, re.I)]
    handlers = re.findall(r"<[^>]+\son[a-z]+\s*=", html, re.I)
    return scripts, handlers


@pytest.mark.parametrize("path", ["/", "/stickers/", "/admin/login/"])
def test_pages_have_a_strict_content_security_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert "'self'" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy.get("style-src", [])
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    nonce = next((v for v in policy["script-src"] if v.startswith("'nonce-")), None)
    scripts, handlers = inline_scripts_and_handlers(response.content.decode())
    assert not handlers
    for tag in scripts:  # data blocks are inert; anything inline that runs carries this response's nonce
        assert 'type="application/json"' in tag or (nonce and f'nonce="{nonce[7:-1]}"' in tag), tag


def test_a_nonce_is_new_on_every_response_and_offered_to_templates(rf):
    from django.middleware.csp import ContentSecurityPolicyMiddleware
    from django.template import engines
    from django.template.response import TemplateResponse

    template = engines["django"].from_string('<script nonce="{{ csp_nonce }}">window.ok = 1</script>')
    nonces = []
    for _ in range(2):
        request = rf.get("/")
        middleware = ContentSecurityPolicyMiddleware(lambda r: TemplateResponse(r, template).render())
        response = middleware(request)
        found = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
        assert f"'nonce-{found}'" in response["Content-Security-Policy"]
        nonces.append(found)
    assert nonces[0] != nonces[1]


def test_api_answers_carry_the_policy_too(api):
    response = api.get("/api/sticker-packs")
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_hsts_is_sent_behind_tls_by_default(client):
    secure = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert re.fullmatch(r"max-age=\d+(; includeSubDomains)?(; preload)?", secure["Strict-Transport-Security"])
    assert int(re.search(r"max-age=(\d+)", secure["Strict-Transport-Security"]).group(1)) >= 31536000
    assert "Strict-Transport-Security" not in client.get("/healthz")  # plain HTTP: never


def test_hsts_default_follows_debug_and_is_configurable():
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS)"

    def hsts(**env) -> int:
        result = _run({"SECRET_KEY": "x" * 50, **env}, code)
        assert result.returncode == 0, result.stderr
        return int(result.stdout.strip().splitlines()[-1])

    assert hsts() >= 31536000
    assert hsts(DEBUG="true") == 0
    assert hsts(SECURE_HSTS_SECONDS="0") == 0
    assert hsts(SECURE_HSTS_SECONDS="600") == 600


def test_everything_a_logged_in_viewer_reads_is_private_and_not_stored(user):
    own_private = make_pack(owner=user, items=1, visibility="private")
    member = client_for(user)
    for path in (
        "/api/sticker-packs/me",
        f"/api/sticker-packs/{own_private.pack_key}",
        "/api/sticker-packs",
        "/api/sticker-packs/stats",
        "/api/sticker-packs/no-such-pack",
    ):
        response = member.get(path)
        control = response["Cache-Control"]
        assert "private" in control and "no-store" in control and "public" not in control, (path, control)
        assert "X-Cache" not in response
    session = client_for(user)
    session.credentials()
    session.force_login(user)
    page = session.get(f"/stickers/{own_private.pack_key}")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]


def test_anonymous_errors_are_not_cached_publicly(api):
    for path in ("/api/sticker-packs/no-such-pack", "/api/sticker-packs?sort=bad", "/api/sticker-packs?limit=x"):
        response = api.get(path)
        assert response.status_code in (400, 404)
        assert "public" not in response.get("Cache-Control", ""), path
        assert "no-store" in response["Cache-Control"], path
    pack = make_pack(items=2, nsfw_items=1, classified=True)
    ok = api.get("/api/sticker-packs/" + pack.pack_key)
    assert ok.status_code == 200 and ok["Cache-Control"] == "public, max-age=30, stale-while-revalidate=30"
    nsfw, safe = (item.asset_id for item in pack.items.order_by("position"))
    missing_asset = max(nsfw, safe) + 100
    for path in (f"stickers/{nsfw}", f"stickers/{missing_asset}", "stickers/x"):  # outside the read cache too
        response = api.get(f"/api/sticker-packs/{pack.pack_key}/{path}")
        assert response.status_code in (403, 404), path
        assert response["Cache-Control"] == "no-store", path


def test_sticker_bytes_keep_their_own_rules_for_every_viewer(api, user):
    """Issue 11's sticker Cache-Control under issue 19's viewer rule: the view sets its own."""
    safe_pack = make_pack(items=1, classified=True)
    marked = make_pack(items=1, classified=True, owner=user, moderation_sensitive=True)
    member = client_for(user)
    safe_path = f"/api/sticker-packs/{safe_pack.pack_key}/stickers/{safe_pack.items.get().asset_id}"
    for client in (api, member):
        assert client.get(safe_path)["Cache-Control"] == "public, max-age=86400, immutable"
    marked_path = f"/api/sticker-packs/{marked.pack_key}/stickers/{marked.items.get().asset_id}"
    own = member.get(marked_path)
    assert own.status_code == 200 and own["Cache-Control"] == "private, max-age=60"
    assert "Cookie" in own["Vary"] and "Authorization" in own["Vary"]
    assert member.get("/api/sticker-packs/me")["Cache-Control"] == "private, no-store"
