"""Catalog reads (STYLE: selectors return rows or plain data and know nothing of HTTP).

- packs: what listed, visible and sensitive mean, the snapshot list querysets, a pack's items
  (re-exported here: most callers want these predicates)
- lists: one page of the ranked catalog for a viewer
- details: a pack for a viewer, the stickers it may take away or fetch
- owner: the owner's dashboard (`me`)
- creators, stats, orphans: the aggregates and the loose stickers
- engagement: suppressed engagement as staff review it

Query-string parsing, cursors and response shapes are the API layer's (catalog.api).
"""

from catalog.selectors.packs import (
    LISTED,
    SNAPSHOT_READ_FLAG,
    SORT_COLUMNS,
    first_item_assets,
    item_is_classified_safe,
    item_is_nsfw,
    listed_for_viewer,
    listed_packs_q,
    marked_sensitive_q,
    normal_pack_key,
    pack_get_visible,
    pack_is_listed,
    pack_is_sensitive,
    pack_is_visible_to,
    pack_items,
    pack_listed_queryset,
    popular_categories,
    snapshot_list_queryset,
    snapshot_page,
    snapshot_reads_on,
    snapshot_reads_share,
    sort_value,
)

__all__ = [
    "LISTED",
    "SNAPSHOT_READ_FLAG",
    "SORT_COLUMNS",
    "first_item_assets",
    "item_is_classified_safe",
    "item_is_nsfw",
    "listed_for_viewer",
    "listed_packs_q",
    "marked_sensitive_q",
    "normal_pack_key",
    "pack_get_visible",
    "pack_is_listed",
    "pack_is_sensitive",
    "pack_is_visible_to",
    "pack_items",
    "pack_listed_queryset",
    "popular_categories",
    "snapshot_list_queryset",
    "snapshot_page",
    "snapshot_reads_on",
    "snapshot_reads_share",
    "sort_value",
]
