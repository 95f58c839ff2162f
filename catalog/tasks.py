"""Task types and history pruners the catalog registers with the workers app (SPEC §5, §5.1).

One registration per task type, named by catalog.names.TaskName. The classification, curation
and rebuild cycles run every WORKER_<TYPE>_CADENCE_SECONDS and may run in dedicated workers
(`run_worker --task-type <group>`, routed by the dedicated-processes rollout); `classify_asset`
(one asset, from STICKER_ASSET_CREATED events or a failed cycle item) belongs to the
classification group, so dedicated classification workers take it. Everything else runs in the
combined worker.
"""

from datetime import datetime

from django.tasks import task

from catalog.names import TaskName
from catalog.services import assets, classification, curation, snapshots
from workers.registry import register_pruner, register_task_type


def interaction_events_prune(cutoff: datetime) -> int:
    from catalog.models import InteractionEvent

    deleted, _ = InteractionEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def refresh_pack_snapshots(payload: dict) -> dict:
    return snapshots.snapshot_refresh(payload.get("pack_ids") or [])


@task(task_type=TaskName.SNAPSHOT_SWEEP.value, every="SNAPSHOT_SWEEP_CADENCE_SECONDS")
def snapshot_sweep() -> dict:
    """Every SNAPSHOT_SWEEP_CADENCE_SECONDS: refresh every listed pack's snapshot."""
    return snapshots.snapshot_sweep()


def object_storage_put(payload: dict) -> dict:
    """Write-through of one asset; a failure raises, so the queue retries it with backoff."""
    return {"outcome": assets.asset_object_sync_by_id(int(payload["asset_id"]))}


def object_storage_delete(payload: dict) -> dict:
    return {"deleted": assets.object_forget(storage_key=payload["storage_key"])}


@task(task_type=TaskName.OBJECT_STORAGE_SYNC_SWEEP.value, every="OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS")
def object_storage_sync_sweep() -> dict:
    """Every OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS: sync what write-through left behind."""
    return assets.object_sync_sweep()


def classification_cycle_task(payload: dict) -> dict:
    return classification.classification_cycle(
        batch_size=payload.get("batch_size"), concurrency=payload.get("concurrency")
    )


def classify_asset_task(payload: dict) -> dict:
    result = classification.classify_asset(int(payload["asset_id"]))
    return {"asset_id": payload["asset_id"], "classified": result is not None}


def curation_cycle_task(payload: dict) -> dict:
    return curation.curation_cycle()


def rebuild_cycle_task(payload: dict) -> dict:
    return curation.rebuild_cycle()


register_pruner("interaction_events", interaction_events_prune)
register_pruner("orphan_assets", assets.asset_orphans_prune, own_retention=True)
register_pruner("orphan_bytes", assets.asset_bytes_prune, own_retention=True)
register_task_type(TaskName.REFRESH_PACK_SNAPSHOTS, refresh_pack_snapshots)
register_task_type(TaskName.OBJECT_STORAGE_PUT, object_storage_put)
register_task_type(TaskName.OBJECT_STORAGE_DELETE, object_storage_delete)
register_task_type(
    TaskName.CLASSIFICATION_CYCLE,
    classification_cycle_task,
    cadence_setting="WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS",
    group=TaskName.CLASSIFICATION_CYCLE,
    dedicated=True,
)
register_task_type(TaskName.CLASSIFY_ASSET, classify_asset_task, group=TaskName.CLASSIFICATION_CYCLE, dedicated=True)
register_task_type(
    TaskName.CURATION_CYCLE,
    curation_cycle_task,
    cadence_setting="WORKER_CURATION_CYCLE_CADENCE_SECONDS",
    group=TaskName.CURATION_CYCLE,
    dedicated=True,
)
register_task_type(
    TaskName.REBUILD_CYCLE,
    rebuild_cycle_task,
    cadence_setting="WORKER_REBUILD_CYCLE_CADENCE_SECONDS",
    group=TaskName.REBUILD_CYCLE,
    dedicated=True,
)
