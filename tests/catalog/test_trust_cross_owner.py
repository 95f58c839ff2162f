"""One user cannot touch another's pack through a shared image (issue 19, first finding).

Bob uploads the very image that is a sticker in Alice's public pack, with suggestive emojis and
tags, marks his pack sensitive and publishes it; after classification and snapshot refreshes,
Alice's pack is exactly as it was: its snapshot, its place in the anonymous list, its bytes.
And Bob's upload answer does not tell him that someone already had that image.
"""

import io

import pytest

from catalog.models import StickerPack
from catalog.services import classification
from catalog.services.snapshots import snapshot_sweep
from tests.catalog.conftest import client_for
from tests.catalog.test_images import transparent_png

pytestmark = pytest.mark.django_db


def upload(client, pack_key: str, data: bytes, **fields):
    file = io.BytesIO(data)
    file.name = "sticker.png"
    return client.post(f"/api/sticker-packs/{pack_key}/stickers", {"file": file, **fields}, format="multipart")


def create_pack(client, **fields) -> str:
    response = client.post("/api/sticker-packs", fields, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]["pack_key"]


def settle():
    """What the workers would do next: classify what needs it, refresh every snapshot."""
    classification.classification_cycle(batch_size=50, concurrency=1)
    snapshot_sweep()


def anonymous_view(api, pack_key: str, sticker_id: int) -> dict:
    detail = api.get(f"/api/sticker-packs/{pack_key}").json()["data"]
    listed = [p["pack_key"] for p in api.get("/api/sticker-packs").json()["data"]]
    sticker = api.get(f"/api/sticker-packs/{pack_key}/stickers/{sticker_id}")
    return {
        "nsfw_level": detail["signals"]["nsfw_level"],
        "sensitive_content": detail["signals"]["sensitive_content"],
        "is_nsfw": detail["is_nsfw"],
        "items": [(i["sticker_id"], i["is_nsfw"], i["asset_url"], i["tags"], i["asset"]["classification"]) for i in detail["items"]],
        "tags": detail["tags"],
        "listed": pack_key in listed,
        "sticker_status": sticker.status_code,
    }  # fmt: skip


def classified(view: dict) -> dict:
    """The view without the moments of classification (a reclassification moves those)."""
    items = [
        (
            sid,
            nsfw,
            url,
            tags,
            {k: v for k, v in (c or {}).items() if k not in ("classified_at", "classification_version")},
        )
        for sid, nsfw, url, tags, c in view["items"]
    ]
    return {**view, "items": items}


def test_bobs_copy_of_alices_image_changes_nothing_in_alices_pack(api, user, other_user, settings):
    alice, bob = client_for(user), client_for(other_user)
    image = transparent_png()
    alices = create_pack(alice, name="Alice's shapes", tags=["shapes"])
    sticker_id = upload(alice, alices, image, emojis="🔷").json()["data"]["sticker_id"]
    assert alice.post(f"/api/sticker-packs/{alices}/publish").status_code == 200

    # Before any classification runs, Bob holds the same image with every hint he can give.
    bobs = create_pack(bob, name="Bob's", tags=["nsfw", "explicit", "adult"])
    answer = upload(bob, bobs, image, emojis="🍆 🍑 💦")
    assert bob.patch(f"/api/sticker-packs/{bobs}", {"is_sensitive": True}, format="json").status_code == 200
    assert bob.post(f"/api/sticker-packs/{bobs}/publish").status_code == 200
    settle()

    seen = anonymous_view(api, alices, sticker_id)
    assert seen["listed"] and seen["sticker_status"] == 200
    assert (seen["nsfw_level"], seen["sensitive_content"], seen["is_nsfw"]) == ("safe", False, False)
    [(_, item_nsfw, asset_url, tags, alices_classification)] = seen["items"]
    assert item_nsfw is False and asset_url and alices_classification["is_nsfw"] is False
    assert alices_classification["nsfw_score"] < 0.4 and "food" not in tags
    # Bob changes his pack again and every sticker is classified anew: Alice's pack stays put.
    bob.patch(f"/api/sticker-packs/{bobs}", {"tags": ["food", "eggplant"], "name": "Bob's again"}, format="json")
    upload(bob, bobs, transparent_png(size=(200, 200)), emojis="🍆")
    settings.CLASSIFIER_VERSION_SUFFIX = "-again"
    settle()
    assert classified(anonymous_view(api, alices, sticker_id)) == classified(seen)
    # Bob's own pack carries his mark; Alice's sticker is not reachable through it.
    bob_pack = StickerPack.objects.get(pack_key=bobs)
    assert bob_pack.snapshot.sensitive_content is True
    assert api.get(f"/api/sticker-packs/{bobs}/stickers/{sticker_id}").status_code == 404
    # The upload answer looks like any first upload: a sticker of Bob's own, not Alice's.
    assert answer.status_code == 201 and answer.json()["created"] is True
    assert answer.json()["data"]["sticker_id"] != sticker_id
    assert answer.json()["data"]["asset"]["classification"] is None


def test_an_upload_answer_is_the_same_whether_or_not_someone_else_has_the_image(user, other_user):
    alice, bob = client_for(user), client_for(other_user)
    image = transparent_png(size=(320, 160))
    alices = create_pack(alice, name="Alice's private", visibility="private")
    upload(alice, alices, image)
    classification.classification_cycle(batch_size=50, concurrency=1)
    bobs = create_pack(bob, name="Bob's")
    held = upload(bob, bobs, image).json()
    fresh = upload(bob, bobs, transparent_png(size=(330, 170))).json()
    assert held["created"] is fresh["created"] is True
    assert set(held["data"]) == set(fresh["data"])
    assert held["data"]["asset"]["classification"] is None and fresh["data"]["asset"]["classification"] is None
    # Ids are allocated in upload order: the held image got a new one, after Alice's.
    alices_id = client_for(user).get(f"/api/sticker-packs/{alices}").json()["data"]["items"][0]["sticker_id"]
    assert alices_id < held["data"]["sticker_id"] < fresh["data"]["sticker_id"]


def test_pack_hints_shape_only_that_packs_own_snapshot(user, other_user):
    """Bob's sensitive mark makes Bob's pack suggestive; the same image in Alice's pack stays safe."""
    alice, bob = client_for(user), client_for(other_user)
    image = transparent_png(size=(280, 140))
    alices, bobs = create_pack(alice, name="A"), create_pack(bob, name="B", tags=["spicy"])
    upload(alice, alices, image)
    upload(bob, bobs, image, emojis="🍆")
    bob.patch(f"/api/sticker-packs/{bobs}", {"is_sensitive": True}, format="json")
    for client, key in ((alice, alices), (bob, bobs)):
        client.post(f"/api/sticker-packs/{key}/publish")
    settle()
    levels = {key: StickerPack.objects.get(pack_key=key).snapshot.nsfw_level for key in (alices, bobs)}
    assert levels == {alices: "safe", bobs: "suggestive"}
