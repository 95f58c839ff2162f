"""Catalog reads."""

from django.db.models import Q, QuerySet

from catalog.models import StickerPack


def listed_packs_q() -> Q:
    """Publicly listed: public, published, ready, not deleted (SPEC §2)."""
    return Q(
        visibility=StickerPack.Visibility.PUBLIC,
        status=StickerPack.Status.PUBLISHED,
        pack_status=StickerPack.PackStatus.READY,
        deleted_at__isnull=True,
    )


def pack_listed_queryset() -> QuerySet[StickerPack]:
    return StickerPack.objects.filter(listed_packs_q())


def pack_get_visible(*, pack_key: str, viewer) -> StickerPack | None:
    """A pack reachable by key: public or unlisted and published, or owned by the viewer."""
    pack = StickerPack.objects.filter(pack_key=pack_key, deleted_at__isnull=True).select_related("owner").first()
    if pack is None:
        return None
    is_owner = viewer is not None and viewer.is_authenticated and pack.owner_id == viewer.pk
    if is_owner:
        return pack
    if pack.status == StickerPack.Status.PUBLISHED and pack.visibility in (
        StickerPack.Visibility.PUBLIC,
        StickerPack.Visibility.UNLISTED,
    ):
        return pack
    return None
