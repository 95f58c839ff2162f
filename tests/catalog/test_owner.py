"""Owner endpoints (SPEC §3): token auth, me, create/edit/delete, publish, remove sticker."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import PackScoreSnapshot, StickerPack, StickerPackItem
from catalog.services.snapshots import snapshot_refresh
from outbox.models import DomainEvent
from tests.catalog.conftest import client_for, dispatch_all_events, make_pack
from workers.models import WorkerTask

pytestmark = pytest.mark.django_db


def test_token_auth(user):
    client = APIClient()
    bad = client.post("/api/auth/token", {"username": "alice", "password": "wrong"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CREDENTIALS"
    missing = client.post("/api/auth/token", {}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "INVALID_INPUT"
    token = client.post("/api/auth/token", {"username": "alice", "password": "alice-password-123"}, format="json")
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get("/api/sticker-packs/me").status_code == 200


def test_banned_user_cannot_get_a_token(user):
    user.is_active = False
    user.save()
    response = APIClient().post("/api/auth/token", {"username": "alice", "password": "alice-password-123"})
    assert response.status_code in (400, 403)
    assert "token" not in response.json()


def test_owner_endpoints_need_a_login(api):
    me = api.get("/api/sticker-packs/me")
    assert me.status_code == 401 and me.json()["code"] == "NOT_AUTHENTICATED"
    assert api.post("/api/sticker-packs", {"name": "x"}, format="json").status_code == 401


def test_me_lists_own_packs_of_any_status(user, other_user):
    mine = [
        make_pack(owner=user, items=1),
        make_pack(owner=user, items=0, status="draft", refresh=False),
        make_pack(owner=user, items=1, visibility="private"),
        make_pack(owner=user, items=1, visibility="unlisted"),
    ]
    make_pack(owner=other_user, items=1)
    make_pack(owner=user, items=1, deleted_at="2026-01-01T00:00:00Z")
    body = client_for(user).get("/api/sticker-packs/me").json()["data"]
    assert {p["pack_key"] for p in body["packs"]} == {p.pack_key for p in mine}
    assert body["stats"] == {"total": 4, "published": 3, "drafts": 1, "private": 1, "unlisted": 1, "public": 2}


def test_create_edit_delete_cycle(owner_api, user):
    created = owner_api.post(
        "/api/sticker-packs",
        {"name": "My Cats", "description": "meow", "tags": ["Cats", "cute cats"], "visibility": "unlisted"},
        format="json",
    )
    assert created.status_code == 201
    data = created.json()["data"]
    assert data["status"] == "draft" and data["visibility"] == "unlisted" and data["publisher"] == "alice"
    assert data["tags"] == ["cats", "cute-cats"]
    assert data["pack_key"].startswith("my-cats-")
    pack = StickerPack.objects.get(pack_key=data["pack_key"])
    content_at = pack.content_updated_at
    edited = owner_api.patch(
        f"/api/sticker-packs/{pack.pack_key}", {"name": "My Cats 2", "is_sensitive": True}, format="json"
    )
    assert edited.status_code == 200
    assert edited.json()["data"]["name"] == "My Cats 2" and edited.json()["data"]["is_nsfw"] is True
    pack.refresh_from_db()
    assert pack.version == 2 and pack.is_sensitive
    assert pack.content_updated_at == content_at, "a metadata edit does not reset the ranking age"
    keys = list(DomainEvent.objects.filter(event_type="PACK_UPDATED").values_list("idempotency_key", flat=True))
    assert keys == [f"pack:{pack.id}:v1", f"pack:{pack.id}:v2"]
    assert owner_api.delete(f"/api/sticker-packs/{pack.pack_key}").status_code == 204
    pack.refresh_from_db()
    assert pack.deleted_at is not None and pack.version == 3
    assert owner_api.get(f"/api/sticker-packs/{pack.pack_key}").status_code == 404


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({}, "name is required"),
        ({"name": "x" * 121}, "longer than 120"),
        ({"name": "ok", "description": "d" * 1025}, "longer than 1024"),
        ({"name": "ok", "tags": [f"t{i}" for i in range(9)]}, "at most 8 tags"),
        ({"name": "ok", "visibility": "secret"}, "visibility"),
        ({"name": "ok", "is_sensitive": "yes"}, "is_sensitive"),
        ({"name": "ok", "version": 9}, "read-only"),
    ],
)
def test_create_validation(owner_api, payload, fragment):
    response = owner_api.post("/api/sticker-packs", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT" and fragment in response.json()["error"]
    assert not StickerPack.objects.exists()


def test_per_owner_pack_limit(owner_api, settings):
    settings.STICKER_PACK_MAX_PACKS_PER_OWNER = 2
    assert [owner_api.post("/api/sticker-packs", {"name": f"p{i}"}, format="json").status_code for i in range(3)] == [
        201,
        201,
        409,
    ]
    assert owner_api.post("/api/sticker-packs", {"name": "p"}, format="json").json()["code"] == "PACK_LIMIT_REACHED"
    assert StickerPack.objects.count() == 2


def test_other_users_cannot_change_a_pack(user, other_api):
    public = make_pack(owner=user, items=1)
    private = make_pack(owner=user, items=1, visibility="private")
    refused = other_api.patch(f"/api/sticker-packs/{public.pack_key}", {"name": "mine now"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "NOT_ALLOWED"
    assert other_api.delete(f"/api/sticker-packs/{private.pack_key}").status_code == 404
    assert other_api.post(f"/api/sticker-packs/{public.pack_key}/publish").status_code == 403
    public.refresh_from_db()
    assert public.name != "mine now" and public.version == 1


def test_publish_queues_the_first_snapshot_at_once(owner_api, user, api, django_capture_on_commit_callbacks):
    empty = make_pack(owner=user, items=0, status="draft", refresh=False)
    refused = owner_api.post(f"/api/sticker-packs/{empty.pack_key}/publish")
    assert refused.status_code == 409 and refused.json()["code"] == "PACK_EMPTY"
    pack = make_pack(owner=user, items=2, status="draft", published_at=None)
    assert not PackScoreSnapshot.objects.filter(pack=pack).exists()
    response = owner_api.post(f"/api/sticker-packs/{pack.pack_key}/publish")
    assert response.status_code == 200 and response.json()["data"]["status"] == "published"
    dispatch_all_events()  # the outbox consumer: PACK_UPDATED says it is a publication
    task = WorkerTask.objects.get(task_type="refresh_pack_snapshots", payload={"pack_ids": [pack.id]})
    assert task.priority > 0 and task.available_at <= timezone.now()
    assert pack.pack_key not in [p["pack_key"] for p in api.get("/api/sticker-packs").json()["data"]]
    snapshot_refresh(task.payload["pack_ids"])  # what the worker runs
    assert pack.pack_key in [p["pack_key"] for p in api.get("/api/sticker-packs").json()["data"]]


def test_remove_sticker_keeps_positions_dense_and_fixes_the_cover(owner_api, user):
    pack = make_pack(owner=user, items=4)
    first_asset = pack.items.get(position=1).asset_id
    StickerPack.objects.filter(pk=pack.pk).update(cover_id=first_asset)
    response = owner_api.delete(f"/api/sticker-packs/{pack.pack_key}/stickers/{first_asset}")
    assert response.status_code == 204
    assert list(StickerPackItem.objects.filter(pack=pack).values_list("position", flat=True)) == [1, 2, 3]
    pack.refresh_from_db()
    assert pack.cover_id == pack.items.get(position=1).asset_id
    assert pack.version == 2
    missing = owner_api.delete(f"/api/sticker-packs/{pack.pack_key}/stickers/{first_asset}")
    assert missing.status_code == 404 and missing.json()["code"] == "STICKER_NOT_FOUND"


def test_move_sticker_shifts_the_others_and_keeps_item_ids(owner_api, other_api, user, settings):
    pack = make_pack(owner=user, items=settings.STICKER_PACK_MAX_ITEMS)  # full: no free position to park in
    before = list(pack.items.order_by("position").values_list("id", "asset_id"))
    version = pack.version
    url = f"/api/sticker-packs/{pack.pack_key}/stickers"

    down = owner_api.patch(f"{url}/{before[0][1]}", {"position": 4}, format="json")
    assert down.status_code == 200
    assert [i["sticker_id"] for i in down.json()["data"]["items"][:5]] == [
        before[1][1],
        before[2][1],
        before[3][1],
        before[0][1],
        before[4][1],
    ]
    up = owner_api.patch(f"{url}/{before[-1][1]}", {"position": 1}, format="json")
    assert up.status_code == 200
    after = list(pack.items.order_by("position").values_list("id", "asset_id"))
    assert after[0] == before[-1]  # the same item (id), now first
    assert sorted(after) == sorted(before)
    assert list(pack.items.order_by("position").values_list("position", flat=True)) == list(range(1, 31))
    pack.refresh_from_db()
    assert pack.version == version + 2  # each move is a change (events, caches)

    for body, code in [({"position": 0}, "INVALID_INPUT"), ({"position": 31}, "INVALID_INPUT"), ({}, "INVALID_INPUT")]:
        refused = owner_api.patch(f"{url}/{before[0][1]}", body, format="json")
        assert refused.status_code == 400 and refused.json()["code"] == code
    assert owner_api.patch(f"{url}/999999", {"position": 1}, format="json").json()["code"] == "STICKER_NOT_FOUND"
    assert other_api.patch(f"{url}/{before[0][1]}", {"position": 1}, format="json").status_code == 403
    assert APIClient().patch(f"{url}/{before[0][1]}", {"position": 1}, format="json").status_code == 401
