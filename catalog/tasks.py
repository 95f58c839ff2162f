"""Task types and history pruners the catalog registers with the workers app."""

from datetime import datetime

from django.tasks import task

from catalog.services import snapshots
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


register_pruner("interaction_events", interaction_events_prune)
register_task_type("refresh_pack_snapshots", refresh_pack_snapshots)
