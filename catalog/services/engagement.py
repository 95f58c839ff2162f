"""Engagement (SPEC §3): per-actor dedupe, per-network caps, atomic counters, ENGAGEMENT_RECORDED
in the same transaction.

One like or dislike per actor per pack (a dislike replaces a like and the other way round);
opens and downloads count once per actor per ENGAGEMENT_DEDUPE_WINDOW_SECONDS. The pack's
engagement row is locked for the short transaction, so concurrent clicks of one actor
cannot both count, nor can concurrent clicks from one network pass its cap on one pack.

Anonymous interactions are also capped per network identity (`network_key`) over the last 24
hours: per pack and over all packs, per kind (reactions, opens, downloads; see CAPS). Beyond a cap
the interaction is recorded as suppressed (`counted=False`): no counter moves, no event is
published, and the caller answers exactly as for a counted one (nothing tells a script it was
ignored). The cap over all packs is checked without a lock across packs, so concurrent requests
on different packs may pass it by a few.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.errors import InvalidInput
from catalog.models import Interaction, InteractionEvent, PackEngagement, PackReaction, StickerPack
from catalog.names import EventType
from catalog.selectors.details import visible_pack
from catalog.services.readcache import pack_reads_changed
from outbox.services import publish

COUNTER = {
    Interaction.OPEN: "open_count",
    Interaction.LIKE: "like_count",
    Interaction.DISLIKE: "dislike_count",
    Interaction.DOWNLOAD: "download_count",
}
REACTIONS = (Interaction.LIKE, Interaction.DISLIKE)


DAY = timedelta(days=1)


@dataclass(frozen=True)
class Cap:
    interactions: tuple[str, ...]
    per_pack_setting: str
    per_day_setting: str

    def limits(self) -> tuple[int, int]:
        return getattr(settings, self.per_pack_setting), getattr(settings, self.per_day_setting)


_REACTION_CAP = Cap(REACTIONS, "ENGAGEMENT_ANON_PER_NETWORK_PER_PACK", "ENGAGEMENT_ANON_PER_NETWORK_PER_DAY")
CAPS = {
    Interaction.LIKE: _REACTION_CAP,
    Interaction.DISLIKE: _REACTION_CAP,
    Interaction.OPEN: Cap(
        (Interaction.OPEN,), "ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_PACK", "ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_DAY"
    ),
    Interaction.DOWNLOAD: Cap(
        (Interaction.DOWNLOAD,),
        "ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_PACK",
        "ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_DAY",
    ),
}


@dataclass(frozen=True)
class EngagementResult:
    engagement: PackEngagement
    recorded: bool  # false: a duplicate of this actor's earlier interaction
    counted: bool = True  # false: recorded as suppressed (over its network's cap)


def _locked_engagement(pack: StickerPack) -> PackEngagement:
    return PackEngagement.objects.select_for_update().get(pack=pack)


def _recent_events(pack: StickerPack, interaction: str, actor_key: str, now):
    window = timedelta(seconds=settings.ENGAGEMENT_DEDUPE_WINDOW_SECONDS)
    return InteractionEvent.objects.filter(
        pack=pack, actor_key=actor_key, interaction=interaction, created_at__gte=now - window
    )


def _is_duplicate(pack: StickerPack, interaction: str, actor_key: str, now) -> bool:
    """This actor already holds this reaction, or already opened/downloaded within the window; a
    suppressed repeat inside the window is a duplicate too, so one actor cannot fill the log."""
    recent = _recent_events(pack, interaction, actor_key, now)
    if interaction in REACTIONS:
        if PackReaction.objects.filter(pack=pack, actor_key=actor_key, reaction=interaction).exists():
            return True
        return recent.filter(counted=False).exists()
    return recent.exists()


def _over_cap(pack: StickerPack, interaction: str, network_key: str, now) -> bool:
    cap = CAPS[interaction]
    per_pack, per_day = cap.limits()
    counted = InteractionEvent.objects.filter(
        network_key=network_key, counted=True, interaction__in=cap.interactions, created_at__gte=now - DAY
    )
    return counted.filter(pack=pack).count() >= per_pack or counted.count() >= per_day


def _counter_changes(pack: StickerPack, interaction: str, actor_key: str, now) -> dict[str, int]:
    """The counter deltas of a counted interaction (it is not a duplicate)."""
    if interaction in REACTIONS:
        reaction = PackReaction.objects.filter(pack=pack, actor_key=actor_key).first()
        if reaction is None:
            PackReaction.objects.create(pack=pack, actor_key=actor_key, reaction=interaction, created_at=now)
            return {COUNTER[interaction]: 1}
        previous = reaction.reaction
        reaction.reaction, reaction.updated_at = interaction, now
        reaction.save(update_fields=["reaction", "updated_at"])
        return {COUNTER[interaction]: 1, COUNTER[previous]: -1}
    return {COUNTER[interaction]: 1}


def engagement_record(
    *,
    pack: StickerPack,
    interaction: str,
    actor_key: str,
    network_key: str = "",
    session_key: str = "",
    source: str = "api",
    request_id="",
) -> EngagementResult:
    """Record one interaction. `network_key` is given for anonymous actors only: it subjects them to
    the per-network caps (logged-in users are deduplicated per user and not capped)."""
    if interaction not in COUNTER:
        raise ValueError(f"unknown interaction {interaction!r}")
    now = timezone.now()
    # The counter row exists before the locking transaction starts: two first clicks racing to
    # insert it inside that transaction would deadlock on MariaDB's unique-key locks.
    PackEngagement.objects.get_or_create(pack=pack)
    with transaction.atomic():
        engagement = _locked_engagement(pack)
        if _is_duplicate(pack, interaction, actor_key, now):
            return EngagementResult(engagement=engagement, recorded=False)
        fields = {
            "pack": pack,
            "interaction": interaction,
            "actor_key": actor_key,
            "network_key": network_key,
            "session_key": session_key,
            "source": source,
            "created_at": now,
        }
        if network_key and _over_cap(pack, interaction, network_key, now):
            InteractionEvent.objects.create(counted=False, **fields)
            PackEngagement.objects.filter(pk=engagement.pk).update(suppressed_count=F("suppressed_count") + 1)
            return EngagementResult(engagement=engagement, recorded=True, counted=False)
        changes = _counter_changes(pack, interaction, actor_key, now)
        event = InteractionEvent.objects.create(counted=True, **fields)
        PackEngagement.objects.filter(pk=engagement.pk).update(
            updated_at=now, **{field: F(field) + delta for field, delta in changes.items()}
        )
        publish(
            event_type=EventType.ENGAGEMENT_RECORDED,
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
    network_key: str = "",
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
        network_key=network_key,
        session_key=session_key,
        source=source,
        request_id=request_id,
    )
    return pack, result
