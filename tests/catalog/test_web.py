"""The web pages without a browser (SPEC §3 web pages): what they list is what the API lists,
the pack page keeps sensitive bytes from anonymous viewers, and every form works without JS
(the browser tests in tests/e2e drive the same pages in Chromium)."""

import io
import re
import zipfile

import pytest
from django.core.cache import cache
from django.test import Client

from catalog.models import PackEngagement, PackScoreSnapshot, StickerPack
from catalog.services.images import ImageRejected, convert_upload
from tests.catalog.conftest import make_pack, png_bytes

pytestmark = pytest.mark.django_db

CARD_LINK = re.compile(r'<h2 class="card-title"><a href="/stickers/([-a-z0-9]+)">')


def page_keys(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return CARD_LINK.findall(response.content.decode())


def api_keys(client, query: str = "") -> list[str]:
    return [p["pack_key"] for p in client.get(f"/api/sticker-packs{query}").json()["data"]]


@pytest.fixture
def mixed_catalog(user, other_user):
    """Packs the lists must show and every kind they must not."""
    shown = [make_pack(items=2, name=f"Shown {n}", tags=["cats"] if n % 2 else ["dogs"]) for n in range(5)]
    hidden = [
        make_pack(items=2, nsfw_items=1, name="Has an NSFW sticker"),
        make_pack(items=1, is_sensitive=True, name="Marked sensitive"),
        make_pack(items=1, visibility="unlisted", name="Unlisted"),
        make_pack(items=1, visibility="private", name="Private"),
        make_pack(items=1, status="draft", name="Draft", refresh=False),
        make_pack(items=1, deleted_at="2026-01-01T00:00:00Z", name="Deleted"),
    ]
    explicit = make_pack(items=1, name="Explicit snapshot")
    PackScoreSnapshot.objects.filter(pack=explicit).update(nsfw_level="explicit")
    hidden.append(explicit)
    return shown, hidden


def test_browse_lists_exactly_what_the_api_lists(client, api, mixed_catalog, user):
    shown, hidden = mixed_catalog
    assert sorted(page_keys(client.get("/"))) == sorted(p.pack_key for p in shown)
    for query in [
        "",
        "?sort=trending",
        "?sort=new",
        "?sort=likes",
        "?sort=downloads",
        "?q=shown+3",
        "?categories=dogs",
    ]:
        assert page_keys(client.get(f"/stickers/{query}")) == api_keys(api, query), query
    # A logged-in viewer who asks for sensitive packs gets them from both, in the same order.
    client.force_login(user)
    api.force_authenticate(user)
    with_sensitive = page_keys(client.get("/?include_sensitive=1"))
    assert with_sensitive == api_keys(api, "?include_sensitive=1")
    assert {p.pack_key for p in hidden if p.name in ("Has an NSFW sticker", "Marked sensitive")} <= set(with_sensitive)
    assert not {p.pack_key for p in hidden if p.name in ("Unlisted", "Private", "Draft", "Deleted")} & set(
        with_sensitive
    )


def test_browse_pages_through_the_api_cursor(client, api):
    for n in range(30):
        make_pack(items=1, name=f"Pack {n:02d}", engagement={"like_count": n})
    first = client.get("/?sort=likes")
    assert page_keys(first) == api_keys(api, "?sort=likes")
    body = api.get("/api/sticker-packs?sort=likes").json()
    more = re.search(r'href="(\?[^"]*cursor=[^"]+)"[^>]*data-more', first.content.decode())
    assert more, "a 'more' link carrying the cursor"
    assert body["pagination"]["next_cursor"] in more.group(1)
    second = client.get("/" + more.group(1).replace("&amp;", "&"))
    cursor = body["pagination"]["next_cursor"]
    assert page_keys(second) == api_keys(api, f"?sort=likes&cursor={cursor}")
    assert len(page_keys(first)) + len(page_keys(second)) == 30
    assert "data-more" not in second.content.decode()
    # The fragment the JS appends: the cards and the next link, without the page around them.
    partial = client.get("/" + more.group(1).replace("&amp;", "&") + "&partial=1")
    assert page_keys(partial) == page_keys(second)
    assert b"<html" not in partial.content


def test_browse_shows_chips_sorts_and_refuses_bad_input_with_a_message(client):
    make_pack(items=1, name="Cat pack", tags=["cats", "cute"])
    cache.clear()
    page = client.get("/?sort=trending").content.decode()
    assert re.search(r'href="\?sort=trending&amp;categories=cats"', page), "a chip keeps the sort"
    assert re.search(r'<a href="\?sort=trending" aria-current="page">Trending</a>', page)
    bad = client.get("/?sort=loudest")
    assert bad.status_code == 400
    assert "unknown sort" in bad.content.decode()
    assert client.get("/?cursor=nonsense").status_code == 400


def test_browse_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for n in range(24):
        make_pack(items=2, name=f"Pack {n}")
    cache.clear()
    # The snapshot page, the covers of packs without one, flags and category chips (both then cached).
    with django_assert_max_num_queries(4):
        assert len(page_keys(client.get("/"))) == 24
    with django_assert_max_num_queries(2):
        assert len(page_keys(client.get("/?sort=new"))) == 24


def test_pack_page_hides_sensitive_bytes_from_anonymous_viewers(client, user):
    pack = make_pack(owner=user, items=3, nsfw_items=1)
    nsfw_asset = pack.items.get(position=1).asset_id
    safe_asset = pack.items.get(position=2).asset_id
    page = client.get(f"/stickers/{pack.pack_key}").content.decode()
    assert f"/stickers/{nsfw_asset}" not in page  # neither an <img> nor any link to the bytes
    assert f'src="/api/sticker-packs/{pack.pack_key}/stickers/{safe_asset}.webp"' in page
    assert 'class="sticker-hidden"' in page and "1 sensitive sticker is hidden" in page
    assert "Edit pack" not in page
    client.force_login(user)
    owner_page = client.get(f"/stickers/{pack.pack_key}").content.decode()
    assert f"/stickers/{nsfw_asset}.webp" in owner_page and "sticker-hidden" not in owner_page
    assert f'href="/stickers/{pack.pack_key}/edit"' in owner_page


def test_pack_page_alt_text_sizes_and_visibility(client, other_user):
    pack = make_pack(items=2)
    pack.items.filter(position=1).update(accessibility_label="A waving cat")
    pack.items.filter(position=2).update(emojis=["😺", "👋"])
    page = client.get(f"/stickers/{pack.pack_key}").content.decode()
    assert 'width="512" height="512" alt="A waving cat"' in page
    assert 'alt="😺 👋"' in page
    private = make_pack(owner=other_user, items=1, visibility="private")
    draft = make_pack(owner=other_user, items=1, status="draft", refresh=False)
    for hidden in (private, draft):
        response = client.get(f"/stickers/{hidden.pack_key}")
        assert response.status_code == 404 and b"Not found" in response.content
    assert client.get(f"/stickers/{make_pack(items=1, visibility='unlisted').pack_key}").status_code == 200


def test_engagement_forms_count_once_and_need_the_csrf_token(user):
    pack = make_pack(items=1, engagement={"like_count": 4})
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/stickers/{pack.pack_key}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert browser.post(f"/stickers/{pack.pack_key}/like").status_code == 403  # no token
    liked = browser.post(f"/stickers/{pack.pack_key}/like", {"csrfmiddlewaretoken": token})
    assert liked.status_code == 302 and liked["Location"] == f"/stickers/{pack.pack_key}"
    browser.post(f"/stickers/{pack.pack_key}/like", {"csrfmiddlewaretoken": token})  # the same viewer again
    assert PackEngagement.objects.get(pack=pack).like_count == 5
    assert b'data-count="like_count">5<' in browser.get(f"/stickers/{pack.pack_key}").content
    assert browser.get(f"/stickers/{pack.pack_key}/like").status_code == 405
    missing = browser.post("/stickers/no-such-pack/like", {"csrfmiddlewaretoken": token})
    assert missing.status_code == 404


def test_download_counts_and_zips_only_what_the_viewer_may_see(client, user):
    pack = make_pack(owner=user, items=3, nsfw_items=1)
    posted = client.post(f"/stickers/{pack.pack_key}/download")
    assert posted.status_code == 302 and posted["Location"] == f"/stickers/{pack.pack_key}/download.zip"
    assert PackEngagement.objects.get(pack=pack).download_count == 1
    archive = client.get(posted["Location"])
    assert archive["Content-Type"] == "application/zip"
    assert f'filename="{pack.pack_key}.zip"' in archive["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == [f"{pack.pack_key}-02.webp", f"{pack.pack_key}-03.webp"]  # not the NSFW one
    client.force_login(user)
    owner_zip = zipfile.ZipFile(io.BytesIO(client.get(posted["Location"]).content))
    assert len(owner_zip.namelist()) == 3
    assert owner_zip.read(f"{pack.pack_key}-01.webp")[:4] == b"RIFF"


def test_login_logout_and_owner_pages_need_a_login(client, user):
    assert client.get("/my/")["Location"] == "/login/?next=/my/"
    assert client.get(f"/stickers/{make_pack(owner=user, items=1).pack_key}/edit").status_code == 302
    wrong = client.post("/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and b"didn't match" in wrong.content
    logged_in = client.post("/login/", {"username": "alice", "password": "alice-password-123", "next": "/my/"})
    assert logged_in["Location"] == "/my/"
    assert b"My packs" in client.get("/my/").content
    assert client.post("/logout/")["Location"] == "/"
    assert client.get("/my/").status_code == 302
    user.is_active = False  # banned
    user.save(update_fields=["is_active"])
    assert client.post("/login/", {"username": "alice", "password": "alice-password-123"}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_create_pack_through_the_form(client, user):
    client.force_login(user)
    refused = client.post(
        "/my/new", {"name": "Tags", "tags": ",".join(f"t{n}" for n in range(9)), "visibility": "public"}
    )
    assert refused.status_code == 400 and b"at most 8 tags" in refused.content
    created = client.post(
        "/my/new", {"name": "Weekend Birds", "tags": "Birds, weekend", "visibility": "unlisted", "is_sensitive": "on"}
    )
    pack = StickerPack.objects.get(name="Weekend Birds")
    assert created["Location"] == f"/stickers/{pack.pack_key}/edit"
    assert (pack.owner, pack.status, pack.visibility, pack.tags) == (user, "draft", "unlisted", ["birds", "weekend"])
    assert pack.is_sensitive and pack.publisher == "alice"
    mine = client.get("/my/").content.decode()
    assert "Weekend Birds" in mine and "Draft" in mine


def test_edit_page_is_the_owners_only(client, user, other_user):
    pack = make_pack(owner=user, items=1)
    client.force_login(other_user)
    assert client.get(f"/stickers/{pack.pack_key}/edit").status_code == 403
    assert client.post(f"/stickers/{pack.pack_key}/publish").status_code == 403
    assert client.post(f"/stickers/{pack.pack_key}/delete").status_code == 403
    private = make_pack(owner=user, items=1, visibility="private")
    assert client.get(f"/stickers/{private.pack_key}/edit").status_code == 404
    assert client.post(f"/stickers/{private.pack_key}/upload").status_code == 404
    client.force_login(user)
    saved = client.post(f"/stickers/{pack.pack_key}/edit", {"name": "Renamed", "visibility": "public", "tags": ""})
    assert saved.status_code == 302
    pack.refresh_from_db()
    assert pack.name == "Renamed"


def test_uploads_without_js_report_each_file(client, user):
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    client.force_login(user)
    not_an_image = b"plain text"
    with pytest.raises(ImageRejected) as refused:
        convert_upload(not_an_image)
    files = [
        ("robin.png", png_bytes(color=(200, 30, 30, 255))),
        ("notes.png", not_an_image),
        ("wren.png", png_bytes(color=(30, 200, 30, 255))),
    ]
    uploads = []
    for name, data in files:
        upload = io.BytesIO(data)
        upload.name = name
        uploads.append(upload)
    response = client.post(f"/stickers/{pack.pack_key}/upload", {"file": uploads, "emojis": "🐦"}, follow=True)
    page = response.content.decode()
    assert "robin.png: added" in page and "wren.png: added" in page
    assert f"notes.png: {refused.value.message}" in page
    assert list(pack.items.order_by("position").values_list("emojis", flat=True)) == [["🐦"], ["🐦"]]
    nothing = client.post(f"/stickers/{pack.pack_key}/upload", follow=True)
    assert "Choose at least one image." in nothing.content.decode()


def test_move_remove_publish_and_delete_without_js(client, user):
    pack = make_pack(owner=user, items=3, status="draft", refresh=False)
    first, second, third = pack.items.order_by("position").values_list("asset_id", flat=True)
    client.force_login(user)
    edit = f"/stickers/{pack.pack_key}/edit"
    assert client.post(f"/stickers/{pack.pack_key}/stickers/{first}/move", {"position": "3"})["Location"] == edit
    assert list(pack.items.order_by("position").values_list("asset_id", flat=True)) == [second, third, first]
    bad = client.post(f"/stickers/{pack.pack_key}/stickers/{first}/move", {"position": "9"}, follow=True)
    assert "position must be between 1 and 3" in bad.content.decode()
    client.post(f"/stickers/{pack.pack_key}/stickers/{third}/remove")
    assert list(pack.items.order_by("position").values_list("asset_id", flat=True)) == [second, first]
    published = client.post(f"/stickers/{pack.pack_key}/publish", follow=True)
    assert "Published." in published.content.decode()
    pack.refresh_from_db()
    assert pack.status == "published"
    deleted = client.post(f"/stickers/{pack.pack_key}/delete")
    assert deleted["Location"] == "/my/"
    pack.refresh_from_db()
    assert pack.deleted_at is not None


def test_add_to_whatsapp_only_when_configured(client, settings):
    pack = make_pack(items=1)
    assert b"Add to WhatsApp" not in client.get(f"/stickers/{pack.pack_key}").content
    settings.WHATSAPP_BOT_PHONE = "15550001111"
    page = client.get(f"/stickers/{pack.pack_key}").content.decode()
    assert f'href="https://wa.me/15550001111?text=/pack%20send%20{pack.pack_key}"' in page
    assert "Add to WhatsApp" in page
