"""Ranking snapshots (SPEC §2.2): gather a pack's inputs, score them, store one row per listed pack.

Reads order packs over the snapshot table; the refresh runs for the packs an event touched
(a durable task, see catalog.events) and in a periodic keyset sweep (catalog.tasks).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q
from django.utils import timezone

from catalog import ranking, selectors
from catalog.models import InteractionEvent, PackScoreSnapshot, StickerPack, StickerPackItem
from catalog.services.readcache import pack_reads_changed

SWEEP_BATCH_SIZE = 500
# Columns computed from the pack's content, then sort keys copied from the pack and its counters.
SCORED_FIELDS = [
    *ranking.SCORE_FIELDS,
    "nsfw_level",
    "sensitive_content",
    "sticker_count",
    "tags",
    "scores",
    "source_version",
    "refreshed_at",
]
SORT_KEY_FIELDS = ["published_at", "like_count", "download_count"]
SNAPSHOT_FIELDS = SCORED_FIELDS + SORT_KEY_FIELDS


def ranking_weights() -> dict:
    return dict(settings.RANKING_WEIGHTS)


# What scoring reads of each item, fetched as plain values (no model instances: the sweep reads
# every listed pack's items, and building three models per item was most of its time).
_ITEM_COLUMNS = (
    "pack_id",
    "asset__width",
    "asset__height",
    "asset__size_bytes",
    "asset__classification__id",
    "asset__classification__confidence",
    "asset__classification__nsfw_score",
    "asset__classification__is_nsfw",
    "asset__classification__all_scores",
    "asset__classification__tags",
)


def _item_input(row: tuple) -> ranking.ItemInput:
    _, width, height, size_bytes, classification_id, confidence, nsfw_score, is_nsfw, all_scores, tags = row
    if classification_id is None:
        return ranking.ItemInput(width=width, height=height, size_bytes=size_bytes)
    return ranking.ItemInput(
        width=width,
        height=height,
        size_bytes=size_bytes,
        classified=True,
        confidence=confidence,
        nsfw_score=nsfw_score,
        is_nsfw=is_nsfw,
        all_scores=dict(all_scores or {}),
        tags=tuple(tags or ()),
    )


def pack_inputs(packs: Iterable[StickerPack], *, now: datetime | None = None) -> dict[int, ranking.PackInput]:
    """The scoring inputs of these packs, in a fixed number of queries whatever their count."""
    now = now or timezone.now()
    packs = list(packs)
    ids = [p.id for p in packs]
    items_by_pack: dict[int, list] = defaultdict(list)
    for row in (
        StickerPackItem.objects.filter(pack_id__in=ids).order_by("pack_id", "position").values_list(*_ITEM_COLUMNS)
    ):
        items_by_pack[row[0]].append(_item_input(row))
    windows = {
        row["pack_id"]: row
        for row in InteractionEvent.objects.filter(
            pack_id__in=ids, interaction="open", counted=True, created_at__gte=now - timedelta(days=7)
        )
        .values("pack_id")
        .annotate(week=Count("id"), day=Count("id", filter=Q(created_at__gte=now - timedelta(days=1))))
    }
    inputs = {}
    for pack in packs:
        engagement = getattr(pack, "engagement", None)
        window = windows.get(pack.id, {})
        inputs[pack.id] = ranking.PackInput(
            items=tuple(items_by_pack.get(pack.id, ())),
            tags=tuple(pack.tags or ()),
            is_sensitive=pack.marked_sensitive,
            content_updated_at=pack.content_updated_at,
            open_count=engagement.open_count if engagement else 0,
            like_count=engagement.like_count if engagement else 0,
            dislike_count=engagement.dislike_count if engagement else 0,
            download_count=engagement.download_count if engagement else 0,
            opens_last_24h=window.get("day", 0),
            opens_last_7d=window.get("week", 0),
        )
    return inputs


def _with_engagement(queryset):
    return queryset.select_related("engagement")


def pack_scores_live(packs: Iterable[StickerPack], *, now: datetime | None = None) -> dict[int, ranking.PackScores]:
    """Scores computed now from the live tables (the flag-off path and stale details)."""
    now = now or timezone.now()
    weights = ranking_weights()
    return {
        pid: ranking.score_pack(data, now=now, weights=weights) for pid, data in pack_inputs(packs, now=now).items()
    }


def _snapshot_row(pack: StickerPack, scores: ranking.PackScores, now: datetime) -> PackScoreSnapshot:
    engagement = getattr(pack, "engagement", None)
    return PackScoreSnapshot(
        pack_id=pack.id,
        ranking_score=scores.ranking_score,
        pack_score=scores.pack_score,
        trend_score=scores.trend_score,
        quality_score=scores.quality_score,
        engagement_score=scores.engagement_score,
        diversity_score=scores.diversity_score,
        cohesion_score=scores.cohesion_score,
        nsfw_level=scores.nsfw_level,
        sensitive_content=scores.sensitive_content,
        sticker_count=scores.sticker_count,
        tags=list(scores.tags),
        scores=scores.as_dict(),
        source_version=pack.version,
        refreshed_at=now,
        published_at=pack.published_at or pack.created_at,
        like_count=engagement.like_count if engagement else 0,
        download_count=engagement.download_count if engagement else 0,
    )


def snapshot_refresh(pack_ids: Iterable[int], *, now: datetime | None = None) -> dict[str, int]:
    """Recompute the snapshots of these packs: upsert the listed ones, delete the others."""
    now = now or timezone.now()
    ids = sorted(set(int(i) for i in pack_ids))
    if not ids:
        return {"refreshed": 0, "removed": 0}
    listed = list(_with_engagement(selectors.pack_listed_queryset().filter(id__in=ids)))
    listed_ids = {p.id for p in listed}
    # Packs made listed without a service (demo, bench, direct rows) are marked here.
    unmarked = [p.id for p in listed if p.first_listed_at is None]
    if unmarked:
        StickerPack.objects.filter(id__in=unmarked, first_listed_at__isnull=True).update(first_listed_at=now)
    removed, _ = PackScoreSnapshot.objects.filter(pack_id__in=[i for i in ids if i not in listed_ids]).delete()
    if listed:
        scores = pack_scores_live(listed, now=now)
        rows = [_snapshot_row(pack, scores[pack.id], now) for pack in listed]
        # MySQL/MariaDB upsert on any unique key and refuse a named target; SQLite needs one.
        target = ["pack"] if connection.features.supports_update_conflicts_with_target else None
        PackScoreSnapshot.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=target, update_fields=SNAPSHOT_FIELDS
        )
        pack_reads_changed(pack.pack_key for pack in listed)
    return {"refreshed": len(listed), "removed": removed}


def snapshot_sweep(*, batch_size: int = SWEEP_BATCH_SIZE, now: datetime | None = None) -> dict[str, int]:
    """Refresh every listed pack and drop snapshots of packs no longer listed, by keyset on id.

    Each batch is scored and stamped at its own time (`now` pins one time for all, for tests): a
    sweep that takes minutes at a million packs stamps its last batch when it computed it, so a
    snapshot's age is at most the time between two sweeps reaching it, not that plus the sweep."""
    totals = {"refreshed": 0, "removed": 0}
    last_id = 0
    while True:
        ids = list(
            selectors.pack_listed_queryset()
            .filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            break
        result = snapshot_refresh(ids, now=now or timezone.now())
        totals["refreshed"] += result["refreshed"]
        last_id = ids[-1]
    # Snapshots whose pack left the listing (unpublished, hidden, deleted, archived).
    last_id = 0
    while True:
        stale = list(
            PackScoreSnapshot.objects.filter(pack_id__gt=last_id)
            .exclude(pack__in=selectors.pack_listed_queryset())
            .order_by("pack_id")
            .values_list("pack_id", flat=True)[:batch_size]
        )
        if not stale:
            break
        totals["removed"] += PackScoreSnapshot.objects.filter(pack_id__in=stale).delete()[0]
        last_id = stale[-1]
    return totals


def snapshot_is_fresh(snapshot: PackScoreSnapshot | None, pack: StickerPack, *, now: datetime | None = None) -> bool:
    """Usable for reads: present, of the pack's current version, and not older than the limit."""
    if snapshot is None or snapshot.source_version != pack.version:
        return False
    now = now or timezone.now()
    return (now - snapshot.refreshed_at).total_seconds() <= settings.SNAPSHOT_MAX_STALENESS_SECONDS


def snapshot_stalest_age_seconds(*, now: datetime | None = None) -> float:
    oldest = PackScoreSnapshot.objects.aggregate(oldest=Min("refreshed_at"))["oldest"]
    if oldest is None:
        return 0.0
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds())
