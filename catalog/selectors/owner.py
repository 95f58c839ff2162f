"""The owner's dashboard (SPEC §3 `me`): their packs of any status, newest change first, and counts."""

from dataclasses import dataclass

from django.db.models import Count

from catalog.models import StickerPack
from catalog.selectors.packs import EmptySignals, PackCard, pack_cards


@dataclass(frozen=True, slots=True)
class OwnerStats:
    total: int
    published: int
    drafts: int
    private: int
    unlisted: int
    public: int


@dataclass(frozen=True, slots=True)
class OwnerDashboard:
    packs: list[PackCard]
    stats: OwnerStats


def owner_dashboard(*, user) -> OwnerDashboard:
    packs = list(
        StickerPack.objects.filter(owner=user, deleted_at__isnull=True)
        .select_related("engagement", "snapshot")
        .annotate(item_count=Count("items"))
        .order_by("-updated_at", "-id")
    )
    cards = pack_cards(
        [(pack, getattr(pack, "snapshot", None) or EmptySignals.of(pack), pack.item_count) for pack in packs]
    )
    stats = OwnerStats(
        total=len(packs),
        published=sum(p.status == StickerPack.Status.PUBLISHED for p in packs),
        drafts=sum(p.status == StickerPack.Status.DRAFT for p in packs),
        private=sum(p.visibility == StickerPack.Visibility.PRIVATE for p in packs),
        unlisted=sum(p.visibility == StickerPack.Visibility.UNLISTED for p in packs),
        public=sum(p.visibility == StickerPack.Visibility.PUBLIC for p in packs),
    )
    return OwnerDashboard(packs=cards, stats=stats)
