"""Stored sticker bytes and their asset rows.

Bytes are deduplicated globally: one storage key per sha256, written before the rows that
reference it; a writer whose transaction then fails deletes them again unless a row uses them.
Rows are per owner (unique owner + sha256): the same image uploaded by two users is two assets
sharing one stored file, so neither user's packs, hints or marks reach the other's asset, and
an upload's answer does not reveal that someone else holds the image. Two concurrent inserts of
the same owner and sha256 end in one row: the loser of the insert race reads the winner's row.
"""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from catalog.errors import CatalogError
from catalog.models import StickerAsset


def asset_storage_key(sha256: str) -> str:
    return f"stickers/{sha256[:2]}/{sha256}.webp"


def asset_bytes_store(key: str, data: bytes) -> bool:
    """Write the bytes unless they are there already; True when this call wrote them."""
    if default_storage.exists(key):
        return False
    try:
        default_storage.save(key, ContentFile(data))
    except OSError as exc:
        raise CatalogError("could not store the sticker", code="STORAGE_ERROR", status=503) from exc
    return True


def asset_bytes_open(asset: StickerAsset):
    """A binary file of the asset's stored bytes (the sticker URL and the pack download read here)."""
    try:
        return default_storage.open(asset.storage_key, "rb")
    except OSError as exc:
        raise CatalogError("sticker bytes are not available", code="STORAGE_ERROR", status=503) from exc


def asset_bytes_forget(key: str) -> None:
    """Delete bytes a failed write left behind, unless an asset row uses them."""
    if not StickerAsset.objects.filter(storage_key=key).exists():
        default_storage.delete(key)


def asset_row_get_or_create(*, sha256: str, data: bytes, owner, **fields) -> tuple[StickerAsset, bool]:
    """The owner's row for these bytes (already stored), created if new; safe inside a transaction."""
    mine = StickerAsset.objects.filter(sha256=sha256, owner=owner)
    existing = mine.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            asset = StickerAsset.objects.create(
                sha256=sha256, storage_key=asset_storage_key(sha256), size_bytes=len(data), owner=owner, **fields
            )
    except IntegrityError:
        return mine.get(), False
    return asset, True


def sticker_fields(sticker) -> dict:
    """The asset columns a converted sticker (catalog.services.images.ConvertedSticker) fills."""
    return {
        "mimetype": sticker.mimetype,
        "is_animated": sticker.is_animated,
        "width": sticker.width,
        "height": sticker.height,
        "perceptual_hash": sticker.perceptual_hash,
    }


def asset_get_or_create(
    *,
    data: bytes,
    owner,
    mimetype: str,
    is_animated: bool,
    width: int | None,
    height: int | None,
    perceptual_hash: str = "",
) -> tuple[StickerAsset, bool]:
    """Store the bytes and return their asset, creating it if it is new."""
    sha256 = hashlib.sha256(data).hexdigest()
    asset_bytes_store(asset_storage_key(sha256), data)
    return asset_row_get_or_create(
        sha256=sha256,
        data=data,
        owner=owner,
        mimetype=mimetype,
        is_animated=is_animated,
        width=width,
        height=height,
        perceptual_hash=perceptual_hash,
    )
