"""Staff moderation sticks (issue 19): a staff sensitive mark and a staff unpublish hold until
staff lift them; the owner sees the state and the reason, the API answers MODERATION_LOCKED, and
every change is audited (who, when, before, after, reason) on the pack's admin page."""

import pytest

from catalog.models import StickerPack
from tests.catalog.conftest import client_for, make_pack

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/stickerpack/"


def moderate(staff, action: str, pack, reason: str = "reported by three viewers"):
    """Run an admin action on one pack, confirming it on the reason page."""
    return staff.post(
        CHANGELIST,
        {"action": action, "_selected_action": [pack.pk], "reason": reason, "apply": "1"},
        follow=True,
    )


def listed_keys(api) -> list[str]:
    return [p["pack_key"] for p in api.get("/api/sticker-packs").json()["data"]]


def test_the_owner_cannot_clear_a_staff_sensitive_mark(staff, user, api):
    pack = make_pack(owner=user, items=1)
    owner = client_for(user)
    assert moderate(staff, "mark_sensitive", pack, "nudity in sticker 1").status_code == 200
    url = f"/api/sticker-packs/{pack.pack_key}"
    refused = owner.patch(url, {"is_sensitive": False}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "MODERATION_LOCKED"
    assert "nudity in sticker 1" in refused.json()["error"]
    detail = owner.get(url).json()["data"]
    assert detail["is_nsfw"] is True
    assert detail["moderation"]["sensitive"] is True and detail["moderation"]["reason"] == "nudity in sticker 1"
    me = owner.get("/api/sticker-packs/me").json()["data"]["packs"]
    assert me[0]["moderation"]["sensitive"] is True
    # Other edits still work, and the pack stays sensitive; anonymous viewers no longer list it.
    assert owner.patch(url, {"name": "Renamed"}, format="json").status_code == 200
    pack.refresh_from_db()
    assert pack.name == "Renamed" and pack.marked_sensitive
    assert api.get(url).json()["data"]["cover_url"] is None
    assert api.get(url).json()["data"]["moderation"] is None  # the reason is the owner's to see
    assert pack.pack_key not in listed_keys(api)
    # Only staff lift it.
    moderate(staff, "unmark_sensitive", pack, "false alarm")
    assert owner.get(url).json()["data"]["moderation"]["sensitive"] is False
    assert owner.patch(url, {"is_sensitive": False}, format="json").status_code == 200


def test_the_owner_cannot_republish_a_staff_unpublished_pack(staff, user, api):
    pack = make_pack(owner=user, items=1)
    owner = client_for(user)
    moderate(staff, "unpublish", pack, "copyrighted characters")
    pack.refresh_from_db()
    assert pack.status == "draft" and pack.pack_key not in listed_keys(api)
    refused = owner.post(f"/api/sticker-packs/{pack.pack_key}/publish")
    assert refused.status_code == 409 and refused.json()["code"] == "MODERATION_LOCKED"
    assert "copyrighted characters" in refused.json()["error"]
    moderation = owner.get(f"/api/sticker-packs/{pack.pack_key}").json()["data"]["moderation"]
    assert moderation["publishing_hold"] is True and moderation["reason"] == "copyrighted characters"
    pack.refresh_from_db()
    assert pack.status == "draft"
    # A hold can also be put on a draft before it is ever published.
    draft = make_pack(owner=user, items=1, status="draft", refresh=False)
    moderate(staff, "unpublish", draft, "under review")
    assert owner.post(f"/api/sticker-packs/{draft.pack_key}/publish").json()["code"] == "MODERATION_LOCKED"
    # Staff lift the hold; the owner may publish again.
    moderate(staff, "lift_hold", pack, "rights cleared")
    assert owner.post(f"/api/sticker-packs/{pack.pack_key}/publish").status_code == 200
    pack.refresh_from_db()
    assert pack.status == "published" and not pack.moderation_hold


def test_actions_ask_for_a_reason_and_change_nothing_without_one(staff, user):
    pack = make_pack(owner=user, items=1)
    page = staff.post(CHANGELIST, {"action": "unpublish", "_selected_action": [pack.pk]})
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    pack.refresh_from_db()
    assert pack.status == "published" and not pack.moderation_hold
    blank = moderate(staff, "unpublish", pack, reason="   ")
    pack.refresh_from_db()
    assert blank.status_code == 200 and pack.status == "published"


def test_every_moderation_change_is_audited_and_shown_on_the_packs_admin_page(staff, staff_user, user):
    from catalog.models import PackModerationChange

    pack = make_pack(owner=user, items=1)
    moderate(staff, "mark_sensitive", pack, "nudity")
    moderate(staff, "unpublish", pack, "spam")
    moderate(staff, "lift_hold", pack, "appeal accepted")
    moderate(staff, "soft_delete", pack, "owner asked")
    moderate(staff, "restore", pack, "mistake")
    moderate(staff, "unpublish", pack, "spam")  # a second hold
    moderate(staff, "unpublish", pack, "again")  # already held: no change, no audit row
    rows = list(PackModerationChange.objects.filter(pack=pack).order_by("changed_at", "id"))
    assert [r.action for r in rows] == [
        "mark_sensitive",
        "unpublish",
        "lift_hold",
        "soft_delete",
        "restore",
        "unpublish",
    ]
    assert all(r.changed_by == staff_user and r.changed_at and r.pack_key == pack.pack_key for r in rows)
    assert [r.reason for r in rows] == ["nudity", "spam", "appeal accepted", "owner asked", "mistake", "spam"]
    first, unpublish = rows[0], rows[1]
    assert first.before["moderation_sensitive"] is False and first.after["moderation_sensitive"] is True
    assert unpublish.before["status"] == "published" and unpublish.after["status"] == "draft"
    assert unpublish.before["moderation_hold"] is False and unpublish.after["moderation_hold"] is True
    page = staff.get(f"{CHANGELIST}{pack.pk}/change/").content.decode()
    assert "appeal accepted" in page and "owner asked" in page and staff_user.username in page
    # The audit trail is append-only in the admin.
    assert staff.get(f"/admin/catalog/packmoderationchange/{rows[0].pk}/delete/").status_code == 403


def test_admin_edits_of_a_pack_are_audited_and_cannot_lift_a_lock(staff, staff_user, user):
    from catalog.models import PackModerationChange

    pack = make_pack(owner=user, items=1)
    moderate(staff, "unpublish", pack, "spam")
    form = staff.get(f"{CHANGELIST}{pack.pk}/change/").context["adminform"].form
    assert "moderation_hold" not in form.fields and "moderation_sensitive" not in form.fields
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("tags", "owner", "cover")}
    data.update(name="Renamed by staff", tags="[]", owner=pack.owner_id, cover="")
    data.update({"items-TOTAL_FORMS": 1, "items-INITIAL_FORMS": 1, "items-MIN_NUM_FORMS": 0, "items-MAX_NUM_FORMS": 1000,
                 "items-0-id": pack.items.get().pk, "items-0-pack": pack.pk,
                 "moderation_changes-TOTAL_FORMS": 1, "moderation_changes-INITIAL_FORMS": 1,
                 "moderation_changes-MIN_NUM_FORMS": 0, "moderation_changes-MAX_NUM_FORMS": 1000,
                 "moderation_changes-0-id": PackModerationChange.objects.get(pack=pack).pk,
                 "moderation_changes-0-pack": pack.pk})  # fmt: skip
    response = staff.post(f"{CHANGELIST}{pack.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    pack.refresh_from_db()
    assert pack.name == "Renamed by staff" and pack.moderation_hold
    edit = PackModerationChange.objects.filter(pack=pack, action="edit").get()
    assert edit.changed_by == staff_user and edit.before["name"] != "Renamed by staff"
    assert edit.after["name"] == "Renamed by staff"


def test_moderation_is_visible_to_anonymous_reads_at_once(
    staff, user, api, settings, django_capture_on_commit_callbacks
):
    """Cached anonymous details follow a staff decision at the next read (generation moved)."""
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS = 300
    pack = make_pack(owner=user, items=1)
    url = f"/api/sticker-packs/{pack.pack_key}"
    assert api.get(url).status_code == 200 and api.get(url)["X-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        moderate(staff, "unpublish", pack, "spam")
    assert api.get(url).status_code == 404
    assert StickerPack.objects.get(pk=pack.pk).status == "draft"
