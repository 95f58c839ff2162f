"""The catalog's work for the task queue: what services and event handlers enqueue, named once.

Bursts coalesce: every snapshot refresh a pack needs within one coalescing window becomes a
single task that runs when the window closes, so it sees every change whose event arrived in
that window.
"""

import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from catalog.models import StickerPackItem
from catalog.names import TaskName
from workers.registry import get_task_type
from workers.services import enqueue_task


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
    bucket, run_at = window_bucket(settings.SNAPSHOT_REFRESH_COALESCE_SECONDS, now)
    created = 0
    for pack_id in sorted(set(pack_ids)):
        key = f"snapshot:{pack_id}:now:{time.time_ns()}" if immediate else f"snapshot:{pack_id}:{bucket}"
        _, new = enqueue_task(
            task_type=TaskName.REFRESH_PACK_SNAPSHOTS,
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
    if get_task_type(TaskName.CURATION_CYCLE) is None:
        return False
    bucket, run_at = window_bucket(settings.CURATION_COALESCE_SECONDS, now)
    _, created = enqueue_task(
        task_type=TaskName.CURATION_CYCLE, idempotency_key=f"curation:classified:{bucket}", available_at=run_at
    )
    return created


def classify_enqueue(asset_id: int, *, idempotency_key: str, error: str = "") -> bool:
    """Classify one asset, once the classification task type is registered (until then the
    classification cycle picks unclassified assets up)."""
    if get_task_type(TaskName.CLASSIFY_ASSET) is None:
        return False
    payload: dict = {"asset_id": asset_id}
    if error:
        payload["error"] = error[:500]
    _, created = enqueue_task(
        task_type=TaskName.CLASSIFY_ASSET,
        idempotency_key=idempotency_key,
        payload=payload,
        cohort_key=f"asset:{asset_id}",
    )
    return created


def hints_changed_enqueue(pack_id: int, cause: str) -> int:
    """Classify again the owner's stickers of a pack whose hints now count or stopped counting."""
    asset_ids = StickerPackItem.objects.filter(pack_id=pack_id, asset__owner_id=F("pack__owner_id")).values_list(
        "asset_id", flat=True
    )
    return sum(
        int(classify_enqueue(asset_id, idempotency_key=f"classify:{asset_id}:{cause}")) for asset_id in asset_ids
    )


def object_put_enqueue(asset_id: int) -> bool:
    """Write-through of one asset to the object store, by a worker (retried with backoff)."""
    _, created = enqueue_task(
        task_type=TaskName.OBJECT_STORAGE_PUT,
        idempotency_key=f"object-put:{asset_id}",
        payload={"asset_id": asset_id},
        cohort_key=f"asset:{asset_id}",
        max_attempts=settings.OBJECT_STORAGE_TASK_MAX_ATTEMPTS,
    )
    return created


def object_delete_enqueue(*, asset_id: int, storage_key: str) -> bool:
    _, created = enqueue_task(
        task_type=TaskName.OBJECT_STORAGE_DELETE,
        idempotency_key=f"object-delete:{asset_id}:{storage_key}",
        payload={"asset_id": asset_id, "storage_key": storage_key},
        cohort_key=f"asset:{asset_id}",
        max_attempts=settings.OBJECT_STORAGE_TASK_MAX_ATTEMPTS,
    )
    return created
