"""Aggregates for the public API (SPEC §3): catalog stats, creators, marketplace stats.

Only listed packs count; the aggregates are cached briefly because they scan. A creator is a user
(the packs' owner), never the free-text publisher of a pack.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog import selectors
from catalog.models import InteractionEvent, PackEngagement, PackScoreSnapshot, StickerAsset, StickerPackItem
from catalog.services.creators import creator_display_name, creator_is_verified, creator_users

CACHE_PREFIX = "catalog:stats:"
SERIES_DAYS = 7
PROLIFIC_PACKS = 5
LOVED_LIKES = 100


def cached(name: str, compute, *, seconds: int | None = None):
    seconds = settings.MARKETPLACE_STATS_CACHE_SECONDS if seconds is None else seconds
    key = CACHE_PREFIX + name
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def catalog_stats() -> dict:
    def compute():
        listed = selectors.pack_listed_queryset()
        packs = listed.aggregate(total=Count("id"), creators=Count("owner", distinct=True))
        stickers = StickerPackItem.objects.filter(pack__in=listed).aggregate(n=Count("asset", distinct=True))["n"]
        downloads = PackEngagement.objects.filter(pack__in=listed).aggregate(n=Sum("download_count"))["n"]
        return {
            "packs_total": packs["total"],
            "stickers_total": stickers,
            "creators_total": packs["creators"],
            "downloads_total": downloads or 0,
        }

    return cached("catalog", compute)


def creator_score(*, avg_pack_score: float, packs_count: int, total_likes: int, total_opens: int) -> float:
    """Mean pack quality, plus diminishing credit for volume and audience."""
    return round(
        avg_pack_score
        + 0.05 * math.log1p(packs_count)
        + 0.03 * math.log1p(total_likes)
        + 0.01 * math.log1p(total_opens),
        6,
    )


def creators(*, limit: int = 20) -> list[dict]:
    """Owners of listed packs ranked by creator score: display name, staff-given verified badge and
    stats over their own packs (`owner_id` is for creators_top_snapshots, not for the response)."""

    def compute():
        rows = (
            selectors.pack_listed_queryset()
            .filter(owner__isnull=False)
            .values("owner")
            .annotate(
                packs_count=Count("id"),
                total_likes=Sum("engagement__like_count"),
                total_opens=Sum("engagement__open_count"),
                avg_pack_score=Avg("snapshot__pack_score"),
            )
            .order_by()
        )
        rows = list(rows)
        users = creator_users([row["owner"] for row in rows])
        ranked = []
        for row in rows:
            user = users[row["owner"]]
            stats = {
                "packs_count": row["packs_count"],
                "total_likes": row["total_likes"] or 0,
                "total_opens": row["total_opens"] or 0,
                "avg_pack_score": round(row["avg_pack_score"] or 0.0, 6),
            }
            badges = []
            if stats["packs_count"] >= PROLIFIC_PACKS:
                badges.append("prolific")
            if stats["total_likes"] >= LOVED_LIKES:
                badges.append("loved")
            verified = creator_is_verified(user)
            if verified:
                badges.append("verified")
            ranked.append(
                {
                    "owner_id": user.pk,
                    "publisher": creator_display_name(user),
                    "verified": verified,
                    "badges": badges,
                    "creator_score": creator_score(
                        avg_pack_score=stats["avg_pack_score"],
                        packs_count=stats["packs_count"],
                        total_likes=stats["total_likes"],
                        total_opens=stats["total_opens"],
                    ),
                    "stats": stats,
                }
            )
        ranked.sort(key=lambda c: (-c["creator_score"], c["publisher"], c["owner_id"]))
        return ranked[:100]

    return cached("creators", compute)[:limit]


def creators_top_snapshots(owner_ids: list[int]) -> dict[int, PackScoreSnapshot]:
    """Each owner's best listed, safe pack by ranking (one query per creators page)."""
    best: dict[int, PackScoreSnapshot] = {}
    if not owner_ids:
        return best
    rows = (
        selectors.snapshot_list_queryset(safe_only=True)
        .filter(pack__owner_id__in=owner_ids)
        .select_related("pack", "pack__engagement")
        .order_by("-ranking_score", "-pack_id")
    )
    for snap in rows.iterator(chunk_size=500):
        best.setdefault(snap.pack.owner_id, snap)
        if len(best) == len(owner_ids):
            break
    return best


def marketplace_stats() -> dict:
    def compute():
        now = timezone.now()
        since = (now - timedelta(days=SERIES_DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        listed = selectors.pack_listed_queryset()
        engagement = PackEngagement.objects.filter(pack__in=listed).aggregate(
            clicks=Sum("open_count"), likes=Sum("like_count")
        )
        recent_events = InteractionEvent.objects.filter(created_at__gte=since, counted=True, pack__in=listed)
        clicks_by_day = _by_day(recent_events.filter(interaction="open"), "created_at")
        likes_by_day = _by_day(recent_events.filter(interaction="like"), "created_at")
        packs_by_day = _by_day(listed.filter(published_at__gte=since), "published_at")
        stickers_by_day = _by_day(StickerAsset.objects.filter(created_at__gte=since), "created_at")
        days = [(since + timedelta(days=i)).date() for i in range(SERIES_DAYS)]
        return {
            "total_packs": listed.count(),
            "total_stickers": StickerPackItem.objects.filter(pack__in=listed).aggregate(
                n=Count("asset", distinct=True)
            )["n"],
            "total_clicks": engagement["clicks"] or 0,
            "total_likes": engagement["likes"] or 0,
            "packs_last_7_days": sum(packs_by_day.values()),
            "stickers_without_pack": StickerAsset.objects.filter(pack_items__isnull=True).count(),
            "clicks_last_7_days": sum(clicks_by_day.values()),
            "likes_last_7_days": sum(likes_by_day.values()),
            "series_last_7_days": [
                {
                    "date": day.isoformat(),
                    "packs_published": packs_by_day.get(day, 0),
                    "stickers_created": stickers_by_day.get(day, 0),
                    "clicks": clicks_by_day.get(day, 0),
                    "likes": likes_by_day.get(day, 0),
                }
                for day in days
            ],
            "updated_at": now.isoformat().replace("+00:00", "Z"),
            "cache_seconds": settings.MARKETPLACE_STATS_CACHE_SECONDS,
        }

    return cached("marketplace", compute)


def _by_day(queryset, field: str) -> dict:
    rows = queryset.annotate(day=TruncDate(field)).values("day").annotate(n=Count("id")).order_by()
    return {row["day"]: row["n"] for row in rows}


def orphan_stickers_page(*, limit: int, offset: int) -> tuple[list, bool]:
    rows = list(selectors.orphan_assets_queryset()[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit
