"""Sticker uploads (SPEC §2.1): convert outside any transaction, then add the item under the
pack's row lock so concurrent uploads never pass the 30-item limit nor clash on position.

Stored bytes are content-addressed and written before the rows (catalog.services.assets); they
are never deleted here: bytes a failed upload left without a row are removed later by the
`orphan_bytes` pruner (assets.asset_bytes_prune), once they are older than its grace period.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from catalog.errors import CatalogError, Conflict
from catalog.models import StickerPack, StickerPackItem
from catalog.names import EventType
from catalog.services.assets import (
    asset_bytes_store,
    asset_row_get_or_create,
    asset_storage_key,
    asset_write_through_schedule,
    sticker_fields,
)
from catalog.services.images import ImageRejected, convert_upload
from catalog.services.packs import owned_pack_for_update, pack_changed
from catalog.validation import bounded_list, clean_text, split_bounded
from outbox.services import publish

MAX_EMOJIS = 10
EMOJI_MAX = 16  # characters of one emoji (ZWJ sequences and modifiers included)
UPLOAD_ID_MAX = 64
LABEL_MAX = 255


@dataclass(frozen=True)
class UploadResult:
    item: StickerPackItem
    created: bool  # False: the same image or upload_id was already in the pack


def clean_emojis(raw) -> list[str]:
    """At most MAX_EMOJIS emojis, counted before any per-emoji work."""
    if raw in (None, ""):
        return []
    if isinstance(raw, list):
        values = bounded_list(raw, "emojis", max_items=MAX_EMOJIS)
    else:
        values = split_bounded(str(raw), "emojis", max_items=MAX_EMOJIS, separators=", \t\n")
    return [clean_text(str(e), "emojis", max_length=EMOJI_MAX) for e in values if str(e).strip()]


def clean_upload_id(raw) -> str | None:
    if raw in (None, ""):
        return None
    value = clean_text(str(raw), "upload_id", max_length=UPLOAD_ID_MAX)
    return value or None


def clean_label(raw) -> str:
    return clean_text(raw or "", "accessibility_label", max_length=LABEL_MAX)


def _existing_item(pack: StickerPack, *, upload_id: str | None, sha256: str | None):
    if upload_id:
        item = StickerPackItem.objects.filter(pack=pack, upload_id=upload_id).select_related("asset").first()
        if item is not None:
            return item
    if sha256:
        return StickerPackItem.objects.filter(pack=pack, asset__sha256=sha256).select_related("asset").first()
    return None


def _check_room(pack: StickerPack) -> int:
    count = StickerPackItem.objects.filter(pack=pack).count()
    if count >= settings.STICKER_PACK_MAX_ITEMS:
        raise Conflict(f"the pack already holds {settings.STICKER_PACK_MAX_ITEMS} stickers", code="PACK_FULL")
    return count


def sticker_upload(
    *, user, pack_key: str, data: bytes, emojis=None, accessibility_label: str = "", upload_id=None, request_id=""
) -> UploadResult:
    emojis = clean_emojis(emojis)
    upload_id = clean_upload_id(upload_id)
    label = clean_label(accessibility_label)
    # Cheap checks first (ownership, idempotent retry, room), without holding a lock.
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        existing = _existing_item(pack, upload_id=upload_id, sha256=None)
        if existing is not None:
            return UploadResult(item=existing, created=False)
        _check_room(pack)
    try:
        sticker = convert_upload(data)
    except ImageRejected as exc:
        raise CatalogError(exc.message, code=exc.code, status=exc.status) from None
    sha256 = hashlib.sha256(sticker.data).hexdigest()
    key = asset_storage_key(sha256)
    asset_bytes_store(key, sticker.data)
    result = _add_item(
        user=user,
        pack_key=pack_key,
        sticker=sticker,
        sha256=sha256,
        emojis=emojis,
        label=label,
        upload_id=upload_id,
        request_id=request_id,
    )
    # The deletion of the last other asset on these bytes (assets.asset_delete, after its commit)
    # may have removed them between our write and our commit: our row needs them.
    asset_bytes_store(key, sticker.data)
    return result


def _add_item(*, user, pack_key, sticker, sha256, emojis, label, upload_id, request_id) -> UploadResult:
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        existing = _existing_item(pack, upload_id=upload_id, sha256=sha256)
        if existing is not None:
            return UploadResult(item=existing, created=False)
        count = _check_room(pack)
        asset, created = asset_row_get_or_create(
            sha256=sha256, data=sticker.data, owner=user, **sticker_fields(sticker)
        )
        if created:
            publish(
                event_type=EventType.STICKER_ASSET_CREATED,
                aggregate_type="asset",
                aggregate_id=asset.id,
                payload={"asset_id": asset.id, "pack_id": pack.id},
                idempotency_key=f"asset-created:{asset.id}",
                request_id=request_id,
            )
        # Write-through to the object store: a task queued in this transaction, run after commit.
        asset_write_through_schedule(asset)
        item = StickerPackItem.objects.create(
            pack=pack,
            asset=asset,
            position=count + 1,
            emojis=emojis,
            accessibility_label=label,
            upload_id=upload_id,
        )
        fields = []
        if pack.cover_id is None:
            pack.cover = asset
            fields.append("cover")
        pack_changed(pack, fields=fields, content=True, request_id=request_id)
    return UploadResult(item=item, created=True)
