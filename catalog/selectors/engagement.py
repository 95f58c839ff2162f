"""Engagement as staff review it."""


def networks_over_caps(*, since, limit: int = 50) -> list[dict]:
    """The networks with the most suppressed interactions since `since`, most first: each
    {network_key, suppressed, packs, first_at, last_at} (network keys are hashes, never addresses)."""
    from django.db.models import Count, Max, Min

    from catalog.models import InteractionEvent

    return list(
        InteractionEvent.objects.filter(counted=False, created_at__gte=since)
        .exclude(network_key="")
        .values("network_key")
        .annotate(
            suppressed=Count("id"),
            packs=Count("pack", distinct=True),
            first_at=Min("created_at"),
            last_at=Max("created_at"),
        )
        .order_by("-suppressed", "network_key")[:limit]
    )
