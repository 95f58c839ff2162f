"""Snapshot refresh, sweep, staleness, and event-driven coalesced refreshes (SPEC §2.2, §5)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog import ranking
from catalog.models import InteractionEvent, PackEngagement, PackScoreSnapshot, StickerPack
from catalog.services import snapshots
from catalog.services.enqueue import snapshot_refresh_enqueue
from tests.catalog.conftest import client_for, dispatch_all_events, make_pack
from workers.models import WorkerTask
from workers.registry import get_task_type
from workers.services import TASKS, routing_filter

pytestmark = pytest.mark.django_db


def test_refresh_stores_what_the_scoring_module_computes_from_the_tables():
    now = timezone.now()
    pack = make_pack(
        items=3, nsfw_items=0, tags=["Cats"], refresh=False, engagement={"open_count": 40, "like_count": 6}
    )
    for hours in (2, 5, 30, 24 * 3, 24 * 10):
        InteractionEvent.objects.create(
            pack=pack, interaction="open", actor_key=f"a{hours}", created_at=now - timedelta(hours=hours)
        )
    InteractionEvent.objects.create(pack=pack, interaction="like", actor_key="x", created_at=now)
    snapshots.snapshot_refresh([pack.id], now=now)
    snap = PackScoreSnapshot.objects.get(pack=pack)
    assets = [i.asset for i in pack.items.order_by("position")]
    expected = ranking.score_pack(
        ranking.PackInput(
            items=tuple(ranking.ItemInput(width=a.width, height=a.height, size_bytes=a.size_bytes) for a in assets),
            tags=("Cats",),
            is_sensitive=False,
            content_updated_at=pack.content_updated_at,
            open_count=40,
            like_count=6,
            opens_last_24h=2,
            opens_last_7d=4,
        ),
        now=now,
    )
    assert snap.trend_score == pytest.approx(2 / max(0.5, 4 / 7))
    for field in ("ranking_score", "pack_score", "quality_score", "engagement_score", "diversity_score"):
        assert getattr(snap, field) == pytest.approx(getattr(expected, field)), field
    assert snap.source_version == pack.version and snap.sticker_count == 3 and snap.like_count == 6
    assert snap.scores["trending_now"] == expected.trending_now


def test_refresh_removes_snapshots_of_packs_no_longer_listed():
    pack = make_pack(items=1)
    assert PackScoreSnapshot.objects.filter(pack=pack).exists()
    StickerPack.objects.filter(pk=pack.pk).update(visibility="unlisted")
    assert snapshots.snapshot_refresh([pack.id]) == {"refreshed": 0, "removed": 1}
    assert not PackScoreSnapshot.objects.filter(pack=pack).exists()


def test_sweep_walks_by_keyset_and_fixes_missing_and_orphaned_snapshots():
    packs = [make_pack(items=1, refresh=False) for _ in range(7)]
    gone = make_pack(items=1)
    StickerPack.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    result = snapshots.snapshot_sweep(batch_size=3)
    assert result == {"refreshed": 7, "removed": 1}
    assert set(PackScoreSnapshot.objects.values_list("pack_id", flat=True)) == {p.id for p in packs}


def test_freshness_follows_version_and_age(settings):
    pack = make_pack(items=1)
    snap = PackScoreSnapshot.objects.get(pack=pack)
    assert snapshots.snapshot_is_fresh(snap, pack)
    settings.SNAPSHOT_MAX_STALENESS_SECONDS = 60
    assert not snapshots.snapshot_is_fresh(snap, pack, now=timezone.now() + timedelta(seconds=61))
    pack.version += 1
    assert not snapshots.snapshot_is_fresh(snap, pack)
    assert snapshots.snapshot_stalest_age_seconds(now=snap.refreshed_at + timedelta(seconds=42)) == pytest.approx(42)


def test_a_burst_of_events_becomes_one_refresh_task_per_pack_and_window(user, django_capture_on_commit_callbacks):
    pack = make_pack(items=1, owner=user)
    client = client_for(user)
    for i in range(5):
        client.patch(f"/api/sticker-packs/{pack.pack_key}", {"description": f"v{i}"}, format="json")
    for i in range(5):
        client.post(f"/api/sticker-packs/{pack.pack_key}/open", HTTP_X_VIEWER_KEY=f"viewer-{i:08d}")
    dispatch_all_events()
    tasks = WorkerTask.objects.filter(task_type="refresh_pack_snapshots")
    assert tasks.count() == 1, "10 events in one window → one refresh"
    task = tasks.get()
    assert task.payload == {"pack_ids": [pack.id]} and task.available_at > timezone.now() - timedelta(seconds=1)


def test_a_later_window_gets_its_own_task():
    pack = make_pack(items=1)
    assert snapshot_refresh_enqueue([pack.id], now=1000.0) == 1
    assert snapshot_refresh_enqueue([pack.id], now=1005.0) == 0  # same 10 s window
    assert snapshot_refresh_enqueue([pack.id], now=1011.0) == 1


def test_refresh_task_is_registered_and_claimable_by_the_combined_worker():
    pack = make_pack(items=1, refresh=False)
    PackEngagement.objects.create(pack=pack, like_count=3)
    snapshot_refresh_enqueue([pack.id], immediate=True)
    types, scope = routing_filter("all")
    [item] = TASKS.claim(worker_id="w", types=types, extra=scope)
    get_task_type(item.type).func(item.payload)
    TASKS.complete(item, worker_id="w")
    assert WorkerTask.objects.get(task_type="refresh_pack_snapshots").status == "completed"
    assert PackScoreSnapshot.objects.get(pack=pack).like_count == 3


def test_refresh_snapshots_command(capsys):
    packs = [make_pack(items=1, refresh=False) for _ in range(3)]
    call_command("refresh_snapshots", "--pack", packs[0].pack_key)
    assert PackScoreSnapshot.objects.count() == 1
    call_command("refresh_snapshots", "--all")
    assert PackScoreSnapshot.objects.count() == 3
    assert "refreshed" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("refresh_snapshots", "--pack", "no-such-pack")


def test_interaction_events_are_pruned_by_age():
    pack = make_pack(items=1)
    InteractionEvent.objects.create(
        pack=pack, interaction="open", actor_key="old", created_at=timezone.now() - timedelta(days=200)
    )
    InteractionEvent.objects.create(pack=pack, interaction="open", actor_key="new")
    call_command("prune_history", "--days", "90")
    assert list(InteractionEvent.objects.values_list("actor_key", flat=True)) == ["new"]


def test_stalest_snapshot_age_is_a_metric():
    from prometheus_client import generate_latest

    pack = make_pack(items=1)
    PackScoreSnapshot.objects.filter(pack=pack).update(refreshed_at=timezone.now() - timedelta(seconds=120))
    text = generate_latest().decode()
    line = next(row for row in text.splitlines() if row.startswith("packyard_snapshot_stalest_age_seconds "))
    assert 119 <= float(line.split()[1]) < 200
