"""Catalog admin (SPEC §6): moderation actions through the services, thumbnails, bans."""

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from catalog.models import StickerPack
from outbox.models import DomainEvent
from tests.catalog.conftest import client_for, make_pack
from tests.catalog.test_images import transparent_png
from tests.catalog.test_upload import upload

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/stickerpack/"


def act(staff, action, packs, reason="checked by staff"):
    data = {"action": action, "_selected_action": [p.pk for p in packs], "reason": reason, "apply": "1"}
    return staff.post(CHANGELIST, data, follow=True)


def test_moderation_actions_go_through_the_services(staff, api):
    a, b = make_pack(items=1), make_pack(items=1)
    assert act(staff, "unpublish", [a]).status_code == 200
    a.refresh_from_db()
    assert a.status == "draft" and a.version == 2
    act(staff, "soft_delete", [b])
    b.refresh_from_db()
    assert b.deleted_at is not None and api.get(f"/api/sticker-packs/{b.pack_key}").status_code == 404
    act(staff, "restore", [b])
    b.refresh_from_db()
    assert b.deleted_at is None and b.version == 3
    act(staff, "mark_sensitive", [b])
    b.refresh_from_db()
    assert b.moderation_sensitive and api.get(f"/api/sticker-packs/{b.pack_key}").json()["data"]["cover_url"] is None
    keys = set(DomainEvent.objects.filter(event_type="PACK_UPDATED").values_list("idempotency_key", flat=True))
    assert {f"pack:{a.id}:v2", f"pack:{b.id}:v2", f"pack:{b.id}:v3", f"pack:{b.id}:v4"} <= keys


def test_bulk_delete_is_replaced_by_soft_delete(staff):
    make_pack(items=1)
    page = staff.get(CHANGELIST).content.decode()
    assert 'value="delete_selected"' not in page and 'value="soft_delete"' in page


def test_editing_a_pack_in_the_admin_bumps_its_version(staff):
    pack = make_pack(items=1)
    form = staff.get(f"{CHANGELIST}{pack.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("tags", "owner", "cover")}
    data.update(name="Renamed", tags="[]", owner=pack.owner_id, cover="")
    data.update({"items-TOTAL_FORMS": 1, "items-INITIAL_FORMS": 1, "items-MIN_NUM_FORMS": 0,
                 "items-MAX_NUM_FORMS": 1000, "items-0-id": pack.items.get().pk, "items-0-pack": pack.pk,
                 "moderation_changes-TOTAL_FORMS": 0, "moderation_changes-INITIAL_FORMS": 0,
                 "moderation_changes-MIN_NUM_FORMS": 0, "moderation_changes-MAX_NUM_FORMS": 1000})  # fmt: skip
    response = staff.post(f"{CHANGELIST}{pack.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    pack.refresh_from_db()
    assert pack.name == "Renamed" and pack.version == 2
    assert DomainEvent.objects.filter(idempotency_key=f"pack:{pack.id}:v2").exists()


def test_asset_list_shows_thumbnails_served_to_staff_only(staff, client):
    pack = make_pack(items=1, nsfw_items=1)
    asset = pack.items.get().asset
    page = staff.get("/admin/catalog/stickerasset/").content.decode()
    assert f"/admin/catalog/stickerasset/{asset.pk}/image/" in page
    image = staff.get(f"/admin/catalog/stickerasset/{asset.pk}/image/")
    assert image.status_code == 200 and b"".join(image.streaming_content)[:4] == b"RIFF"
    assert "nsfw" in staff.get(f"/admin/catalog/stickerasset/{asset.pk}/change/").content.decode()
    client.logout()
    assert client.get(f"/admin/catalog/stickerasset/{asset.pk}/image/").status_code == 302  # to the login


def test_a_banned_user_can_neither_log_in_nor_upload(staff, user):
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    api = client_for(user)
    assert upload(api, pack, transparent_png()).status_code == 201
    staff.post("/admin/auth/user/", {"action": "ban", "_selected_action": [user.pk]})
    user.refresh_from_db()
    assert not user.is_active
    assert upload(api, pack, transparent_png()).status_code == 401  # the token is gone
    token = APIClient().post("/api/auth/token", {"username": "alice", "password": "alice-password-123"})
    assert token.status_code in (400, 403) and "token" not in token.json()
    web = APIClient()
    # The login lockout (django-axes) authenticates with the request.
    assert not web.login(
        request=RequestFactory().post("/admin/login/"), username="alice", password="alice-password-123"
    )
    assert StickerPack.objects.get(pk=pack.pk).items.count() == 1


def test_the_delete_page_soft_deletes_through_the_service(staff, api):
    pack = make_pack(items=1)
    page = staff.get(f"{CHANGELIST}{pack.pk}/delete/")
    assert page.status_code == 200
    response = staff.post(f"{CHANGELIST}{pack.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    pack.refresh_from_db()  # still there: soft-deleted, versioned, announced and audited
    assert pack.deleted_at is not None and pack.version == 2
    assert pack.items.count() == 1
    assert DomainEvent.objects.filter(idempotency_key=f"pack:{pack.id}:v2").exists()
    assert pack.moderation_changes.filter(action="soft_delete").exists()
    assert api.get(f"/api/sticker-packs/{pack.pack_key}").status_code == 404


def test_adding_a_pack_in_the_admin_goes_through_the_create_service(staff, user):
    response = staff.post(
        f"{CHANGELIST}add/",
        {"owner": user.pk, "name": "Staff made", "description": "", "publisher": "", "tags": '["cats"]',
         "visibility": "public"},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    pack = StickerPack.objects.get(name="Staff made")
    assert pack.owner == user and pack.status == "draft" and pack.version == 1 and pack.tags == ["cats"]
    assert pack.pack_key  # generated by the service, as for an owner's create
    assert DomainEvent.objects.filter(idempotency_key=f"pack:{pack.id}:v1").exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/stickerasset/add/",
        "/admin/catalog/assetclassification/add/",
        "/admin/catalog/packengagement/add/",
        "/admin/catalog/packscoresnapshot/add/",
    ],
)
def test_no_side_door_adds_rows_whose_writes_have_side_effects(staff, url):
    assert staff.get(url).status_code == 403


def test_no_side_door_changes_or_deletes_derived_rows(staff):
    from catalog.models import AssetClassification, PackEngagement, PackScoreSnapshot
    from catalog.services.snapshots import snapshot_refresh

    pack = make_pack(items=1)
    snapshot_refresh([pack.pk])
    classification = AssetClassification.objects.create(asset=pack.items.get().asset, category="animals")
    engagement, _ = PackEngagement.objects.get_or_create(pack=pack)
    snapshot = PackScoreSnapshot.objects.get(pack=pack)
    for model, row in (("assetclassification", classification), ("packscoresnapshot", snapshot),
                       ("packengagement", engagement)):  # fmt: skip
        assert staff.get(f"/admin/catalog/{model}/{row.pk}/delete/").status_code == 403
        assert staff.post(f"/admin/catalog/{model}/{row.pk}/change/", {}).status_code == 403
    assert AssetClassification.objects.filter(pk=classification.pk).exists()


def test_users_are_banned_not_deleted_from_the_admin(staff, user):
    assert staff.get(f"/admin/auth/user/{user.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in staff.get("/admin/auth/user/").content.decode()
