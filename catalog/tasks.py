"""Task types and history pruners the catalog registers with the workers app."""

from datetime import datetime

from catalog.services import snapshots
from workers.registry import register_pruner, register_task_type


def interaction_events_prune(cutoff: datetime) -> int:
    from catalog.models import InteractionEvent

    deleted, _ = InteractionEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def refresh_pack_snapshots(payload: dict) -> dict:
    return snapshots.snapshot_refresh(payload.get("pack_ids") or [])


def snapshot_sweep(payload: dict) -> dict:
    return snapshots.snapshot_sweep()


register_pruner("interaction_events", interaction_events_prune)
register_task_type("refresh_pack_snapshots", refresh_pack_snapshots)
register_task_type("snapshot_sweep", snapshot_sweep, cadence_setting="SNAPSHOT_SWEEP_CADENCE_SECONDS")
