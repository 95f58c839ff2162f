"""Storing sticker bytes as globally deduplicated assets."""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from catalog.models import StickerAsset


def asset_storage_key(sha256: str) -> str:
    return f"stickers/{sha256[:2]}/{sha256}.webp"


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
    """Return the asset for these bytes, creating it (and storing the bytes) if it is new.

    The unique sha256 makes two concurrent uploads of the same bytes end in one row: the
    loser of the insert race reads the winner's row.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    existing = StickerAsset.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing, False
    key = asset_storage_key(sha256)
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(data))
    try:
        with transaction.atomic():
            asset = StickerAsset.objects.create(
                sha256=sha256,
                owner=owner,
                mimetype=mimetype,
                is_animated=is_animated,
                width=width,
                height=height,
                size_bytes=len(data),
                storage_key=key,
                perceptual_hash=perceptual_hash,
            )
    except IntegrityError:
        return StickerAsset.objects.get(sha256=sha256), False
    return asset, True
