"""Engagement (SPEC §3): per-actor dedupe, atomic counters, ENGAGEMENT_RECORDED in the same
transaction.

One like or dislike per actor per pack (a dislike replaces a like and the other way round);
opens and downloads count once per actor per ENGAGEMENT_DEDUPE_WINDOW_SECONDS. The pack's
engagement row is locked for the short transaction, so concurrent clicks of one actor
cannot both count.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.errors import InvalidInput
from catalog.events import ENGAGEMENT_RECORDED
from catalog.models import Interaction, InteractionEvent, PackEngagement, PackReaction, StickerPack
from catalog.services.readcache import pack_reads_changed
from catalog.services.reads import visible_pack
from outbox.services import publish

COUNTER = {
    Interaction.OPEN: "open_count",
    Interaction.LIKE: "like_count",
    Interaction.DISLIKE: "dislike_count",
    Interaction.DOWNLOAD: "download_count",
}
REACTIONS = (Interaction.LIKE, Interaction.DISLIKE)


@dataclass(frozen=True)
class EngagementResult:
    engagement: PackEngagement
    recorded: bool


def _locked_engagement(pack: StickerPack) -> PackEngagement:
    return PackEngagement.objects.select_for_update().get(pack=pack)


def _counter_changes(pack: StickerPack, interaction: str, actor_key: str, now) -> dict[str, int]:
    """The counter deltas this interaction causes (empty: a duplicate)."""
    if interaction in REACTIONS:
        reaction = PackReaction.objects.filter(pack=pack, actor_key=actor_key).first()
        if reaction is None:
            PackReaction.objects.create(pack=pack, actor_key=actor_key, reaction=interaction, created_at=now)
            return {COUNTER[interaction]: 1}
        if reaction.reaction == interaction:
            return {}
        previous = reaction.reaction
        reaction.reaction, reaction.updated_at = interaction, now
        reaction.save(update_fields=["reaction", "updated_at"])
        return {COUNTER[interaction]: 1, COUNTER[previous]: -1}
    window = timedelta(seconds=settings.ENGAGEMENT_DEDUPE_WINDOW_SECONDS)
    seen = InteractionEvent.objects.filter(
        pack=pack, actor_key=actor_key, interaction=interaction, created_at__gte=now - window
    ).exists()
    return {} if seen else {COUNTER[interaction]: 1}


def engagement_record(
    *, pack: StickerPack, interaction: str, actor_key: str, session_key: str = "", source: str = "api", request_id=""
) -> EngagementResult:
    if interaction not in COUNTER:
        raise ValueError(f"unknown interaction {interaction!r}")
    now = timezone.now()
    # The counter row exists before the locking transaction starts: two first clicks racing to
    # insert it inside that transaction would deadlock on MariaDB's unique-key locks.
    PackEngagement.objects.get_or_create(pack=pack)
    with transaction.atomic():
        engagement = _locked_engagement(pack)
        changes = _counter_changes(pack, interaction, actor_key, now)
        if not changes:
            return EngagementResult(engagement=engagement, recorded=False)
        event = InteractionEvent.objects.create(
            pack=pack,
            interaction=interaction,
            actor_key=actor_key,
            session_key=session_key,
            source=source,
            created_at=now,
        )
        PackEngagement.objects.filter(pk=engagement.pk).update(
            updated_at=now, **{field: F(field) + delta for field, delta in changes.items()}
        )
        publish(
            event_type=ENGAGEMENT_RECORDED,
            aggregate_type="pack",
            aggregate_id=pack.id,
            payload={"pack_id": pack.id, "interaction": interaction, "interaction_event_id": event.id},
            idempotency_key=f"engagement:{event.id}",
            request_id=request_id,
        )
        engagement.refresh_from_db()
        pack_reads_changed([pack.pack_key])
    return EngagementResult(engagement=engagement, recorded=True)


def engagement_record_by_key(
    *,
    pack_key: str,
    interaction: str,
    viewer,
    actor_key: str,
    session_key: str = "",
    source: str = "api",
    request_id="",
) -> tuple[StickerPack, EngagementResult]:
    """An interaction with a pack the viewer can reach by key (the API's and the pages' entry)."""
    if interaction not in COUNTER:
        raise InvalidInput(f"unknown interaction {interaction!r}")
    pack = visible_pack(pack_key, viewer)
    result = engagement_record(
        pack=pack,
        interaction=interaction,
        actor_key=actor_key,
        session_key=session_key,
        source=source,
        request_id=request_id,
    )
    return pack, result
