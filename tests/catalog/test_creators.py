"""Creators cannot be impersonated (issue 19): a creator is a user; verified badges and reserved
publisher names are staff's to give; /creators groups packs by owner, never by the publisher text."""

import pytest
from django.conf import settings

from tests.catalog.conftest import client_for, make_pack

pytestmark = pytest.mark.django_db


def create(client, **fields):
    return client.post("/api/sticker-packs", {"name": "A pack", **fields}, format="json")


def creators(api) -> dict[str, dict]:
    return {c["publisher"]: c for c in api.get("/api/sticker-packs/creators").json()["data"]}


def test_nobody_but_the_system_account_publishes_as_packyard(other_user):
    bob = client_for(other_user)
    for name in (settings.AUTO_PACK_PUBLISHER, "packyard", "PACK YARD", " Pack-yard. "):
        refused = create(bob, publisher=name)
        assert refused.status_code == 400 and refused.json()["code"] == "PUBLISHER_RESERVED", name
    pack_key = create(bob, publisher="Bob's Stickers").json()["data"]["pack_key"]
    edit = bob.patch(f"/api/sticker-packs/{pack_key}", {"publisher": "Packyard"}, format="json")
    assert edit.status_code == 400 and edit.json()["code"] == "PUBLISHER_RESERVED"


def test_an_impostor_pack_named_packyard_is_not_verified(api, other_user):
    impostor = make_pack(owner=other_user, items=2, publisher="Packyard", engagement={"like_count": 900})
    listed = creators(api)
    assert not any(c["verified"] for c in listed.values())
    assert all(c["top_pack"] is None or c["top_pack"]["pack_key"] != impostor.pack_key or not c["verified"]
               for c in listed.values())  # fmt: skip
    assert listed["bob"]["top_pack"]["pack_key"] == impostor.pack_key


def test_creators_are_owners_and_an_impostor_cannot_borrow_a_verified_creator(api, user, other_user, staff_user):
    from catalog.services import creators as creator_services

    creator_services.creator_verify(user=user, verified=True, display_name="Ana Lima", by=staff_user)
    ana, bob = client_for(user), client_for(other_user)
    assert create(ana, publisher="Ana Lima").status_code == 201
    for name in ("Ana Lima", "ana lima", "ANA-LIMA"):
        refused = create(bob, publisher=name)
        assert refused.status_code == 400 and refused.json()["code"] == "PUBLISHER_RESERVED", name
    assert create(client_for(staff_user), publisher="Ana Lima").status_code == 201
    # Packs written before the reservation still never merge into Ana's stats.
    anas = make_pack(owner=user, items=2, publisher="Ana Lima", engagement={"like_count": 5})
    borrowed = make_pack(owner=other_user, items=2, publisher="Ana Lima", engagement={"like_count": 500})
    make_pack(owner=other_user, items=1, publisher="Packyard", engagement={"like_count": 900})
    listed = creators(api)
    assert listed["Ana Lima"]["verified"] is True and "verified" in listed["Ana Lima"]["badges"]
    assert listed["Ana Lima"]["stats"]["packs_count"] == 1 and listed["Ana Lima"]["stats"]["total_likes"] == 5
    assert listed["Ana Lima"]["top_pack"]["pack_key"] == anas.pack_key
    assert listed["bob"]["verified"] is False and listed["bob"]["stats"]["packs_count"] == 2
    assert listed["bob"]["stats"]["total_likes"] == 1400
    assert borrowed.pack_key != listed["Ana Lima"]["top_pack"]["pack_key"]
    assert set(listed) == {"Ana Lima", "bob"}
    stats = api.get("/api/sticker-packs/stats").json()["data"]
    assert stats["creators_total"] == 2


def test_a_new_pack_is_published_under_the_creators_display_name(user, staff_user):
    from catalog.services import creators as creator_services

    plain = create(client_for(user)).json()["data"]
    assert plain["publisher"] == "alice"
    creator_services.creator_verify(user=user, verified=True, display_name="Ana Lima", by=staff_user)
    named = create(client_for(user)).json()["data"]
    assert named["publisher"] == "Ana Lima"


def test_only_staff_verify_creators_in_the_admin(client, staff_user, user):
    from catalog.models import CreatorProfile

    client.force_login(user)
    assert client.get("/admin/catalog/creatorprofile/").status_code == 302  # not staff: to the login
    client.force_login(staff_user)
    page = client.get("/admin/catalog/creatorprofile/add/")
    assert page.status_code == 200
    response = client.post(
        "/admin/catalog/creatorprofile/add/",
        {"user": user.pk, "display_name": "Ana Lima", "is_verified": "on",
         "reserved_names-TOTAL_FORMS": 0, "reserved_names-INITIAL_FORMS": 0,
         "reserved_names-MIN_NUM_FORMS": 0, "reserved_names-MAX_NUM_FORMS": 1000},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    profile = CreatorProfile.objects.get(user=user)
    assert profile.is_verified and profile.verified_by == staff_user and profile.verified_at
    refused = create(client_for(make_user("carol")), publisher="Ana Lima")
    assert refused.json()["code"] == "PUBLISHER_RESERVED"


def make_user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=username, password=f"{username}-password-123")


def test_the_admin_refuses_a_name_another_creator_holds(client, staff_user, user, other_user):
    from catalog.models import CreatorProfile
    from catalog.services import creators as creator_services

    creator_services.creator_verify(user=user, verified=True, display_name="Ana Lima", by=staff_user)
    client.force_login(staff_user)
    management = {"reserved_names-TOTAL_FORMS": 1, "reserved_names-INITIAL_FORMS": 0,
                  "reserved_names-MIN_NUM_FORMS": 0, "reserved_names-MAX_NUM_FORMS": 1000}  # fmt: skip
    for data in (
        {"display_name": "ANA lima", "is_verified": "on", "reserved_names-0-name": "Bob's"},
        {"display_name": "Bob", "reserved_names-0-name": "ana-lima"},
        {"display_name": "Bob", "reserved_names-0-name": "Pack Yard"},
    ):
        page = client.post("/admin/catalog/creatorprofile/add/", {"user": other_user.pk, **data, **management})
        assert page.status_code == 200 and "reserved" in page.content.decode(), data
    assert not CreatorProfile.objects.filter(user=other_user).exists()


def test_the_system_account_is_never_an_account_people_log_in_with(settings):
    from django.core.exceptions import ImproperlyConfigured

    from catalog.services.creators import system_account

    system = system_account()
    assert not system.is_active and not system.has_usable_password() and system.creator_profile.is_verified
    make_user("house")
    settings.SYSTEM_ACCOUNT_USERNAME = "house"
    with pytest.raises(ImproperlyConfigured):
        system_account()
