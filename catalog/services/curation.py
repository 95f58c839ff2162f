"""Auto packs (SPEC §5.1): curation groups classified public stickers by theme into
`[AUTO] <Theme> • Vol. N` packs; rebuild re-derives the groups and removes what no longer fits.

Both hold one database lease ("auto-packs"), so they never touch auto packs at the same time
on any host; a cycle that finds it held returns `skipped` (the holder is doing the work). The
lease is renewed while a cycle runs; a cycle whose lease was taken over anyway (e.g. a thread
abandoned at the task time limit) stops at its next unit of work and returns `lost`.
NSFW stickers (classified NSFW, or in a public pack marked sensitive by its owner or staff) go to
their own sensitive auto packs, never into safe ones. Auto packs belong to the system account
(catalog.services.creators.system_account), whose verified creator name is AUTO_PACK_PUBLISHER.
Near-duplicates (perceptual hash within a few bits) are dropped.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import AssetClassification, StickerPack, StickerPackItem
from catalog.names import TaskName
from catalog.selectors import marked_sensitive_q, normal_pack_key
from catalog.services.creators import system_account
from catalog.services.images import phash_distance, phash_value
from catalog.services.packs import compact_positions, pack_changed
from workers.locks import HeldLease, LeaseBusy, LeaseLost, held_lease
from workers.metrics import cycle_measured

logger = logging.getLogger(__name__)

LOCK_NAME = "auto-packs"
READY_AT = 20
BUILDING_AT = 12


@dataclass
class Candidate:
    asset_id: int
    theme_key: str
    phash: int | None


@dataclass
class Group:
    theme_key: str
    candidates: list[Candidate] = field(default_factory=list)


def theme_title(theme_key: str) -> str:
    sensitive = theme_key.startswith("nsfw-")
    title = theme_key.removeprefix("nsfw-").replace("-", " ").replace("_", " ").title()
    return f"{title} (Sensitive)" if sensitive else title


def auto_pack_name(theme_key: str, volume: int) -> str:
    return f"[AUTO] {theme_title(theme_key)} • Vol. {volume}"


def curation_candidates() -> dict[str, Group]:
    """Classified stickers in public, published user packs, grouped by theme key."""
    public_items = StickerPackItem.objects.filter(
        pack__visibility=StickerPack.Visibility.PUBLIC,
        pack__status=StickerPack.Status.PUBLISHED,
        pack__deleted_at__isnull=True,
        pack__is_auto_pack=False,
    )
    sensitive_assets = set(public_items.filter(marked_sensitive_q("pack__")).values_list("asset_id", flat=True))
    rows = (
        AssetClassification.objects.filter(asset_id__in=public_items.values("asset_id"))
        .exclude(category="")
        .values_list("asset_id", "category", "is_nsfw", "asset__perceptual_hash")
        .order_by("asset_id")
    )
    groups: dict[str, Group] = {}
    for asset_id, category, is_nsfw, phash in rows:
        nsfw = is_nsfw or asset_id in sensitive_assets
        key = f"nsfw-{category}" if nsfw else category
        groups.setdefault(key, Group(key)).candidates.append(Candidate(asset_id, key, phash_value(phash)))
    return groups


class NearDuplicateIndex:
    """Perceptual hashes seen so far, indexed by 8-bit bands: two hashes within 7 bits of each
    other share at least one band, so only band-mates need a full comparison."""

    BANDS = 8

    def __init__(self, max_bits: int):
        self.max_bits = min(max_bits, self.BANDS - 1)
        self._bands: dict[tuple[int, int], list[int]] = defaultdict(list)

    def _keys(self, value: int):
        return [(band, (value >> (band * 8)) & 0xFF) for band in range(self.BANDS)]

    def is_near_duplicate(self, value: int | None) -> bool:
        if value is None:
            return False
        for key in self._keys(value):
            for other in self._bands.get(key, ()):
                if phash_distance(value, other) <= self.max_bits:
                    return True
        return False

    def add(self, value: int | None) -> None:
        if value is not None:
            for key in self._keys(value):
                self._bands[key].append(value)


def auto_packs_by_theme() -> dict[str, list[StickerPack]]:
    packs: dict[str, list[StickerPack]] = defaultdict(list)
    for pack in StickerPack.objects.filter(is_auto_pack=True, deleted_at__isnull=True).order_by("theme_key", "volume"):
        packs[pack.theme_key].append(pack)
    return packs


def _members(packs: list[StickerPack]) -> dict[int, list[StickerPackItem]]:
    items: dict[int, list[StickerPackItem]] = defaultdict(list)
    for item in (
        StickerPackItem.objects.filter(pack__in=packs).select_related("asset").order_by("pack__volume", "position")
    ):
        items[item.pack_id].append(item)
    return items


def pack_status_for(count: int) -> str:
    if count >= READY_AT:
        return StickerPack.PackStatus.READY
    if count >= BUILDING_AT:
        return StickerPack.PackStatus.BUILDING
    return StickerPack.PackStatus.ARCHIVED


def _settle(pack: StickerPack, fields: list[str]) -> None:
    """Fix cover and status from the items, then save with a PACK_UPDATED event."""
    first = StickerPackItem.objects.filter(pack=pack).order_by("position").first()
    cover_id = first.asset_id if first else None
    if pack.cover_id != cover_id:
        pack.cover_id = cover_id
        fields.append("cover")
    status = pack_status_for(StickerPackItem.objects.filter(pack=pack).count())
    if pack.pack_status != status:
        pack.pack_status = status
        fields.append("pack_status")
    pack_changed(pack, fields=fields, content=True)


def _new_volume(theme_key: str, volume: int) -> StickerPack:
    now = timezone.now()
    return StickerPack.objects.create(
        pack_key=normal_pack_key(f"auto-{theme_key}-vol-{volume}"[:150]),
        owner=system_account(),
        name=auto_pack_name(theme_key, volume)[:120],
        publisher=settings.AUTO_PACK_PUBLISHER[:120],
        description=f"Stickers about {theme_title(theme_key).lower()}, gathered by Packyard.",
        tags=[theme_key.removeprefix("nsfw-")],
        visibility=StickerPack.Visibility.PUBLIC,
        status=StickerPack.Status.PUBLISHED,
        pack_status=StickerPack.PackStatus.ARCHIVED,
        is_auto_pack=True,
        theme_key=theme_key,
        volume=volume,
        is_sensitive=theme_key.startswith("nsfw-"),
        created_at=now,
        updated_at=now,
        content_updated_at=now,
        published_at=now,
    )


def _curate_theme(group: Group, packs: list[StickerPack], budget: int, max_bits: int, lease: HeldLease) -> int:
    """Add this theme's new, non-duplicate stickers to its volumes; returns how many were added."""
    members = _members(packs)
    index = NearDuplicateIndex(max_bits)
    present = set()
    for pack in packs:
        for item in members[pack.id]:
            present.add(item.asset_id)
            index.add(phash_value(item.asset.perceptual_hash))
    additions = []
    for candidate in group.candidates:
        if len(additions) >= budget:
            break
        if candidate.asset_id in present or index.is_near_duplicate(candidate.phash):
            continue
        index.add(candidate.phash)
        present.add(candidate.asset_id)
        additions.append(candidate)
    if not additions:
        return 0
    capacity = settings.STICKER_PACK_MAX_ITEMS
    queue = list(additions)
    volume = max((p.volume or 0 for p in packs), default=0)
    targets = [p for p in packs if len(members[p.id]) < capacity]
    while queue:
        with transaction.atomic():
            lease.check()
            if targets:
                pack = StickerPack.objects.select_for_update().get(pk=targets.pop(0).pk)
            else:
                volume += 1
                pack = _new_volume(group.theme_key, volume)
            count = StickerPackItem.objects.filter(pack=pack).count()
            batch, queue = queue[: capacity - count], queue[capacity - count :]
            StickerPackItem.objects.bulk_create(
                StickerPackItem(pack=pack, asset_id=c.asset_id, position=count + i + 1) for i, c in enumerate(batch)
            )
            _settle(pack, [])
    return len(additions)


def _exclusive_cycle(name: str, body: Callable[[dict, HeldLease], None]) -> dict:
    """Run `body(counts, lease)` holding the auto-pack lease, measured as cycle `name`; `skipped`
    when another curation or rebuild holds it, `lost` when it was taken over while running."""
    with cycle_measured(name) as counts:
        try:
            with held_lease(LOCK_NAME, ttl_seconds=settings.AUTO_PACK_LOCK_TTL_SECONDS) as lease:
                body(counts, lease)
        except LeaseBusy:
            counts["skipped"] = 1
        except LeaseLost as lost:
            logger.warning("%s stopped: %s", name, lost)
            counts["lost"] = 1
    return dict(counts)


def _curate(counts: dict, lease: HeldLease) -> None:
    budget = settings.CURATION_ADD_BUDGET
    max_bits = settings.CURATION_NEAR_DUPLICATE_BITS
    groups = curation_candidates()
    packs = auto_packs_by_theme()
    added = 0
    for theme_key in sorted(groups):
        if added >= budget:
            break
        lease.check()
        added += _curate_theme(groups[theme_key], packs.get(theme_key, []), budget - added, max_bits, lease)
    counts.update(themes=len(groups), candidates=sum(len(g.candidates) for g in groups.values()), added=added)


def curation_cycle() -> dict:
    return _exclusive_cycle(TaskName.CURATION_CYCLE, _curate)


def _misfits(items: list[StickerPackItem], wanted: set[int], index: NearDuplicateIndex) -> list:
    misfits = []
    for item in items:
        phash = phash_value(item.asset.perceptual_hash)
        if item.asset_id not in wanted or index.is_near_duplicate(phash):
            misfits.append(item)
        else:
            index.add(phash)
    return misfits


def _rebuild(counts: dict, lease: HeldLease) -> None:
    budget = settings.REBUILD_REMOVE_BUDGET
    max_bits = settings.CURATION_NEAR_DUPLICATE_BITS
    groups = curation_candidates()
    removed = touched = 0
    for theme_key, packs in sorted(auto_packs_by_theme().items()):
        wanted = {c.asset_id for c in groups.get(theme_key, Group(theme_key)).candidates}
        members = _members(packs)
        index = NearDuplicateIndex(max_bits)
        for pack in packs:
            misfits = _misfits(members[pack.id], wanted, index)[: max(0, budget - removed)]
            if not misfits and pack.pack_status == pack_status_for(len(members[pack.id])):
                continue
            with transaction.atomic():
                lease.check()
                pack = StickerPack.objects.select_for_update().get(pk=pack.pk)
                StickerPackItem.objects.filter(pk__in=[m.pk for m in misfits]).delete()
                compact_positions(pack)
                _settle(pack, [])
            removed += len(misfits)
            touched += 1
    counts.update(removed=removed, packs_touched=touched)


def rebuild_cycle() -> dict:
    """Remove items that no longer fit their auto pack (theme changed, turned NSFW or safe,
    left every public pack, or a near-duplicate), keep positions dense and covers right."""
    return _exclusive_cycle(TaskName.REBUILD_CYCLE, _rebuild)
