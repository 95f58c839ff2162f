"""Catalog reads."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog.models import StickerPack

LISTED = {
    "visibility": StickerPack.Visibility.PUBLIC,
    "status": StickerPack.Status.PUBLISHED,
    "pack_status": StickerPack.PackStatus.READY,
    "deleted_at": None,
}


def listed_packs_q(prefix: str = "") -> Q:
    """Publicly listed: public, published, ready, not deleted (SPEC §2). `prefix` reaches the
    pack through a relation (e.g. "pack__" from the snapshot table)."""
    return Q(**{f"{prefix}{field}": value for field, value in LISTED.items()})


def pack_is_listed(pack: StickerPack) -> bool:
    """listed_packs_q() for a pack already in memory."""
    return all(getattr(pack, field) == value for field, value in LISTED.items())


def pack_listed_queryset() -> QuerySet[StickerPack]:
    return StickerPack.objects.filter(listed_packs_q())


def marked_sensitive_q(prefix: str = "") -> Q:
    """Marked sensitive by the owner or by staff (StickerPack.marked_sensitive in SQL)."""
    return Q(**{f"{prefix}is_sensitive": True}) | Q(**{f"{prefix}moderation_sensitive": True})


def normal_pack_key(pack_key: str) -> str:
    """Pack keys are stored in lower case; every lookup by a key from outside lower-cases it, so
    `DEMO-CATS-1` reaches `demo-cats-1` on SQLite as MariaDB's collation would, and both URLs
    share one cache entry (catalog.api.cache)."""
    return pack_key.lower()


def pack_is_visible_to(pack: StickerPack, viewer) -> bool:
    """Reachable by key: public or unlisted and published, or owned by the viewer (not deleted)."""
    if pack.deleted_at is not None:
        return False
    if viewer is not None and viewer.is_authenticated and pack.owner_id == viewer.pk:
        return True
    return pack.status == StickerPack.Status.PUBLISHED and pack.visibility != StickerPack.Visibility.PRIVATE


def pack_get_visible(*, pack_key: str, viewer) -> StickerPack | None:
    pack = (
        StickerPack.objects.filter(pack_key=normal_pack_key(pack_key), deleted_at__isnull=True)
        .select_related("engagement", "snapshot")
        .first()
    )
    return pack if pack is not None and pack_is_visible_to(pack, viewer) else None


# --- Listing over the snapshot table (SPEC §2.2, §3) ------------------------------------

# sort name → snapshot column it orders by (descending, ties broken by pack id descending).
SORT_ALIASES = {
    "ranking": "ranking",
    "popular": "ranking",
    "trending": "trending",
    "recent": "recent",
    "new": "recent",
    "likes": "likes",
    "liked": "likes",
    "comments": "likes",
    "downloads": "downloads",
}
SORT_COLUMNS = {
    "ranking": "ranking_score",
    "trending": "trend_score",
    "recent": "published_at",
    "likes": "like_count",
    "downloads": "download_count",
}


def snapshot_list_queryset(*, q: str = "", categories: list[str] | None = None, safe_only: bool = True):
    from catalog.models import NsfwLevel, PackScoreSnapshot

    qs = PackScoreSnapshot.objects.filter(listed_packs_q("pack__"))
    if safe_only:
        # The pack's own marks too: a staff or owner mark hides it at once, before its snapshot is
        # refreshed (the join to the pack is there for `listed` already).
        qs = qs.filter(nsfw_level=NsfwLevel.SAFE, sensitive_content=False).exclude(marked_sensitive_q("pack__"))
    if q:
        qs = qs.filter(
            Q(pack__name__icontains=q)
            | Q(pack__publisher__icontains=q)
            | Q(pack__description__icontains=q)
            | Q(tags__icontains=q)
        )
    if categories:
        match = Q()
        for category in categories:
            # tags is a JSON list of lower-case strings: match one whole element.
            match |= Q(tags__icontains=f'"{category}"')
        qs = qs.filter(match)
    return qs


def listed_for_viewer(
    *, anonymous: bool, include_sensitive: bool = False, q: str = "", categories: list[str] | None = None
):
    """Snapshots of the packs listed and safe for this viewer: the one definition the API list and
    the web pages read. Anonymous viewers get `safe` packs only; a logged-in viewer may ask for
    sensitive ones too."""
    return snapshot_list_queryset(q=q, categories=categories, safe_only=anonymous or not include_sensitive)


def snapshot_page(queryset, *, sort: str, limit: int, offset: int = 0, after: tuple | None = None) -> tuple[list, bool]:
    """One page in global order: keyset (`after` = (value, pack_id, ids to skip)) or offset; one query.

    Returns (snapshots with pack, engagement and cover loaded, has_more).
    """
    column = SORT_COLUMNS[sort]
    qs = queryset.select_related("pack", "pack__engagement").order_by(f"-{column}", "-pack_id")
    if after is not None:
        value, pack_id, seen = after
        qs = qs.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value, "pack_id__lt": pack_id}))
        if seen:
            qs = qs.exclude(pack_id__in=seen)
        rows = list(qs[: limit + 1])
    else:
        rows = list(qs[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit


def popular_categories(
    *, anonymous: bool, include_sensitive: bool = False, limit: int = 12, scan: int = 500
) -> list[str]:
    """The tags most common among the top `scan` packs listed for this viewer, by ranking (the
    browse page's category chips): bounded work whatever the catalog's size, over the rows lists show."""
    from collections import Counter

    listed = listed_for_viewer(anonymous=anonymous, include_sensitive=include_sensitive)
    rows = listed.order_by("-ranking_score", "-pack_id").values_list("tags")
    counts = Counter(str(tag) for (tags,) in rows[:scan] for tag in (tags or []) if tag)
    return [tag for tag, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def sort_value(snapshot, sort: str):
    return getattr(snapshot, SORT_COLUMNS[sort])


def first_item_assets(pack_ids: list[int]) -> dict[int, int]:
    """pack id → asset id of its first item, for packs without an explicit cover (one query)."""
    from catalog.models import StickerPackItem

    if not pack_ids:
        return {}
    return dict(StickerPackItem.objects.filter(pack_id__in=pack_ids, position=1).values_list("pack_id", "asset_id"))


def pack_items(pack: StickerPack):
    return list(pack.items.select_related("asset", "asset__classification").order_by("position"))


def withheld_packs_q(prefix: str = "") -> Q:
    """User packs whose stickers stay out of public lists of loose stickers: never listed, private
    now, deleted, marked sensitive, or held by staff."""
    return Q(**{f"{prefix}is_auto_pack": False}) & (
        Q(**{f"{prefix}first_listed_at__isnull": True})
        | Q(**{f"{prefix}visibility": StickerPack.Visibility.PRIVATE})
        | Q(**{f"{prefix}deleted_at__isnull": False})
        | Q(**{f"{prefix}moderation_hold": True})
        | marked_sensitive_q(prefix)
    )


def orphan_assets_queryset():
    """Safe stickers in no listed pack that were public once (SPEC §3 orphan-stickers): every pack
    holding one was publicly listed at some point and none is private, deleted, sensitive or held
    now. Assets in no pack at all are not shown (nothing says they were ever public)."""
    from catalog.models import StickerAsset, StickerPackItem

    held = StickerPackItem.objects.filter(asset=OuterRef("pk"))
    return (
        StickerAsset.objects.filter(Exists(held))
        .exclude(Exists(held.filter(listed_packs_q("pack__"))))
        .exclude(Exists(held.filter(withheld_packs_q("pack__"))))
        .exclude(classification__is_nsfw=True)
        .select_related("classification")
        .order_by("-created_at", "-id")
    )


# --- Engagement caps (staff) -------------------------------------------------------------


def networks_over_caps(*, since, limit: int = 50) -> list[dict]:
    """The networks with the most suppressed interactions since `since`, most first: each
    {network_key, suppressed, packs, first_at, last_at} (network keys are hashes, never addresses)."""
    from django.db.models import Count, Max, Min

    from catalog.models import InteractionEvent

    return list(
        InteractionEvent.objects.filter(counted=False, created_at__gte=since)
        .exclude(network_key="")
        .values("network_key")
        .annotate(
            suppressed=Count("id"),
            packs=Count("pack", distinct=True),
            first_at=Min("created_at"),
            last_at=Max("created_at"),
        )
        .order_by("-suppressed", "network_key")[:limit]
    )
