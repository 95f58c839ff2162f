"""Public reads show nothing private (issue 19): orphan stickers, the browse page, and pack URLs in
another letter case (MariaDB's case-insensitive collation reaches the pack by them)."""

import pytest
from django.utils import timezone

from catalog.services import classification
from tests.catalog.conftest import client_for, make_pack
from tests.catalog.test_images import transparent_png
from tests.catalog.test_trust_cross_owner import create_pack, upload

pytestmark = pytest.mark.django_db


def orphan_ids(api) -> list[int]:
    return [s["sticker_id"] for s in api.get("/api/sticker-packs/orphan-stickers").json()["data"]]


def test_orphan_stickers_never_include_an_asset_only_seen_in_non_public_packs(api, user):
    owner = client_for(user)
    hidden = {}
    for label, fields in {
        "private": {"visibility": "private"},
        "unlisted": {"visibility": "unlisted"},
        "draft": {},
    }.items():
        key = create_pack(owner, name=f"My {label} cats", tags=["cats", "secret-plan"], **fields)
        sticker = upload(owner, key, transparent_png(size=(300 + len(hidden) * 7, 150)), emojis="😺")
        hidden[label] = sticker.json()["data"]["sticker_id"]
        if label != "draft":
            owner.post(f"/api/sticker-packs/{key}/publish")
    deleted = make_pack(owner=user, items=1, status="draft", deleted_at=timezone.now(), refresh=False)
    hidden["deleted"] = deleted.items.get().asset_id
    # A pack that was public and published, then unlisted by its owner: its sticker may be shown.
    shown_key = create_pack(owner, name="Was public", tags=["sunny"])
    shown = upload(owner, shown_key, transparent_png(size=(360, 120))).json()["data"]["sticker_id"]
    owner.post(f"/api/sticker-packs/{shown_key}/publish")
    owner.patch(f"/api/sticker-packs/{shown_key}", {"visibility": "unlisted"}, format="json")
    classification.classification_cycle(batch_size=50, concurrency=1)
    body = api.get("/api/sticker-packs/orphan-stickers").json()
    assert [s["sticker_id"] for s in body["data"]] == [shown]
    assert not set(hidden.values()) & set(orphan_ids(api))
    for sticker in body["data"]:
        assert "cats" not in sticker["tags"] and "secret-plan" not in sticker["tags"]
        assert sticker["category"] != "animals"


def test_the_browse_page_shows_no_pack_the_api_hides(api, client):
    safe = make_pack(items=2, name="Sunny Meadow Pack")
    hidden = [
        make_pack(items=2, nsfw_items=2, name="Explicit Pack Alpha"),  # explicit snapshot, owner never marked it
        make_pack(items=2, nsfw_items=1, name="Suggestive Pack Beta"),
        make_pack(items=1, is_sensitive=True, name="Marked Pack Gamma"),
        make_pack(items=1, refresh=False, name="Unsnapshotted Pack Delta"),  # the API lists it once refreshed
    ]
    listed = {p["pack_key"] for p in api.get("/api/sticker-packs").json()["data"]}
    assert listed == {safe.pack_key}
    page = client.get("/").content.decode()
    assert safe.name in page
    for pack in hidden:
        assert pack.name not in page and pack.pack_key not in page, pack.name


def test_an_upper_case_pack_url_is_invalidated_with_the_pack(api, user, settings, django_capture_on_commit_callbacks):
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS = 300
    settings.API_ANONYMOUS_LOCAL_SECONDS = 0
    pack = make_pack(owner=user, items=1, name="Demo Cats")
    lower = f"/api/sticker-packs/{pack.pack_key}"
    upper = f"/api/sticker-packs/{pack.pack_key.upper()}"
    first = api.get(upper)
    assert first.status_code == 200 and first.json()["data"]["pack_key"] == pack.pack_key
    assert api.get(upper)["X-Cache"] == "hit"
    assert api.get(lower)["X-Cache"] == "hit"  # one entry for every spelling of the key
    with django_capture_on_commit_callbacks(execute=True):
        edited = client_for(user).patch(upper, {"visibility": "private"}, format="json")
    assert edited.status_code == 200
    for url in (upper, lower, f"/api/sticker-packs/{pack.pack_key.title()}"):
        assert api.get(url).status_code == 404, url
    # The owner still reaches it by any spelling; the web page too.
    assert client_for(user).get(upper).json()["data"]["pack_key"] == pack.pack_key


def test_new_pack_keys_are_lower_case(user):
    key = create_pack(client_for(user), name="UPPER Case NAME")
    assert key == key.lower()
