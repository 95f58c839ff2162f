"""Public reads (SPEC §3): shapes, global ordering, visibility, NSFW, sticker delivery."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import PackEngagement, PackScoreSnapshot, StickerPack
from catalog.services.snapshots import snapshot_refresh
from flags.testing import override_flag
from tests.catalog.conftest import client_for, make_pack
from workers.models import WorkerTask

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = {
    "id", "pack_key", "name", "publisher", "description", "visibility", "status", "sticker_count",
    "is_complete", "cover_sticker_id", "cover_url", "api_url", "web_url", "whatsapp", "tags", "is_nsfw",
    "engagement", "signals", "created_at", "updated_at",
}  # fmt: skip
SIGNAL_FIELDS = {
    "ranking_score", "pack_score", "trend_score", "quality_score", "engagement_score", "diversity_score",
    "cohesion_score", "nsfw_level", "sensitive_content", "trending_now",
}  # fmt: skip


def ranked_packs(n: int) -> list[StickerPack]:
    """n listed packs with distinct likes, so ranking order is known: most likes first."""
    return [make_pack(items=1, engagement={"like_count": 2 * i}) for i in range(n)]


def keys(response) -> list[str]:
    return [p["pack_key"] for p in response.json()["data"]]


def test_list_shape_and_envelope(api, settings):
    settings.WHATSAPP_BOT_PHONE = "5511999990000"
    pack = make_pack(items=2, tags=["cats"], engagement={"like_count": 3, "dislike_count": 1, "open_count": 9})
    response = api.get("/api/sticker-packs")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "pagination", "filters"}
    assert body["pagination"] == {"limit": 24, "offset": 0, "has_more": False, "next_offset": None, "next_cursor": None}
    (summary,) = body["data"]
    assert SUMMARY_FIELDS <= set(summary)
    assert SIGNAL_FIELDS == set(summary["signals"])
    assert summary["pack_key"] == pack.pack_key
    assert summary["sticker_count"] == 2 and summary["is_complete"] is False
    assert summary["engagement"]["score"] == 2
    assert summary["api_url"] == f"/api/sticker-packs/{pack.pack_key}"
    assert summary["cover_url"].endswith(f"/stickers/{summary['cover_sticker_id']}.webp")
    assert summary["whatsapp"]["text"] == f"/pack send {pack.pack_key}"
    assert summary["whatsapp"]["url"].startswith("https://wa.me/5511999990000?text=")
    assert summary["tags"] == ["cats"]
    assert response["X-Request-Id"]


def test_ranking_order_is_global_across_offset_and_cursor_pages(api):
    packs = ranked_packs(17)
    expected = [p.pack_key for p in reversed(packs)]
    by_offset, offset = [], 0
    while True:
        body = api.get(f"/api/sticker-packs?limit=5&offset={offset}").json()
        by_offset += [p["pack_key"] for p in body["data"]]
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_offset"] is None
            break
        assert isinstance(body["pagination"]["next_offset"], int)
        offset = body["pagination"]["next_offset"]
    by_cursor, url = [], "/api/sticker-packs?limit=5"
    while url:
        body = api.get(url).json()
        by_cursor += [p["pack_key"] for p in body["data"]]
        cursor = body["pagination"]["next_cursor"]
        url = f"/api/sticker-packs?limit=5&cursor={cursor}" if cursor else None
    assert by_offset == expected
    assert by_cursor == expected


def test_cursor_page_two_continues_page_one_while_scores_change(api):
    packs = ranked_packs(12)
    first = api.get("/api/sticker-packs?limit=4").json()
    page_one = keys_of = [p["pack_key"] for p in first["data"]]
    # Scores change between the two requests: a newcomer jumps to the top, a page-one pack
    # climbs further, and the packs below the cursor reshuffle among themselves.
    newcomer = make_pack(items=1, engagement={"like_count": 10_000})
    top = StickerPack.objects.get(pack_key=page_one[1])
    PackEngagement.objects.filter(pack=top).update(like_count=5000)
    tail = packs[:8]
    for i, pack in enumerate(tail):
        PackEngagement.objects.filter(pack=pack).update(like_count=i % 3 + 1)
    snapshot_refresh([p.id for p in packs])
    rest, cursor = [], first["pagination"]["next_cursor"]
    while cursor:
        body = api.get(f"/api/sticker-packs?limit=4&cursor={cursor}").json()
        rest += [p["pack_key"] for p in body["data"]]
        cursor = body["pagination"]["next_cursor"]
    assert newcomer.pack_key not in rest
    assert not set(rest) & set(keys_of), "no page-one pack is repeated"
    assert sorted(page_one + rest) == sorted(p.pack_key for p in packs), "no pack is skipped"
    # ...and page two follows the new global order of what is left.
    current = [s.pack.pack_key for s in PackScoreSnapshot.objects.order_by("-ranking_score", "-pack_id")]
    assert rest == [k for k in current if k in rest]


@pytest.mark.parametrize(
    ("sort", "column"),
    [
        ("ranking", "-ranking_score"),
        ("popular", "-ranking_score"),
        ("trending", "-trend_score"),
        ("recent", "-published_at"),
        ("new", "-published_at"),
        ("likes", "-like_count"),
        ("liked", "-like_count"),
        ("comments", "-like_count"),
        ("downloads", "-download_count"),
    ],
)
def test_sorts_and_aliases(api, sort, column):
    for i in range(6):
        make_pack(items=1, published_at=timezone.now() - timezone.timedelta(hours=i),
                  engagement={"like_count": (i * 7) % 5, "download_count": (i * 3) % 4, "open_count": i})  # fmt: skip
    expected = [s.pack.pack_key for s in PackScoreSnapshot.objects.order_by(column, "-pack_id")]
    assert keys(api.get(f"/api/sticker-packs?sort={sort}")) == expected


def test_bad_parameters_are_400_with_a_code(api):
    for query in ("sort=best", "limit=abc", "offset=-1", "cursor=%%%", "limit=0"):
        response = api.get(f"/api/sticker-packs?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "INVALID_INPUT"
    assert api.get("/api/sticker-packs?limit=500").json()["pagination"]["limit"] == 60


def test_search_and_categories(api):
    cats = make_pack(items=1, name="Grumpy Cats", tags=["cats", "funny"])
    dogs = make_pack(items=1, name="Good Dogs", tags=["dogs"], description="loyal friends")
    make_pack(items=1, name="Other", tags=["catsup"])
    assert keys(api.get("/api/sticker-packs?q=grumpy")) == [cats.pack_key]
    assert keys(api.get("/api/sticker-packs?q=loyal")) == [dogs.pack_key]
    assert set(keys(api.get("/api/sticker-packs?categories=cats,dogs"))) == {cats.pack_key, dogs.pack_key}
    assert keys(api.get("/api/sticker-packs?categories=funny")) == [cats.pack_key]


def test_list_runs_a_fixed_number_of_queries(api):
    for _ in range(30):
        make_pack(items=1)
    api.get("/api/sticker-packs")  # warms the per-process flag cache
    counts = {}
    for limit in (5, 30):
        with CaptureQueriesContext(connection) as ctx:
            assert len(api.get(f"/api/sticker-packs?limit={limit}").json()["data"]) == limit
        counts[limit] = len(ctx.captured_queries)
    assert counts[5] == counts[30] <= 3


def test_unlisted_private_and_draft_visibility(api, user, other_user):
    public = make_pack(items=1, owner=user)
    unlisted = make_pack(items=1, owner=user, visibility="unlisted")
    private = make_pack(items=1, owner=user, visibility="private")
    draft = make_pack(items=1, owner=user, status="draft")
    for client in (api, client_for(user), client_for(other_user)):
        assert keys(client.get("/api/sticker-packs")) == [public.pack_key]
    assert api.get("/api/sticker-packs/stats").json()["data"]["packs_total"] == 1
    creators = api.get("/api/sticker-packs/creators").json()["data"]
    assert [c["stats"]["packs_count"] for c in creators] == [1]
    assert api.get(f"/api/sticker-packs/{unlisted.pack_key}").status_code == 200
    for hidden in (private, draft):
        for client in (api, client_for(other_user)):
            response = client.get(f"/api/sticker-packs/{hidden.pack_key}")
            assert response.status_code == 404 and response.json()["code"] == "PACK_NOT_FOUND"
        assert client_for(user).get(f"/api/sticker-packs/{hidden.pack_key}").status_code == 200


def test_nsfw_never_reaches_anonymous_viewers(api, user):
    safe = make_pack(items=1)
    marked = make_pack(items=2, is_sensitive=True)
    flagged = make_pack(items=2, nsfw_items=1)
    assert keys(api.get("/api/sticker-packs?include_sensitive=true")) == [safe.pack_key]
    member = client_for(user)
    assert keys(member.get("/api/sticker-packs")) == [safe.pack_key]
    assert set(keys(member.get("/api/sticker-packs?include_sensitive=1"))) == {
        safe.pack_key, marked.pack_key, flagged.pack_key,
    }  # fmt: skip
    detail = api.get(f"/api/sticker-packs/{flagged.pack_key}").json()["data"]
    assert detail["is_nsfw"] is True and detail["cover_url"] is None
    nsfw_item = next(i for i in detail["items"] if i["is_nsfw"])
    assert nsfw_item["asset_url"] is None
    url = f"/api/sticker-packs/{flagged.pack_key}/stickers/{nsfw_item['sticker_id']}"
    denied = api.get(url)
    assert denied.status_code == 403 and denied.json()["code"] == "NOT_ALLOWED"
    allowed = member.get(url)
    assert allowed.status_code == 200
    assert allowed["Cache-Control"].startswith("private")
    member_detail = member.get(f"/api/sticker-packs/{flagged.pack_key}").json()["data"]
    assert all(i["asset_url"] for i in member_detail["items"])


def test_sticker_bytes_etag_and_cache_headers(api):
    pack = make_pack(items=1, classified=True)
    item = pack.items.get()
    for suffix in ("", ".webp"):
        response = api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/{item.asset_id}{suffix}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/webp"
        assert response["Cache-Control"] == "public, max-age=86400, immutable"
        body = b"".join(response.streaming_content)
        assert body[:4] == b"RIFF" and len(body) == item.asset.size_bytes
        etag = response["ETag"]
        assert etag == f'"{item.asset.sha256}"'
    cached = api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/{item.asset_id}", HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304 and cached["ETag"] == etag
    other = make_pack(items=1)
    foreign = other.items.get().asset_id
    missing = api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/{foreign}")
    assert missing.status_code == 404 and missing.json()["code"] == "STICKER_NOT_FOUND"


@pytest.mark.parametrize(
    "pack_fields",
    [
        {"classified": False},  # not classified yet: it may still turn out NSFW
        {"classified": True, "is_sensitive": True},  # a sensitive pack: the owner's mark
        {"classified": True, "moderation_sensitive": True},  # ... or staff's
        {"classified": True, "visibility": "unlisted"},
    ],
)
def test_only_stickers_classified_safe_in_listed_non_sensitive_packs_are_cached_publicly(api, user, pack_fields):
    pack = make_pack(items=1, owner=user, **pack_fields)
    response = client_for(user).get(f"/api/sticker-packs/{pack.pack_key}/stickers/{pack.items.get().asset_id}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=60"  # never public, never immutable


def test_a_snapshot_that_found_sensitive_content_keeps_safe_stickers_private(api):
    pack = make_pack(items=2, nsfw_items=1, classified=True)
    assert pack.snapshot.sensitive_content
    safe = pack.items.get(position=2)
    response = api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/{safe.asset_id}")
    assert response.status_code == 200 and response["Cache-Control"] == "private, max-age=60"


def test_anonymous_details_are_short_lived_downstream(api, settings):
    settings.API_ANONYMOUS_CACHE_SECONDS = 5
    pack = make_pack(items=1)
    response = api.get(f"/api/sticker-packs/{pack.pack_key}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=30, stale-while-revalidate=30"
    settings.API_ANONYMOUS_DOWNSTREAM_SECONDS = 10
    assert api.get(f"/api/sticker-packs/{pack.pack_key}")["Cache-Control"].startswith("public, max-age=10,")


def test_unlisted_stickers_are_not_publicly_cacheable(api):
    pack = make_pack(items=1, visibility="unlisted")
    response = api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/{pack.items.get().asset_id}")
    assert response.status_code == 200 and response["Cache-Control"].startswith("private")


def test_detail_shape(api):
    pack = make_pack(items=3, nsfw_items=0)
    data = api.get(f"/api/sticker-packs/{pack.pack_key}").json()["data"]
    assert SUMMARY_FIELDS <= set(data)
    assert [i["position"] for i in data["items"]] == [1, 2, 3]
    item = data["items"][0]
    assert {"id", "sticker_id", "position", "emojis", "accessibility_label", "created_at", "asset_url", "tags",
            "is_nsfw", "asset"} <= set(item)  # fmt: skip
    assert set(item["asset"]) == {"id", "mimetype", "is_animated", "width", "height", "size_bytes", "classification"}
    assert item["asset"]["id"] == item["sticker_id"]


def test_stale_detail_is_computed_live_and_queues_a_refresh(api, settings, django_capture_on_commit_callbacks):
    pack = make_pack(items=2, engagement={"like_count": 10})
    snapshot = PackScoreSnapshot.objects.get(pack=pack)
    fresh = api.get(f"/api/sticker-packs/{pack.pack_key}").json()["data"]["signals"]
    assert fresh["ranking_score"] == pytest.approx(snapshot.ranking_score)
    assert not WorkerTask.objects.filter(task_type="refresh_pack_snapshots").exists()
    PackEngagement.objects.filter(pack=pack).update(like_count=40)
    PackScoreSnapshot.objects.filter(pack=pack).update(refreshed_at=timezone.now() - timezone.timedelta(hours=1))
    settings.SNAPSHOT_MAX_STALENESS_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True):
        live = api.get(f"/api/sticker-packs/{pack.pack_key}").json()["data"]["signals"]
    assert live["engagement_score"] == pytest.approx(0.8)
    assert WorkerTask.objects.filter(task_type="refresh_pack_snapshots", payload={"pack_ids": [pack.id]}).exists()


def test_snapshot_read_flag_off_computes_live_with_the_same_numbers(api):
    make_pack(items=2, tags=["x"], engagement={"like_count": 7, "open_count": 30})
    on = api.get("/api/sticker-packs").json()["data"][0]["signals"]
    with override_flag("enable_ranking_snapshot_read", False):
        off = api.get("/api/sticker-packs").json()["data"][0]["signals"]
    assert off["nsfw_level"] == on["nsfw_level"]
    for name in ("pack_score", "quality_score", "engagement_score", "diversity_score", "cohesion_score"):
        assert off[name] == pytest.approx(on[name]), name
    assert off["ranking_score"] == pytest.approx(on["ranking_score"], abs=1e-6)


def test_request_id_header(api):
    assert api.get("/api/sticker-packs", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    replaced = api.get("/api/sticker-packs", HTTP_X_REQUEST_ID="bad id <script>")["X-Request-Id"]
    assert replaced != "bad id <script>" and len(replaced) == 36


def test_json_errors_for_404_405_413(api, owner_api, settings):
    missing = api.get("/api/does-not-exist")
    assert missing.status_code == 404 and missing.json() == {"error": "not found", "code": "NOT_FOUND"}
    assert api.get("/api/sticker-packs/nope").json()["code"] == "PACK_NOT_FOUND"
    put = owner_api.put("/api/sticker-packs", {}, format="json")
    assert put.status_code == 405 and put.json()["code"] == "METHOD_NOT_ALLOWED"
    anonymous_write = api.put("/api/sticker-packs", {}, format="json")  # any write needs a login first
    assert anonymous_write.status_code == 401 and anonymous_write.json()["code"] == "NOT_AUTHENTICATED"
    settings.REQUEST_BODY_MAX_BYTES = 1000
    big = api.post("/api/sticker-packs", {"name": "x" * 5000}, format="json")
    assert big.status_code == 413 and big.json()["code"] == "FILE_TOO_LARGE"


def test_support_link(api, settings):
    assert api.get("/api/sticker-packs/support").status_code == 404
    settings.SUPPORT_WHATSAPP_PHONE = "5511988887777"
    data = api.get("/api/sticker-packs/support").json()["data"]
    assert data["phone"] == "5511988887777" and data["url"].startswith("https://wa.me/5511988887777?text=")


def test_anonymous_reads_are_served_from_a_short_cache(api, user, settings):
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    pack = make_pack(items=1, name="Before")
    first = api.get("/api/sticker-packs")
    assert first["X-Cache"] == "miss" and first["Cache-Control"] == "public, max-age=30, stale-while-revalidate=30"
    StickerPack.objects.filter(pk=pack.pk).update(name="After")
    with CaptureQueriesContext(connection) as ctx:
        cached = api.get("/api/sticker-packs")
    assert cached["X-Cache"] == "hit" and len(ctx.captured_queries) == 0
    assert cached.json()["data"][0]["name"] == "Before" and cached["X-Request-Id"]
    # A logged-in viewer is never served from (nor stored in) the anonymous cache.
    member = client_for(user).get("/api/sticker-packs")
    assert "X-Cache" not in member and member.json()["data"][0]["name"] == "After"
    # Errors are not cached; another query string is another entry.
    assert api.get("/api/sticker-packs?sort=bad").status_code == 400
    assert api.get("/api/sticker-packs?sort=bad")["X-Cache"] == "miss"
    assert api.get("/api/sticker-packs?limit=5").json()["data"][0]["name"] == "After"


def test_cached_anonymous_detail_is_invalidated_by_changes(api, user, settings, django_capture_on_commit_callbacks):
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS = 300
    pack = make_pack(items=1, owner=user, name="Before")
    url = f"/api/sticker-packs/{pack.pack_key}"
    assert api.get(url)["X-Cache"] == "miss"
    assert api.get(url)["X-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        client_for(user).patch(url, {"name": "After"}, format="json")
    fresh = api.get(url)
    assert fresh["X-Cache"] == "miss" and fresh.json()["data"]["name"] == "After"
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{url}/like")
    liked = api.get(url)
    assert liked["X-Cache"] == "miss" and liked.json()["data"]["engagement"]["like_count"] == 1
    assert api.get(url)["X-Cache"] == "hit"


def test_a_per_process_copy_spares_the_shared_cache(api, settings, monkeypatch):
    from django.core.cache import cache, caches

    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_LOCAL_SECONDS = 60
    pack = make_pack(items=1, name="Before")
    url = f"/api/sticker-packs/{pack.pack_key}"
    assert api.get(url)["X-Cache"] == "miss"
    shared_reads = []
    real_get_many = cache.get_many
    monkeypatch.setattr(
        cache, "get_many", lambda keys, **k: shared_reads.append(list(keys)) or real_get_many(keys, **k)
    )
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url)["X-Cache"] == "hit"
        assert api.get("/api/sticker-packs")["X-Cache"] == "miss"
        assert api.get("/api/sticker-packs")["X-Cache"] == "hit"
    assert len(shared_reads) == 1 and shared_reads[0][0].startswith("catalog:anon:")  # the list's one miss
    assert 1 <= len(ctx.captured_queries) <= 2  # the one list miss (its page, and covers)
    caches["local"].clear()  # the local copies expire...
    assert api.get(url)["X-Cache"] == "hit"  # ...and the shared cache still has the detail
