"""The classification cycle and per-asset classification (SPEC §5, §5.1)."""

import pytest
from django.core.files.storage import default_storage

from catalog.classifiers import current_version
from catalog.models import AssetClassification, StickerAsset, StickerPackItem
from catalog.services import classification
from outbox.models import DomainEvent
from tests.catalog.conftest import dispatch_all_events, make_pack, stored_asset
from workers import conf as worker_conf
from workers.models import WorkerTask

pytestmark = pytest.mark.django_db


def test_cycle_classifies_unclassified_assets_and_publishes_events():
    assets = [stored_asset(seed=f"c{i}") for i in range(5)]
    result = classification.classification_cycle(batch_size=10, concurrency=1)
    assert (result["processed"], result["classified"], result["failed"]) == (5, 5, 0)
    rows = AssetClassification.objects.filter(asset__in=assets)
    assert rows.count() == 5
    assert set(rows.values_list("provider", "classification_version").distinct()) == {("builtin", current_version())}
    assert all("blurry" in r.all_scores and "low_quality" in r.all_scores for r in rows)
    events = DomainEvent.objects.filter(event_type="STICKER_CLASSIFIED")
    assert sorted(int(e.aggregate_id) for e in events) == sorted(a.id for a in assets)
    assert classification.classification_cycle(batch_size=10)["processed"] == 0


def test_batches_are_bounded():
    for i in range(7):
        stored_asset(seed=f"b{i}")
    assert classification.classification_cycle(batch_size=3)["processed"] == 3
    assert AssetClassification.objects.count() == 3


def test_a_version_change_triggers_reclassification(settings):
    for i in range(3):
        stored_asset(seed=f"v{i}")
    classification.classification_cycle(batch_size=10)
    old = current_version()
    settings.CLASSIFIER_VERSION_SUFFIX = "-2"
    assert current_version() != old
    assert classification.classification_cycle(batch_size=10)["classified"] == 3
    assert set(AssetClassification.objects.values_list("classification_version", flat=True)) == {current_version()}


def test_a_failing_asset_is_reported_and_handed_to_a_retrying_task():
    good = stored_asset(seed="good")
    bad = stored_asset(seed="bad")
    default_storage.delete(bad.storage_key)
    result = classification.classification_cycle(batch_size=10)
    assert (result["classified"], result["failed"]) == (1, 1)
    assert AssetClassification.objects.filter(asset=good).exists()
    task = WorkerTask.objects.get(task_type="classify_asset")
    assert task.payload["asset_id"] == bad.id and "unavailable" in task.payload["error"]


def test_a_cycle_where_everything_fails_raises():
    bad = stored_asset(seed="only")
    default_storage.delete(bad.storage_key)
    with pytest.raises(Exception, match="all 1 assets failed"):
        classification.classification_cycle(batch_size=10)


@pytest.mark.django_db(transaction=True)
def test_concurrency_follows_the_worker_option():
    for i in range(6):
        stored_asset(seed=f"p{i}")
    worker_conf.set_process_concurrency(3)  # what `run_worker --concurrency 3` does
    try:
        result = classification.classification_cycle(batch_size=10)
    finally:
        worker_conf.set_process_concurrency(1)
    assert result["concurrency"] == 3 and result["classified"] == 6
    assert AssetClassification.objects.count() == 6


def test_emojis_and_tags_of_the_owners_listed_packs_reach_the_classifier():
    pack = make_pack(items=1, tags=["cats"], refresh=False)
    item = pack.items.get()
    StickerAsset.objects.filter(pk=item.asset_id).update(owner=pack.owner)
    item.emojis = ["😺"]
    item.save()
    classification.classify_asset(item.asset_id)
    row = AssetClassification.objects.get(asset_id=item.asset_id)
    assert row.category == "animals"


def test_hints_of_other_owners_and_of_unlisted_packs_do_not_count():
    mine = make_pack(items=1, status="draft", tags=["cats"], refresh=False)
    item = mine.items.get()
    StickerAsset.objects.filter(pk=item.asset_id).update(owner=mine.owner)
    StickerPackItem.objects.filter(pk=item.pk).update(emojis=["😺"])
    theirs = make_pack(items=0, tags=["cats"], refresh=False)  # listed, but someone else's
    StickerPackItem.objects.create(pack=theirs, asset_id=item.asset_id, position=1, emojis=["🐶"])
    assert classification.classify_asset(item.asset_id).category != "animals"


def test_publishing_classifies_the_owners_stickers_again(user):
    from catalog.services.packs import pack_publish

    pack = make_pack(owner=user, items=2, status="draft", refresh=False)
    StickerAsset.objects.filter(pack_items__pack=pack).update(owner=user)
    pack_publish(user=user, pack_key=pack.pack_key)
    dispatch_all_events()
    queued = set(WorkerTask.objects.filter(task_type="classify_asset").values_list("payload__asset_id", flat=True))
    assert queued == set(pack.items.values_list("asset_id", flat=True))


def test_asset_created_event_becomes_a_classification_task_and_classified_event_refreshes(user):
    from catalog.services.uploads import sticker_upload
    from tests.catalog.test_images import transparent_png

    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    sticker_upload(user=user, pack_key=pack.pack_key, data=transparent_png())
    dispatch_all_events()
    task = WorkerTask.objects.get(task_type="classify_asset")
    from workers.registry import get_task_type

    get_task_type("classify_asset").func(task.payload)
    assert AssetClassification.objects.filter(asset_id=task.payload["asset_id"]).exists()
    dispatch_all_events()  # STICKER_CLASSIFIED → snapshot refresh of its packs + a curation pass
    assert WorkerTask.objects.filter(task_type="refresh_pack_snapshots", payload={"pack_ids": [pack.id]}).exists()
    assert WorkerTask.objects.filter(task_type="curation_cycle").exists()
