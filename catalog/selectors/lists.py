"""One page of the ranked catalog for a viewer (SPEC §2.2, §3): ordered globally in SQL over the
snapshot table, by offset or keyset; scores from the snapshots, or computed live for viewers
outside the snapshot-read rollout."""

from dataclasses import dataclass

from catalog.selectors.packs import (
    PackCard,
    listed_for_viewer,
    pack_cards,
    snapshot_page,
    snapshot_reads_on,
    sort_value,
)
from catalog.services import snapshots


@dataclass(frozen=True, slots=True)
class PackPage:
    cards: list[PackCard]
    has_more: bool
    # (sort value, pack id) of the last row and the ids served: what a keyset cursor continues from.
    last: tuple | None
    pack_ids: list[int]


def pack_list(
    *,
    sort: str,
    limit: int,
    offset: int = 0,
    after: tuple | None = None,
    q: str = "",
    categories: list[str] | None = None,
    include_sensitive: bool = False,
    anonymous: bool,
    viewer_key: str,
) -> PackPage:
    """`sort` is a catalog.selectors.SORT_COLUMNS name; `after` = (sort value, pack id, ids to skip)
    continues a keyset page (then `offset` only counts). Anonymous viewers get safe packs only."""
    queryset = listed_for_viewer(
        anonymous=anonymous, include_sensitive=include_sensitive and not anonymous, q=q, categories=categories
    )
    page, has_more = snapshot_page(queryset, sort=sort, limit=limit, offset=offset, after=after)
    live = None if snapshot_reads_on(viewer_key) else snapshots.pack_scores_live([s.pack for s in page])
    cards = pack_cards([(snap.pack, live[snap.pack_id] if live else snap, snap.sticker_count) for snap in page])
    last = (sort_value(page[-1], sort), page[-1].pack_id) if page else None
    return PackPage(cards=cards, has_more=has_more, last=last, pack_ids=[snap.pack_id for snap in page])
