"""Curation and rebuild of auto packs (SPEC §5.1) and the lease that keeps them apart."""

import random
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import AssetClassification, StickerPack, StickerPackItem
from catalog.services import curation
from tests.concurrency import run_together
from tests.factories import StickerAssetFactory, StickerPackFactory, StickerPackItemFactory
from workers.locks import held_lease, lease_acquire, lease_holder
from workers.models import Lease, WorkerTask, WorkerTaskDeadLetter
from workers.services import TASKS, enqueue_task

pytestmark = pytest.mark.django_db

_rng = random.Random(7)


def far_hash() -> str:
    return f"{_rng.getrandbits(64):016x}"


def near(phash: str, bits: int = 2) -> str:
    value = int(phash, 16)
    for bit in range(bits):
        value ^= 1 << (bit * 9)
    return f"{value:016x}"


class Catalog:
    """Public user packs holding classified stickers, 25 per pack."""

    def __init__(self):
        self.packs: dict[bool, StickerPack] = {}
        self.counts: dict[int, int] = {}

    def pack(self, sensitive=False) -> StickerPack:
        pack = self.packs.get(sensitive)
        if pack is None or self.counts[pack.id] >= 25:
            pack = self.packs[sensitive] = StickerPackFactory(is_sensitive=sensitive)
            self.counts[pack.id] = 0
        return pack

    def sticker(self, category: str, *, nsfw=False, sensitive_pack=False, phash=None):
        asset = StickerAssetFactory(perceptual_hash=phash or far_hash())
        AssetClassification.objects.create(asset=asset, category=category, confidence=0.9, is_nsfw=nsfw,
                                           nsfw_score=0.9 if nsfw else 0.0)  # fmt: skip
        pack = self.pack(sensitive_pack)
        self.counts[pack.id] += 1
        StickerPackItemFactory(pack=pack, asset=asset, position=self.counts[pack.id])
        return asset


@pytest.fixture
def fixture_set():
    cat = Catalog()
    animals = [cat.sticker("animals") for _ in range(35)]
    dups = [cat.sticker("animals", phash=near(animals[i].perceptual_hash)) for i in (0, 1)]
    food = [cat.sticker("food") for _ in range(14)]
    love = [cat.sticker("love") for _ in range(5)]
    nsfw = [cat.sticker("animals", nsfw=True) for _ in range(3)]
    marked = [cat.sticker("animals", sensitive_pack=True) for _ in range(2)]
    private = StickerPackFactory(visibility="private")
    hidden = StickerAssetFactory(perceptual_hash=far_hash())
    AssetClassification.objects.create(asset=hidden, category="animals")
    StickerPackItemFactory(pack=private, asset=hidden, position=1)
    return {"animals": animals, "dups": dups, "food": food, "love": love, "nsfw": nsfw + marked, "hidden": hidden}


def auto(theme_key):
    return list(StickerPack.objects.filter(is_auto_pack=True, theme_key=theme_key).order_by("volume"))


def asset_ids(pack):
    return list(pack.items.order_by("position").values_list("asset_id", flat=True))


def test_curation_builds_the_expected_volumes(fixture_set, settings):
    settings.AUTO_PACK_PUBLISHER = "Packyard Bot"
    result = curation.curation_cycle()
    assert result["added"] == 35 + 14 + 5 + 5
    vol1, vol2 = auto("animals")
    assert (vol1.name, vol2.name) == ("[AUTO] Animals • Vol. 1", "[AUTO] Animals • Vol. 2")
    assert (vol1.items.count(), vol1.pack_status) == (30, "ready")
    assert (vol2.items.count(), vol2.pack_status) == (5, "archived")
    assert asset_ids(vol1) + asset_ids(vol2) == [a.id for a in fixture_set["animals"]]
    assert vol1.publisher == "Packyard Bot" and vol1.status == "published"
    assert vol1.owner.get_username() == settings.SYSTEM_ACCOUNT_USERNAME and not vol1.owner.is_active
    assert vol1.owner.creator_profile.is_verified and vol1.owner.creator_profile.display_name == "Packyard Bot"
    assert vol1.cover_id == fixture_set["animals"][0].id
    [food] = auto("food")
    assert (food.items.count(), food.pack_status) == (14, "building")
    [love] = auto("love")
    assert love.pack_status == "archived"
    [sensitive] = auto("nsfw-animals")
    assert sensitive.is_sensitive and sensitive.name == "[AUTO] Animals (Sensitive) • Vol. 1"
    assert set(asset_ids(sensitive)) == {a.id for a in fixture_set["nsfw"]}
    # Near-duplicates and stickers of private packs never made it in.
    in_auto = set(StickerPackItem.objects.filter(pack__is_auto_pack=True).values_list("asset_id", flat=True))
    assert not in_auto & {a.id for a in fixture_set["dups"]} and fixture_set["hidden"].id not in in_auto


def test_nsfw_is_never_mixed_with_safe(fixture_set):
    curation.curation_cycle()
    safe_items = StickerPackItem.objects.filter(pack__is_auto_pack=True, pack__is_sensitive=False)
    assert not safe_items.filter(asset__classification__is_nsfw=True).exists()
    nsfw_ids = {a.id for a in fixture_set["nsfw"]}
    assert not nsfw_ids & set(safe_items.values_list("asset_id", flat=True))


def test_curation_is_idempotent_and_respects_its_budget(fixture_set, settings):
    settings.CURATION_ADD_BUDGET = 10
    assert curation.curation_cycle()["added"] == 10
    settings.CURATION_ADD_BUDGET = 1000
    assert curation.curation_cycle()["added"] == 49
    assert curation.curation_cycle()["added"] == 0


def test_rebuild_removes_misfits_and_keeps_positions_dense(fixture_set, settings):
    curation.curation_cycle()
    animals = fixture_set["animals"]
    AssetClassification.objects.filter(asset__in=animals[:3]).update(category="food")
    AssetClassification.objects.filter(asset=animals[5]).update(is_nsfw=True)
    result = curation.rebuild_cycle()
    assert result["removed"] == 4
    vol1 = auto("animals")[0]
    assert animals[0].id not in asset_ids(vol1) and animals[5].id not in asset_ids(vol1)
    assert list(vol1.items.order_by("position").values_list("position", flat=True)) == list(range(1, 27))
    assert vol1.cover_id == asset_ids(vol1)[0] == animals[3].id
    # The next curation puts them where they now belong.
    curation.curation_cycle()
    food_ids = set(StickerPackItem.objects.filter(pack__theme_key="food").values_list("asset_id", flat=True))
    assert {a.id for a in animals[:3]} <= food_ids
    assert animals[5].id in asset_ids(auto("nsfw-animals")[0])


def test_rebuild_budget(fixture_set, settings):
    curation.curation_cycle()
    AssetClassification.objects.filter(asset__in=fixture_set["animals"][:6]).update(category="love")
    settings.REBUILD_REMOVE_BUDGET = 4
    assert curation.rebuild_cycle()["removed"] == 4
    assert curation.rebuild_cycle()["removed"] == 2


def test_a_cycle_finding_the_lease_held_skips(fixture_set):
    with held_lease(curation.LOCK_NAME, ttl_seconds=30):
        assert curation.curation_cycle() == {"skipped": 1}
        assert curation.rebuild_cycle() == {"skipped": 1}
    assert not StickerPack.objects.filter(is_auto_pack=True).exists()


def five_stickers_and_a_slow_read(monkeypatch, settings, meanwhile):
    """A 1 s lease ttl and a curation whose candidate read calls `meanwhile()` first."""
    settings.AUTO_PACK_LOCK_TTL_SECONDS = 1
    cat = Catalog()
    for _ in range(5):
        cat.sticker("animals")
    original = curation.curation_candidates

    def candidates():
        meanwhile()
        return original()

    monkeypatch.setattr(curation, "curation_candidates", candidates)


@pytest.mark.django_db(transaction=True)
def test_a_cycle_outlasting_the_lease_ttl_keeps_the_lease(monkeypatch, settings):
    rival_took_it = []

    def outlast_the_ttl():
        time.sleep(2.5)  # the cycle runs well past its lease's ttl
        rival_took_it.append(lease_acquire(curation.LOCK_NAME, holder="rival", ttl_seconds=30))

    five_stickers_and_a_slow_read(monkeypatch, settings, outlast_the_ttl)
    result = curation.curation_cycle()
    assert rival_took_it == [False]
    assert result["added"] == 5 and "lost" not in result
    assert lease_holder(curation.LOCK_NAME) == ""  # released at the end


@pytest.mark.django_db(transaction=True)
def test_a_cycle_that_lost_its_lease_stops_before_touching_auto_packs(monkeypatch, settings):
    def taken_over():
        # The lease expired (e.g. a thread abandoned at the task time limit) and a rival took it.
        Lease.objects.filter(name=curation.LOCK_NAME).update(
            holder="rival", expires_at=timezone.now() + timedelta(seconds=30)
        )
        time.sleep(1.5)  # the renewer finds out within a third of the ttl

    five_stickers_and_a_slow_read(monkeypatch, settings, taken_over)
    assert curation.curation_cycle()["lost"] == 1
    assert not StickerPack.objects.filter(is_auto_pack=True).exists()
    assert lease_holder(curation.LOCK_NAME) == "rival"


@pytest.mark.django_db(transaction=True)
def test_two_workers_started_at_once_never_run_concurrently(monkeypatch):
    cat = Catalog()
    for _ in range(20):
        cat.sticker("animals")
    original = curation.curation_candidates
    active, overlaps = [], []
    guard = threading.Lock()

    def slow_candidates():
        with guard:
            active.append(1)
            if len(active) > 1:
                overlaps.append(len(active))
        time.sleep(1.0)  # long enough for the others to try the lease meanwhile, even on a loaded machine
        try:
            return original()
        finally:
            with guard:
                active.pop()

    monkeypatch.setattr(curation, "curation_candidates", slow_candidates)
    runs = run_together(
        [curation.curation_cycle, curation.curation_cycle, curation.rebuild_cycle, curation.curation_cycle]
    )
    assert overlaps == []
    assert len(runs) == 4 and sum(1 for r in runs if r.get("skipped")) == 3
    [winner] = [r for r in runs if not r.get("skipped")]
    # Whichever got the lease did its whole job: a curation adds the 20, a rebuild finds nothing.
    expected = 20 if "added" in winner else 0
    assert winner.get("added", 0) == expected
    assert StickerPackItem.objects.filter(pack__is_auto_pack=True).count() == expected


def test_a_failing_cycle_is_retried_then_dead_lettered(monkeypatch, fixture_set):
    def broken():
        raise RuntimeError("database of themes exploded")

    monkeypatch.setattr(curation, "curation_candidates", broken)
    from workers.registry import get_task_type

    task, _ = enqueue_task(task_type="curation_cycle", idempotency_key="pipeline:curation_cycle:1", max_attempts=3)
    outcomes = []
    for _ in range(3):
        WorkerTask.objects.filter(pk=task.pk).update(available_at=timezone.now())  # skip the backoff wait
        [item] = TASKS.claim(worker_id="w", types=["curation_cycle"])
        with pytest.raises(RuntimeError) as caught:
            get_task_type(item.type).func(item.payload)
        outcomes.append(TASKS.fail(item, worker_id="w", error=str(caught.value)))
    assert outcomes[-1] == "dead"
    dead = WorkerTaskDeadLetter.objects.get()
    assert dead.attempts == 3 and "exploded" in str(dead.errors)
