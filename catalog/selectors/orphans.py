"""Loose stickers (SPEC §3 orphan-stickers): safe stickers in no listed pack that were public once."""

from django.db.models import Exists, OuterRef, Q

from catalog.models import StickerPack
from catalog.selectors.packs import listed_packs_q, marked_sensitive_q


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


def orphan_stickers_page(*, limit: int, offset: int) -> tuple[list, bool]:
    """One page of them, newest first, and whether more follow (one query)."""
    rows = list(orphan_assets_queryset()[offset : offset + limit + 1])
    return rows[:limit], len(rows) > limit
