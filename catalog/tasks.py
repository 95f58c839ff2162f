"""Task types and history pruners the catalog registers with the workers app."""

from datetime import datetime

from workers.registry import register_pruner


def interaction_events_prune(cutoff: datetime) -> int:
    from catalog.models import InteractionEvent

    deleted, _ = InteractionEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


register_pruner("interaction_events", interaction_events_prune)
