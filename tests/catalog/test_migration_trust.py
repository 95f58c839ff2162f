"""The data steps of migration 0003 (issue 19) on rows written the way the old code wrote them."""

from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from catalog.models import AssetClassification, StickerAsset, StickerPack
from tests.catalog.conftest import make_pack, stored_asset
from tests.factories import StickerPackFactory, StickerPackItemFactory, UserFactory

pytestmark = pytest.mark.django_db
MIGRATION = import_module("catalog.migrations.0003_trust_and_safety")


def test_assets_shared_across_owners_are_split_per_owner():
    alice, bob = UserFactory(username="ann"), UserFactory(username="ben")
    shared = stored_asset(seed="shared", classified=True, owner=alice)
    alices = make_pack(owner=alice, items=0, refresh=False)
    bobs = make_pack(owner=bob, items=0, refresh=False, cover=shared)
    bobs_second = make_pack(owner=bob, items=0, refresh=False)
    for pack in (alices, bobs, bobs_second):
        StickerPackItemFactory(pack=pack, asset=shared, position=1)
    auto = StickerPackFactory(owner=None, is_auto_pack=True, theme_key="cats", volume=1)
    StickerPackItemFactory(pack=auto, asset=shared, position=1)

    MIGRATION.split_shared_assets(apps, None)

    copy = StickerAsset.objects.get(owner=bob)
    assert (copy.sha256, copy.storage_key, copy.size_bytes) == (shared.sha256, shared.storage_key, shared.size_bytes)
    assert not AssetClassification.objects.filter(asset=copy).exists()  # classified anew, from its owner's hints
    assert alices.items.get().asset_id == shared.id and auto.items.get().asset_id == shared.id
    assert bobs.items.get().asset_id == bobs_second.items.get().asset_id == copy.id
    bobs.refresh_from_db()
    assert bobs.cover_id == copy.id
    MIGRATION.split_shared_assets(apps, None)  # again: nothing more to split
    assert StickerAsset.objects.count() == 2


def test_listed_packs_auto_packs_and_pack_keys_are_backfilled():
    listed = make_pack(items=1, published_at=timezone.now())
    draft = make_pack(items=1, status="draft")
    StickerPack.objects.filter(pk=listed.pk).update(first_listed_at=None)
    auto = StickerPackFactory(owner=None, is_auto_pack=True, theme_key="dogs", volume=1)
    shouting = StickerPackFactory(pack_key="Shouting-KEY-1")
    MIGRATION.backfill_first_listed_at(apps, None)
    MIGRATION.auto_packs_to_the_system_account(apps, None)
    MIGRATION.lower_case_pack_keys(apps, None)
    listed.refresh_from_db(), draft.refresh_from_db(), auto.refresh_from_db(), shouting.refresh_from_db()
    assert listed.first_listed_at == listed.published_at and draft.first_listed_at is None
    assert auto.owner.get_username() == settings.SYSTEM_ACCOUNT_USERNAME and not auto.owner.is_active
    assert not auto.owner.has_usable_password() and auto.owner.creator_profile.is_verified
    assert shouting.pack_key == "shouting-key-1"
