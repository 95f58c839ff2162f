"""Stored sticker bytes and their asset rows.

Bytes are deduplicated globally: one storage key per sha256, written before the rows that
reference it; a writer whose transaction then fails deletes them again unless a row uses them.
Rows are per owner (unique owner + sha256): the same image uploaded by two users is two assets
sharing one stored file, so neither user's packs, hints or marks reach the other's asset, and
an upload's answer does not reveal that someone else holds the image. Two concurrent inserts of
the same owner and sha256 end in one row: the loser of the insert race reads the winner's row.

Object storage (SPEC §7): local storage always keeps the bytes; a copy goes to the object store
by a task after the upload commits (write-through, for owners the flag admits) or by
`sync_object_storage` (backfill). The object is keyed like the local file, so it too is shared by
every row of the same bytes: it is put once, and `object_storage_synced_at` is set, once the
store's copy is verified, on every row of that key. Deleting an asset publishes
STICKER_ASSET_DELETED, whose handler deletes the object; local bytes and object both stay while
any other row (another owner's asset of the same image) still uses the key.
"""

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.errors import CatalogError, Conflict
from catalog.models import StickerAsset, StickerPack, StickerPackItem
from catalog.names import EventType
from catalog.services import enqueue, objectstore
from flags.services import is_enabled
from outbox.services import publish

logger = logging.getLogger(__name__)

OBJECT_STORAGE_FLAG = "enable_object_storage_delivery"


ASSET_KEY_PREFIX = "stickers"


def asset_storage_key(sha256: str) -> str:
    """Content-addressed: the same bytes always have the same key, whoever uploads them."""
    return f"{ASSET_KEY_PREFIX}/{sha256[:2]}/{sha256}.webp"


def asset_bytes_store(key: str, data: bytes) -> bool:
    """Write the bytes unless they are there already; True when this call wrote them."""
    if default_storage.exists(key):
        return False
    try:
        default_storage.save(key, ContentFile(data))
    except OSError as exc:
        raise CatalogError("could not store the sticker", code="STORAGE_ERROR", status=503) from exc
    return True


def asset_bytes_forget(key: str) -> None:
    """Delete the bytes of a deleted asset, unless another asset row uses them."""
    if not StickerAsset.objects.filter(storage_key=key).exists():
        default_storage.delete(key)


def _stored_keys(prefix: str = ASSET_KEY_PREFIX):
    """Every stored file under `prefix` (the local storage's tree of content-addressed bytes)."""
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from _stored_keys(f"{prefix}/{directory}")


def asset_bytes_prune() -> int:
    """Delete stored bytes no asset row uses (an upload that failed after writing them) once they
    are older than ORPHAN_BYTES_GRACE_SECONDS, so an upload still in flight keeps its bytes;
    `prune_history` runs it (registered as `orphan_bytes`). Returns how many files went."""
    grace = settings.ORPHAN_BYTES_GRACE_SECONDS
    if grace <= 0:
        return 0
    older_than = timezone.now() - timedelta(seconds=grace)
    deleted = 0
    for key in _stored_keys():
        if default_storage.get_modified_time(key) >= older_than:
            continue
        if StickerAsset.objects.filter(storage_key=key).exists():
            continue
        default_storage.delete(key)
        deleted += 1
    return deleted


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


# --- reading bytes ----------------------------------------------------------------------------


def asset_bytes_open(asset: StickerAsset):
    """A readable file of the asset's bytes: local storage, else (a host without the local file)
    the object store's copy; 503 STORAGE_ERROR when neither answers."""
    try:
        return default_storage.open(asset.storage_key, "rb")
    except FileNotFoundError:
        if not objectstore.configured() or not objectstore.is_up():
            raise CatalogError("sticker bytes are not available", code="STORAGE_ERROR", status=503) from None
    except OSError as exc:
        raise CatalogError("sticker bytes are not available", code="STORAGE_ERROR", status=503) from exc
    try:
        return objectstore.open_object(asset.storage_key)
    except Exception as exc:
        logger.warning("asset %s: no local file and the store copy failed: %s", asset.pk, exc)
        raise CatalogError("sticker bytes are not available", code="STORAGE_ERROR", status=503) from exc


def _local_bytes(key: str) -> bytes | None:
    try:
        with default_storage.open(key, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


# --- object storage: write-through, backfill, deletion ----------------------------------------


def object_storage_admits(owner_id: int | None) -> bool:
    """`enable_object_storage_delivery` for this owner (subject: the asset owner id)."""
    return is_enabled(OBJECT_STORAGE_FLAG, subject_key=str(owner_id) if owner_id else "", default=False)


def asset_write_through_schedule(asset: StickerAsset) -> bool:
    """Queue the object's write-through (in the caller's transaction, so it commits with the
    upload and runs after it) when a store is configured and the flag admits the owner."""
    if asset.object_storage_synced_at is not None or not objectstore.configured():
        return False
    if not object_storage_admits(asset.owner_id):
        return False
    return enqueue.object_put_enqueue(asset.id)


class ObjectSyncError(CatalogError):
    def __init__(self, message: str):
        super().__init__(message, code="STORAGE_ERROR", status=503)


def asset_object_sync(asset: StickerAsset) -> str:
    """Make the store hold this asset's bytes, verified, and mark it synced — it and every other
    row of the same stored object (other owners' assets of the same image): one PUT per object.

    Returns "synced" (already marked, by us before or by another process meanwhile), "present"
    (the store had a verified copy: marked without uploading), "uploaded", or "gone" (the row was
    deleted meanwhile). Raises when the store fails or the bytes cannot be had (the caller retries).
    """
    if asset.object_storage_synced_at is not None:
        return "synced"
    key = asset.storage_key
    data = _local_bytes(key)
    if data is not None and hashlib.sha256(data).hexdigest() != asset.sha256:
        raise ObjectSyncError(f"asset {asset.pk}: local bytes do not match its sha256")
    info = objectstore.head(key)
    if objectstore.verified(info, size=asset.size_bytes, sha256=asset.sha256, data=data):
        outcome = "present"
    elif data is None:
        raise ObjectSyncError(f"asset {asset.pk}: no local bytes and no verified copy in the store")
    else:
        objectstore.put(key, data, content_type=asset.mimetype, sha256=asset.sha256)
        info = objectstore.head(key)
        if not objectstore.verified(info, size=asset.size_bytes, sha256=asset.sha256, data=data):
            raise ObjectSyncError(f"asset {asset.pk}: the stored object does not match after upload")
        outcome = "uploaded"
    now = timezone.now()
    marked = StickerAsset.objects.filter(pk=asset.pk, object_storage_synced_at__isnull=True).update(
        object_storage_synced_at=now
    )
    # The other rows of these bytes (other owners' assets of the same image) use the same object,
    # verified just now: they are synced too, without a PUT or a HEAD of their own.
    shared_rows_mark_synced(asset, now)
    if not marked:
        if StickerAsset.objects.filter(pk=asset.pk).exists():
            return "synced"  # another process marked it first
        # Deleted while we uploaded: its delete task may have run before our put.
        object_forget(storage_key=key)
        return "gone"
    return outcome


def shared_rows_mark_synced(asset: StickerAsset, moment: datetime) -> int:
    """Mark synced the unsynced rows that share this asset's stored object (same key and bytes)."""
    return (
        StickerAsset.objects.filter(
            storage_key=asset.storage_key, sha256=asset.sha256, object_storage_synced_at__isnull=True
        )
        .exclude(pk=asset.pk)
        .update(object_storage_synced_at=moment)
    )


def asset_object_sync_by_id(asset_id: int) -> str:
    asset = StickerAsset.objects.filter(pk=asset_id).first()
    return "gone" if asset is None else asset_object_sync(asset)


def object_forget(*, storage_key: str) -> bool:
    """Delete the object behind a deleted asset, unless a row uses the key again (the same bytes
    uploaded since)."""
    if StickerAsset.objects.filter(storage_key=storage_key).exists():
        return False
    objectstore.delete(storage_key)
    return True


SWEEP_LOOKBACK = timedelta(days=7)  # older gaps are sync_object_storage's (the backfill)


def object_sync_sweep(*, limit: int | None = None) -> dict:
    """Write-through safety net: unsynced assets of admitted owners, uploaded in the last
    SWEEP_LOOKBACK and more than a minute ago (their task may have dead-lettered during a long
    outage), are synced here, a bounded batch per run."""
    if not objectstore.configured():
        return {"skipped": 1}
    limit = limit or settings.OBJECT_STORAGE_SYNC_SWEEP_BATCH
    now = timezone.now()
    recent = StickerAsset.objects.filter(
        object_storage_synced_at__isnull=True,
        created_at__lt=now - timedelta(minutes=1),
        created_at__gte=now - SWEEP_LOOKBACK,
    )
    owners = recent.order_by().values_list("owner_id", flat=True).distinct()
    admitted = [owner_id for owner_id in owners if object_storage_admits(owner_id)]
    counts = {"uploaded": 0, "present": 0, "shared": 0, "failed": 0}
    synced_keys = set()  # objects this run verified: their other rows in the batch were marked with them
    for asset in recent.filter(owner_id__in=admitted).order_by("id")[:limit]:
        if asset.storage_key in synced_keys:
            counts["shared"] += 1
            continue
        try:
            outcome = asset_object_sync(asset)
        except Exception as exc:
            counts["failed"] += 1
            logger.warning("object sync sweep: asset %s: %s", asset.pk, exc)
            if not objectstore.is_up():
                break  # the store is away: the next sweep tries again
            continue
        synced_keys.add(asset.storage_key)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def asset_delete(*, asset_id: int, request_id: str = "") -> bool:
    """Delete an asset no pack holds: its row now, its local bytes after commit, and its object
    through the outbox (STICKER_ASSET_DELETED; a task retried until done). A pack using it as its
    cover gets another cover. False when there was no such asset."""
    from catalog.services.packs import pack_changed

    with transaction.atomic():
        asset = StickerAsset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None:
            return False
        if StickerPackItem.objects.filter(asset_id=asset_id).exists():
            raise Conflict("the sticker is in a pack: remove it from its packs first", code="ASSET_IN_USE")
        key = asset.storage_key
        for pack in StickerPack.objects.select_for_update().filter(cover_id=asset_id):
            first = StickerPackItem.objects.filter(pack=pack).order_by("position").first()
            pack.cover_id = first.asset_id if first else None
            pack_changed(pack, fields=["cover"], request_id=request_id)
        asset.delete()
        event = publish(
            event_type=EventType.STICKER_ASSET_DELETED,
            aggregate_type="asset",
            aggregate_id=asset_id,
            payload={"asset_id": asset_id, "storage_key": key},
            idempotency_key=f"asset-deleted:{asset_id}",
            request_id=request_id,
        )
        if event is None and objectstore.configured():
            enqueue.object_delete_enqueue(asset_id=asset_id, storage_key=key)  # outbox off for it
        transaction.on_commit(lambda: asset_bytes_forget(key))
    return True


def asset_orphans_prune() -> int:
    """Delete assets that no pack holds, created more than ORPHAN_ASSET_RETENTION_DAYS ago (a
    removed upload, a sticker whose pack was emptied); `prune_history` runs it. 0 days: never."""
    days = settings.ORPHAN_ASSET_RETENTION_DAYS
    if days <= 0:
        return 0
    older_than = timezone.now() - timedelta(days=days)
    ids = list(
        StickerAsset.objects.filter(created_at__lt=older_than, pack_items__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    deleted = 0
    for asset_id in ids:
        try:
            deleted += int(asset_delete(asset_id=asset_id))
        except Conflict:
            continue  # added to a pack since
    return deleted
