"""Stats, creators, marketplace stats and orphan stickers (SPEC §3)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import InteractionEvent
from tests.catalog.conftest import make_pack, stored_asset
from tests.factories import StickerPackItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_stats_count_listed_packs_only(api):
    ana, bruno = UserFactory(username="ana"), UserFactory(username="bruno")
    a = make_pack(items=3, owner=ana, engagement={"download_count": 5})
    make_pack(items=2, owner=bruno, engagement={"download_count": 7})
    make_pack(items=4, visibility="unlisted", engagement={"download_count": 100})  # a third owner, not listed
    shared = a.items.get(position=1).asset
    other = make_pack(items=0, owner=ana, publisher="Someone Else")  # creators are owners, not publishers
    StickerPackItemFactory(pack=other, asset=shared, position=1)
    data = api.get("/api/sticker-packs/stats").json()["data"]
    assert data == {"packs_total": 3, "stickers_total": 5, "creators_total": 2, "downloads_total": 12}


def test_creators_ranked_with_top_pack(api, staff_user):
    from catalog.services.creators import creator_verify

    ana, bruno, secret = (UserFactory(username=name) for name in ("Ana", "Bruno", "Secret"))
    best = make_pack(items=2, owner=ana, engagement={"like_count": 50, "open_count": 10})
    make_pack(items=1, owner=ana, engagement={"like_count": 1})
    make_pack(items=1, owner=bruno, engagement={"like_count": 2})
    make_pack(items=1, owner=staff_user)
    make_pack(items=1, owner=secret, visibility="unlisted", engagement={"like_count": 999})
    creator_verify(user=staff_user, verified=True, display_name="Staff", by=staff_user)
    data = api.get("/api/sticker-packs/creators").json()["data"]
    assert [c["publisher"] for c in data][:1] == ["Ana"]
    assert "Secret" not in [c["publisher"] for c in data]
    ana = data[0]
    assert ana["stats"]["packs_count"] == 2 and ana["stats"]["total_likes"] == 51
    assert ana["top_pack"]["pack_key"] == best.pack_key
    assert set(ana) == {"publisher", "verified", "badges", "creator_score", "stats", "top_pack"}
    assert ana["creator_score"] >= data[1]["creator_score"]
    staff = next(c for c in data if c["publisher"] == "Staff")
    assert staff["verified"] is True and "verified" in staff["badges"]  # set by staff, not for being staff
    assert not any(c["verified"] for c in data if c["publisher"] != "Staff")
    assert len(api.get("/api/sticker-packs/creators?limit=1").json()["data"]) == 1


def test_marketplace_stats_series(api):
    pack = make_pack(items=2, published_at=timezone.now(), engagement={"open_count": 9, "like_count": 4})
    for days in (0, 1, 1, 9):
        InteractionEvent.objects.create(
            pack=pack, interaction="open", actor_key=f"a{days}", created_at=timezone.now() - timedelta(days=days)
        )
    InteractionEvent.objects.create(pack=pack, interaction="like", actor_key="l")
    stored_asset(seed="lonely")
    data = api.get("/api/marketplace/stats").json()
    assert data["total_packs"] == 1 and data["total_stickers"] == 2
    assert data["total_clicks"] == 9 and data["total_likes"] == 4
    assert data["clicks_last_7_days"] == 3 and data["likes_last_7_days"] == 1
    assert data["packs_last_7_days"] == 1 and data["stickers_without_pack"] == 1
    series = data["series_last_7_days"]
    assert len(series) == 7 and series[-1]["date"] == timezone.now().date().isoformat()
    assert series[-1]["clicks"] == 1 and series[-2]["clicks"] == 2 and series[-1]["likes"] == 1
    assert set(series[0]) == {"date", "packs_published", "stickers_created", "clicks", "likes"}
    assert data["cache_seconds"] == 60 and data["updated_at"]


def test_orphan_stickers_are_safe_and_anonymous(api):
    once = timezone.now() - timedelta(days=3)
    listed = make_pack(items=1)
    unpublished = make_pack(items=1, status="draft", first_listed_at=once)
    unlisted = make_pack(items=1, visibility="unlisted", first_listed_at=once)
    make_pack(items=1, status="draft", nsfw_items=1, first_listed_at=once)
    make_pack(items=1, status="draft", is_sensitive=True, first_listed_at=once)
    make_pack(items=1, status="draft", moderation_hold=True, first_listed_at=once)
    make_pack(items=1, status="draft")  # never listed
    stored_asset(seed="loose")  # in no pack: nothing says it was ever public
    body = api.get("/api/sticker-packs/orphan-stickers").json()
    ids = [s["sticker_id"] for s in body["data"]]
    assert set(ids) == {unpublished.items.get().asset_id, unlisted.items.get().asset_id}
    assert listed.items.get().asset_id not in ids
    assert all("owner" not in s and "asset_url" not in s for s in body["data"])
    assert body["pagination"]["has_more"] is False
    page = api.get("/api/sticker-packs/orphan-stickers?limit=1").json()
    assert page["pagination"] == {"limit": 1, "offset": 0, "has_more": True, "next_offset": 1, "next_cursor": None}
