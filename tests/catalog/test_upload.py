"""Uploads through the API (SPEC §2.1): every accepted format, every rejection with its code and
nothing left behind, idempotency, global dedupe, and the 30-item limit under concurrency."""

import io
import os
import time
from functools import partial

import pytest
from django.conf import settings
from PIL import Image

from catalog.models import StickerAsset, StickerPack, StickerPackItem
from catalog.services import assets
from outbox.models import DomainEvent
from tests.catalog.conftest import client_for, make_pack
from tests.catalog.test_images import animation, encode, huge_blank_png, noisy, scene, tiny_frames_gif, transparent_png
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


def upload(client, pack, data: bytes, name="sticker.png", **fields):
    file = io.BytesIO(data)
    file.name = name
    return client.post(f"/api/sticker-packs/{pack.pack_key}/stickers", {"file": file, **fields}, format="multipart")


def stored_files() -> list:
    root = settings.MEDIA_ROOT / "stickers"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def draft(user):
    return make_pack(owner=user, items=0, status="draft", refresh=False)


ACCEPTED = {
    "png": (lambda: transparent_png(), False),
    "jpeg": (lambda: encode(scene(), "JPEG", quality=90), False),
    "webp": (lambda: encode(scene(variant=1), "WEBP"), False),
    "gif": (lambda: encode(scene().convert("P"), "GIF"), False),
    "animated-gif": (lambda: animation("GIF", [100, 200, 300]), True),
    "animated-webp": (lambda: animation("WEBP", [120, 240]), True),
}


@pytest.mark.parametrize("kind", ACCEPTED)
def test_each_accepted_format_becomes_a_512_webp_sticker(owner_api, draft, kind):
    build, animated = ACCEPTED[kind]
    response = upload(owner_api, draft, build(), emojis="😀 🎉", accessibility_label="a label", upload_id=f"u-{kind}")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["position"] == 1 and data["emojis"] == ["😀", "🎉"] and data["accessibility_label"] == "a label"
    assert data["asset"]["mimetype"] == "image/webp"
    assert (data["asset"]["width"], data["asset"]["height"]) == (512, 512)
    assert data["asset"]["is_animated"] is animated
    asset = StickerAsset.objects.get(pk=data["sticker_id"])
    [path] = stored_files()
    with Image.open(path) as image:
        assert image.format == "WEBP" and image.size == (512, 512)
        assert getattr(image, "is_animated", False) is animated
    assert path.stat().st_size == asset.size_bytes and len(asset.perceptual_hash) == 16
    draft.refresh_from_db()
    assert draft.version == 2 and draft.cover_id == asset.id
    events = set(DomainEvent.objects.values_list("event_type", flat=True))
    assert events == {"STICKER_ASSET_CREATED", "PACK_UPDATED"}


REJECTED = {
    "text-renamed-png": (lambda: b"hello, I am plain text\n" * 50, 415, "UNSUPPORTED_MEDIA"),
    "truncated-png": (lambda: encode(noisy(), "PNG")[:20000], 422, "INVALID_IMAGE"),
    "20000x20000": (lambda: huge_blank_png(20_000, 20_000), 422, "IMAGE_TOO_LARGE"),
    "gif-10000-frames": (lambda: tiny_frames_gif(10_000), 422, "TOO_MANY_FRAMES"),
    "empty": (lambda: b"", 400, "EMPTY_FILE"),
}


@pytest.mark.parametrize("kind", REJECTED)
def test_rejections_have_a_code_and_leave_nothing_behind(owner_api, draft, kind):
    build, status, code = REJECTED[kind]
    response = upload(owner_api, draft, build())
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code and response.json()["error"]
    assert_nothing_written(draft)


def assert_nothing_written(pack):
    assert not StickerAsset.objects.exists()
    assert not StickerPackItem.objects.exists()
    assert not DomainEvent.objects.exists()
    assert stored_files() == []
    pack.refresh_from_db()
    assert pack.version == 1


def test_a_30_mib_file_is_413_before_the_body_is_read(owner_api, draft):
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (30 * 1024 * 1024)
    response = upload(owner_api, draft, data)
    assert response.status_code == 413 and response.json()["code"] == "FILE_TOO_LARGE"
    assert_nothing_written(draft)


def test_a_file_over_the_source_limit_is_413(owner_api, draft, settings):
    settings.STICKER_UPLOAD_SOURCE_MAX_BYTES = 10_000
    response = upload(owner_api, draft, encode(noisy(), "PNG"))
    assert response.status_code == 413 and response.json()["code"] == "FILE_TOO_LARGE"
    assert_nothing_written(draft)


def test_missing_file_and_wrong_users(api, owner_api, other_api, draft):
    no_file = owner_api.post(f"/api/sticker-packs/{draft.pack_key}/stickers", {}, format="multipart")
    assert no_file.status_code == 400 and no_file.json()["code"] == "INVALID_INPUT"
    assert upload(api, draft, transparent_png()).status_code == 401
    assert upload(other_api, draft, transparent_png()).status_code == 404  # a draft is not visible to others
    assert_nothing_written(draft)


def test_same_image_or_upload_id_twice_returns_the_existing_item(owner_api, draft):
    data = transparent_png()
    first = upload(owner_api, draft, data, upload_id="abc")
    again = upload(owner_api, draft, data)
    retry = upload(owner_api, draft, encode(scene(), "PNG"), upload_id="abc")
    assert first.status_code == 201 and again.status_code == 200 and retry.status_code == 200
    assert again.json()["data"]["id"] == retry.json()["data"]["id"] == first.json()["data"]["id"]
    assert StickerPackItem.objects.count() == 1 and len(stored_files()) == 1


def test_bytes_are_deduplicated_globally(user, owner_api):
    a = make_pack(owner=user, items=0, status="draft", refresh=False)
    b = make_pack(owner=user, items=0, status="draft", refresh=False)
    data = transparent_png()
    ids = {upload(owner_api, pack, data).json()["data"]["sticker_id"] for pack in (a, b)}
    assert len(ids) == 1 and StickerAsset.objects.count() == 1 and StickerPackItem.objects.count() == 2
    assert DomainEvent.objects.filter(event_type="STICKER_ASSET_CREATED").count() == 1


def test_a_full_pack_refuses_more(owner_api, user, settings):
    pack = make_pack(owner=user, items=30, status="draft", refresh=False)
    response = upload(owner_api, pack, transparent_png())
    assert response.status_code == 409 and response.json()["code"] == "PACK_FULL"
    assert StickerPackItem.objects.filter(pack=pack).count() == 30


def test_uploads_are_throttled_per_user(owner_api, draft, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"upload": "2/min"})
    cache.clear()
    statuses = [upload(owner_api, draft, encode(scene(variant=i % 2, size=(300 + i, 300)), "PNG")).status_code
                for i in range(3)]  # fmt: skip
    cache.clear()
    assert statuses == [201, 201, 429]


@pytest.mark.django_db(transaction=True)
def test_40_concurrent_uploads_into_one_pack_make_exactly_30_items(user):
    pack = StickerPack.objects.create(pack_key="race", name="race", owner=user)
    images = [encode(scene(size=(200 + i, 150), variant=i % 2), "PNG") for i in range(40)]

    def send(data):
        return upload(client_for(user), pack, data).status_code

    statuses = run_together([partial(send, data) for data in images])
    assert statuses.count(201) == 30, statuses
    assert statuses.count(409) == 10
    positions = list(StickerPackItem.objects.filter(pack=pack).order_by("position").values_list("position", flat=True))
    assert positions == list(range(1, 31))
    # The 10 refused uploads left no asset rows behind; the bytes they wrote (never deleted inline)
    # go with the orphan-bytes pruner once past its grace period.
    assert StickerAsset.objects.count() == 30
    past_grace = time.time() - settings.ORPHAN_BYTES_GRACE_SECONDS - 60
    for path in stored_files():
        os.utime(path, (past_grace, past_grace))
    assets.asset_bytes_prune()
    assert len(stored_files()) == 30


def test_every_accepted_uploads_stored_bytes_meet_whatsapps_limits(owner_api, user):
    from catalog.services.images import whatsapp_violations
    from tests.catalog.test_images import WHATSAPP_CASES

    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    accepted = 0
    for case, build in WHATSAPP_CASES.items():
        response = upload(owner_api, pack, build())
        if response.status_code == 422:
            assert response.json()["code"] == "IMAGE_TOO_COMPLEX", case
            continue
        assert response.status_code == 201, (case, response.content)
        accepted += 1
    assert accepted >= 4
    files = stored_files()
    assert len(files) == accepted
    for path in files:
        assert whatsapp_violations(path.read_bytes()) == [], path


def test_a_conversion_over_its_wall_clock_budget_is_422_and_leaves_nothing(owner_api, user, settings):
    settings.STICKER_UPLOAD_CONVERT_MAX_SECONDS = 1e-9
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    response = upload(owner_api, pack, animation("GIF", [100, 100, 100]), name="a.gif")
    assert response.status_code == 422 and response.json()["code"] == "IMAGE_TOO_COMPLEX"
    assert stored_files() == [] and pack.items.count() == 0


def test_orphan_bytes_are_pruned_after_the_grace_period_only(settings, user):
    from django.core.files.storage import default_storage

    from workers.services import history_prune

    settings.ORPHAN_BYTES_GRACE_SECONDS = 3600
    pack = make_pack(owner=user, items=0)
    assert upload(client_for(user), pack, transparent_png()).status_code == 201
    used = StickerAsset.objects.get().storage_key
    old_orphan = assets.asset_storage_key("ab" + "0" * 62)  # bytes a failed upload left behind
    fresh_orphan = assets.asset_storage_key("cd" + "0" * 62)  # an upload still in flight
    assert assets.asset_bytes_store(old_orphan, b"left over") and assets.asset_bytes_store(fresh_orphan, b"in flight")
    two_hours_ago = time.time() - 7200
    for key in (used, old_orphan):
        os.utime(default_storage.path(key), (two_hours_ago, two_hours_ago))

    assert history_prune()["orphan_bytes"] == 1
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(fresh_orphan) and default_storage.exists(used)
    settings.ORPHAN_BYTES_GRACE_SECONDS = 0  # never
    os.utime(default_storage.path(fresh_orphan), (two_hours_ago, two_hours_ago))
    assert history_prune()["orphan_bytes"] == 0 and default_storage.exists(fresh_orphan)
