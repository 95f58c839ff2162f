"""Task types and history pruners the catalog registers with the workers app."""

from datetime import datetime

from django.tasks import task

from catalog import events
from catalog.services import assets, snapshots
from workers.registry import register_pruner, register_task_type


def interaction_events_prune(cutoff: datetime) -> int:
    from catalog.models import InteractionEvent

    deleted, _ = InteractionEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def refresh_pack_snapshots(payload: dict) -> dict:
    return snapshots.snapshot_refresh(payload.get("pack_ids") or [])


@task(task_type="snapshot_sweep", every="SNAPSHOT_SWEEP_CADENCE_SECONDS")
def snapshot_sweep() -> dict:
    """Every SNAPSHOT_SWEEP_CADENCE_SECONDS: refresh every listed pack's snapshot."""
    return snapshots.snapshot_sweep()


def object_storage_put(payload: dict) -> dict:
    """Write-through of one asset; a failure raises, so the queue retries it with backoff."""
    return {"outcome": assets.asset_object_sync_by_id(int(payload["asset_id"]))}


def object_storage_delete(payload: dict) -> dict:
    return {"deleted": assets.object_forget(storage_key=payload["storage_key"])}


@task(task_type="object_storage_sync_sweep", every="OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS")
def object_storage_sync_sweep() -> dict:
    """Every OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS: sync what write-through left behind."""
    return assets.object_sync_sweep()


register_pruner("interaction_events", interaction_events_prune)
register_pruner("orphan_assets", assets.asset_orphans_prune)
register_task_type("refresh_pack_snapshots", refresh_pack_snapshots)
register_task_type(events.OBJECT_PUT_TASK, object_storage_put)
register_task_type(events.OBJECT_DELETE_TASK, object_storage_delete)
