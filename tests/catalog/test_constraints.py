"""The database itself refuses what races could otherwise produce (SPEC §2)."""

import hashlib
from functools import partial

import pytest
from django.db import IntegrityError, connection, transaction

from catalog.models import StickerAsset, StickerPackItem
from catalog.services.assets import asset_get_or_create
from tests.concurrency import run_together
from tests.factories import StickerAssetFactory, StickerPackFactory, StickerPackItemFactory


@pytest.mark.django_db
def test_sha256_is_unique_per_owner():
    first = StickerAssetFactory(sha256="a" * 64, storage_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        StickerAssetFactory(sha256="a" * 64, storage_key="k1", owner=first.owner)
    # Another owner's copy of the same image shares the stored bytes (one key).
    StickerAssetFactory(sha256="a" * 64, storage_key="k1")


@pytest.mark.django_db
def test_the_31st_item_of_a_pack_is_refused():
    pack = StickerPackFactory()
    for position in range(1, 31):
        StickerPackItemFactory(pack=pack, position=position)
    with pytest.raises(IntegrityError), transaction.atomic():
        StickerPackItemFactory(pack=pack, position=31)
    assert StickerPackItem.objects.filter(pack=pack).count() == 30


@pytest.mark.django_db
def test_position_and_asset_unique_per_pack():
    pack = StickerPackFactory()
    item = StickerPackItemFactory(pack=pack, position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StickerPackItemFactory(pack=pack, position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StickerPackItemFactory(pack=pack, asset=item.asset, position=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        StickerPackItemFactory(pack=pack, position=0)


@pytest.mark.django_db
def test_upload_id_unique_per_pack_but_null_repeats():
    pack = StickerPackFactory()
    StickerPackItemFactory(pack=pack, position=1, upload_id=None)
    StickerPackItemFactory(pack=pack, position=2, upload_id=None)
    StickerPackItemFactory(pack=pack, position=3, upload_id="u-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        StickerPackItemFactory(pack=pack, position=4, upload_id="u-1")


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_of_the_same_bytes_make_one_asset(user):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs a server database (runs on MariaDB)")
    data = b"the same sticker bytes" * 50

    def upload():
        return asset_get_or_create(data=data, owner=user, mimetype="image/webp", is_animated=False, width=1, height=1)

    results = run_together([upload] * 8)
    assert StickerAsset.objects.filter(sha256=hashlib.sha256(data).hexdigest()).count() == 1
    assert len({asset.pk for asset, _ in results}) == 1
    assert sum(1 for _, created in results if created) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_position_claims_never_clash():
    if connection.vendor == "sqlite":
        pytest.skip("needs concurrent writers (runs on MariaDB)")
    pack = StickerPackFactory()
    assets = [StickerAssetFactory() for _ in range(6)]

    def insert(asset):
        try:
            with transaction.atomic():
                StickerPackItem.objects.create(pack=pack, asset=asset, position=1)
        except IntegrityError:
            return "refused"
        return "ok"

    outcomes = run_together([partial(insert, a) for a in assets])
    assert sorted(outcomes) == ["ok"] + ["refused"] * 5
    assert StickerPackItem.objects.filter(pack=pack, position=1).count() == 1
