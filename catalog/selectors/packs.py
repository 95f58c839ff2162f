"""What a pack is to a reader: listed or not, visible to whom, marked sensitive; the snapshot
table's list querysets and one page of them; a pack's items."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from catalog.models import NsfwLevel, StickerPack, StickerPackItem
from catalog.selectors.compiled import CompiledQuery
from flags.services import is_enabled, rollout_percent

SNAPSHOT_READ_FLAG = "enable_ranking_snapshot_read"

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


# The detail's two queries, compiled once per process (catalog.selectors.compiled).
_PACK_BY_KEY = CompiledQuery(
    lambda pack_key: (
        StickerPack.objects.filter(pack_key=pack_key, deleted_at__isnull=True)
        .select_related("engagement", "snapshot")
        .order_by("pk")[:1]
    ),
    "\x00pack-key-marker\x00",
)


def pack_get_visible(*, pack_key: str, viewer) -> StickerPack | None:
    found = _PACK_BY_KEY(normal_pack_key(pack_key))
    pack = found[0] if found else None
    return pack if pack is not None and pack_is_visible_to(pack, viewer) else None


# --- Listing over the snapshot table (SPEC §2.2, §3) ------------------------------------

# sort (the API's canonical names, catalog.api.inputs) → snapshot column it orders by (descending,
# ties broken by pack id descending).
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


_ITEMS_OF_PACK = CompiledQuery(
    lambda pack_id: (
        StickerPackItem.objects.filter(pack_id=pack_id)
        .select_related("asset", "asset__classification")
        .order_by("position")
    ),
    -7_340_033,
)


def pack_items(pack: StickerPack) -> list:
    """The pack's items in order, with their assets and classifications (`item.pack` is `pack`)."""
    items = _ITEMS_OF_PACK(pack.id)
    for item in items:
        item.pack = pack
    return items


def snapshot_reads_on(viewer_key: str | Callable[[], str]) -> bool:
    """Lists and details read scores from snapshots for this viewer (the rollout flag), else live.
    `viewer_key` may be a function computing it: it runs only for a partial rollout."""
    return is_enabled(SNAPSHOT_READ_FLAG, subject_key=viewer_key, default=True)


def snapshot_reads_share() -> int:
    """The share of viewers (0..100) snapshot_reads_on admits now; no evaluation is counted."""
    return rollout_percent(SNAPSHOT_READ_FLAG, default=True)


def item_is_nsfw(item, pack) -> bool:
    classification = getattr(item.asset, "classification", None)
    return bool(pack.marked_sensitive or (classification is not None and classification.is_nsfw))


def pack_is_sensitive(pack) -> bool:
    """The owner's or staff's mark, or sensitive content found by the last ranking snapshot."""
    snapshot = getattr(pack, "snapshot", None)
    return bool(pack.marked_sensitive or (snapshot is not None and snapshot.sensitive_content))


def item_is_classified_safe(item, pack) -> bool:
    """Classified, not NSFW, in a pack that is not sensitive: the only stickers any cache may keep
    for long (an unclassified sticker may still turn out NSFW)."""
    classification = getattr(item.asset, "classification", None)
    return classification is not None and not item_is_nsfw(item, pack) and not pack_is_sensitive(pack)


# --- Packs as readers see them ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmptySignals:
    """The signals of a pack with no snapshot yet (drafts in `me`): zeros, its sensitivity the
    owner's or staff's mark. The same attribute names as a snapshot and live ranking.PackScores."""

    nsfw_level: str
    sensitive_content: bool
    ranking_score: float = 0.0
    pack_score: float = 0.0
    trend_score: float = 0.0
    quality_score: float = 0.0
    engagement_score: float = 0.0
    diversity_score: float = 0.0
    cohesion_score: float = 0.0

    @classmethod
    def of(cls, pack: StickerPack) -> "EmptySignals":
        marked = pack.marked_sensitive
        return cls(nsfw_level=NsfwLevel.SUGGESTIVE if marked else NsfwLevel.SAFE, sensitive_content=marked)


@dataclass(frozen=True, slots=True)
class NoEngagement:
    """The counters of a pack nobody has engaged with yet (no PackEngagement row)."""

    open_count: int = 0
    like_count: int = 0
    dislike_count: int = 0
    download_count: int = 0
    updated_at: None = None


NO_ENGAGEMENT = NoEngagement()


def engagement_of(pack: StickerPack):
    """The pack's engagement row (loaded with it), or zeros."""
    return getattr(pack, "engagement", None) or NO_ENGAGEMENT


@dataclass(slots=True)
class PackCard:
    """A pack as a list shows it: the pack (its engagement loaded), its signals (a snapshot, live
    ranking.PackScores or EmptySignals), its sticker count and the asset id of its cover."""

    pack: StickerPack
    signals: object
    sticker_count: int
    cover_asset_id: int | None

    @property
    def engagement(self):
        return engagement_of(self.pack)

    @property
    def is_nsfw(self) -> bool:
        return bool(self.signals.sensitive_content or self.pack.marked_sensitive)


def pack_cards(rows: list[tuple[StickerPack, object, int]]) -> list[PackCard]:
    """A PackCard for each (pack, signals, sticker count); covers of packs without an explicit one
    come from their first item, in one query for all of them."""
    covers = first_item_assets([pack.id for pack, _, _ in rows if pack.cover_id is None])
    return [
        PackCard(pack=pack, signals=signals, sticker_count=count, cover_asset_id=pack.cover_id or covers.get(pack.id))
        for pack, signals, count in rows
    ]


def snapshot_card(snapshot) -> PackCard:
    """The card of a listed pack from its snapshot (pack and engagement loaded with it)."""
    [card] = pack_cards([(snapshot.pack, snapshot, snapshot.sticker_count)])
    return card
