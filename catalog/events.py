"""Outbox event handlers the catalog registers (outbox.services.register_handler).

Handlers turn events into per-entity work and coalesce bursts: every snapshot refresh a
pack needs within one coalescing window becomes a single task that runs when the window
closes, so it sees every change whose event arrived in that window.
"""

import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from catalog.models import StickerPackItem
from outbox.models import DomainEvent
from outbox.services import register_handler
from workers.registry import get_task_type
from workers.services import enqueue_task

STICKER_ASSET_CREATED = "STICKER_ASSET_CREATED"
STICKER_CLASSIFIED = "STICKER_CLASSIFIED"
STICKER_ASSET_DELETED = "STICKER_ASSET_DELETED"
PACK_UPDATED = "PACK_UPDATED"
ENGAGEMENT_RECORDED = "ENGAGEMENT_RECORDED"

REFRESH_TASK = "refresh_pack_snapshots"
CLASSIFY_TASK = "classify_asset"
CURATION_TASK = "curation_cycle"
OBJECT_PUT_TASK = "object_storage_put"
OBJECT_DELETE_TASK = "object_storage_delete"


def window_bucket(window_seconds: int, now: float | None = None) -> tuple[int, datetime]:
    """The coalescing window `now` falls in, and when it closes."""
    window = max(1, int(window_seconds))
    now = time.time() if now is None else now
    bucket = math.floor(now / window)
    return bucket, datetime.fromtimestamp((bucket + 1) * window, tz=UTC)


def snapshot_refresh_enqueue(pack_ids, *, now: float | None = None, immediate: bool = False) -> int:
    """Queue a coalesced refresh per pack: key `snapshot:<pack>:<window>`, run at window end.

    `immediate` (a publication): a task of its own that runs at once, ahead of others.
    """
    bucket, run_at = window_bucket(getattr(settings, "SNAPSHOT_REFRESH_COALESCE_SECONDS", 10), now)
    created = 0
    for pack_id in sorted(set(pack_ids)):
        key = f"snapshot:{pack_id}:now:{time.time_ns()}" if immediate else f"snapshot:{pack_id}:{bucket}"
        _, new = enqueue_task(
            task_type=REFRESH_TASK,
            idempotency_key=key,
            priority=10 if immediate else 0,
            payload={"pack_ids": [pack_id]},
            available_at=timezone.now() if immediate else run_at,
            cohort_key=f"pack:{pack_id}",
        )
        created += int(new)
    return created


def curation_enqueue(*, now: float | None = None) -> bool:
    """New classifications: one extra curation cycle per window (besides its cadence)."""
    if get_task_type(CURATION_TASK) is None:
        return False
    bucket, run_at = window_bucket(getattr(settings, "CURATION_COALESCE_SECONDS", 60), now)
    _, created = enqueue_task(
        task_type=CURATION_TASK, idempotency_key=f"curation:classified:{bucket}", available_at=run_at
    )
    return created


# A change of these can add or remove the pack's hints to its owner's classifications
# (catalog.services.classification.hint_items: the owner's listed packs only).
HINT_FIELDS = {"status", "visibility", "pack_status", "deleted_at", "tags"}


def on_pack_changed(event: DomainEvent) -> None:
    pack_id = int(event.payload["pack_id"])
    snapshot_refresh_enqueue([pack_id])
    if HINT_FIELDS & set(event.payload.get("fields") or ()):
        hints_changed_enqueue(pack_id, event.idempotency_key)


def hints_changed_enqueue(pack_id: int, cause: str) -> int:
    """Classify again the owner's stickers of a pack whose hints now count or stopped counting."""
    if get_task_type(CLASSIFY_TASK) is None:
        return 0
    asset_ids = StickerPackItem.objects.filter(pack_id=pack_id, asset__owner_id=F("pack__owner_id")).values_list(
        "asset_id", flat=True
    )
    created = 0
    for asset_id in asset_ids:
        _, new = enqueue_task(
            task_type=CLASSIFY_TASK,
            idempotency_key=f"classify:{asset_id}:{cause}",
            payload={"asset_id": asset_id},
            cohort_key=f"asset:{asset_id}",
        )
        created += int(new)
    return created


def on_sticker_classified(event: DomainEvent) -> None:
    asset_id = int(event.payload["asset_id"])
    pack_ids = StickerPackItem.objects.filter(asset_id=asset_id).values_list("pack_id", flat=True)
    snapshot_refresh_enqueue(list(pack_ids))
    curation_enqueue()


def on_asset_created(event: DomainEvent) -> None:
    """Classify the new asset, once the classification task type is registered."""
    if get_task_type(CLASSIFY_TASK) is None:
        return  # the classification cycle picks unclassified assets up when it exists
    asset_id = int(event.payload["asset_id"])
    enqueue_task(
        task_type=CLASSIFY_TASK,
        idempotency_key=f"classify:{asset_id}:{event.idempotency_key}",
        payload={"asset_id": asset_id},
        cohort_key=f"asset:{asset_id}",
    )


def on_engagement(event: DomainEvent) -> None:
    snapshot_refresh_enqueue([int(event.payload["pack_id"])])


def object_put_enqueue(asset_id: int) -> bool:
    """Write-through of one asset to the object store, by a worker (retried with backoff)."""
    _, created = enqueue_task(
        task_type=OBJECT_PUT_TASK,
        idempotency_key=f"object-put:{asset_id}",
        payload={"asset_id": asset_id},
        cohort_key=f"asset:{asset_id}",
        max_attempts=settings.OBJECT_STORAGE_TASK_MAX_ATTEMPTS,
    )
    return created


def object_delete_enqueue(*, asset_id: int, storage_key: str) -> bool:
    _, created = enqueue_task(
        task_type=OBJECT_DELETE_TASK,
        idempotency_key=f"object-delete:{asset_id}:{storage_key}",
        payload={"asset_id": asset_id, "storage_key": storage_key},
        cohort_key=f"asset:{asset_id}",
        max_attempts=settings.OBJECT_STORAGE_TASK_MAX_ATTEMPTS,
    )
    return created


def on_asset_deleted(event: DomainEvent) -> None:
    """A deleted asset's object goes too (when a store is configured), retried until done."""
    from catalog.services import objectstore

    if objectstore.configured():
        object_delete_enqueue(asset_id=int(event.payload["asset_id"]), storage_key=event.payload["storage_key"])


register_handler(PACK_UPDATED, on_pack_changed)
register_handler(ENGAGEMENT_RECORDED, on_engagement)
register_handler(STICKER_CLASSIFIED, on_sticker_classified)
register_handler(STICKER_ASSET_CREATED, on_asset_created)
register_handler(STICKER_ASSET_DELETED, on_asset_deleted)
