"""Aggregates of the catalog (SPEC §3): catalog stats and marketplace stats. Only listed packs
count; the aggregates are cached briefly (MARKETPLACE_STATS_CACHE_SECONDS) because they scan."""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import InteractionEvent, PackEngagement, StickerAsset, StickerPackItem
from catalog.selectors.packs import pack_listed_queryset

CACHE_PREFIX = "catalog:stats:"
SERIES_DAYS = 7


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
        listed = pack_listed_queryset()
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


def marketplace_stats() -> dict:
    def compute():
        now = timezone.now()
        since = (now - timedelta(days=SERIES_DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        listed = pack_listed_queryset()
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
