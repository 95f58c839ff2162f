"""Outbox event handlers the catalog registers (outbox.services.register_handler).

Each handler turns one event into per-entity work through catalog.services.enqueue; nothing
else lives here.
"""

from catalog.models import StickerPackItem
from catalog.names import EventType
from catalog.services import enqueue
from outbox.models import DomainEvent
from outbox.services import register_handler

# A change of these can add or remove the pack's hints to its owner's classifications
# (catalog.services.classification.hint_items: the owner's listed packs only).
HINT_FIELDS = {"status", "visibility", "pack_status", "deleted_at", "tags"}


def on_pack_changed(event: DomainEvent) -> None:
    """Refresh the pack's snapshot: coalesced, or at once for a publication (a new pack appears
    in lists once its first snapshot exists); classify again when its hints changed."""
    pack_id = int(event.payload["pack_id"])
    enqueue.snapshot_refresh_enqueue([pack_id], immediate=bool(event.payload.get("published")))
    if HINT_FIELDS & set(event.payload.get("fields") or ()):
        enqueue.hints_changed_enqueue(pack_id, event.idempotency_key)


def on_sticker_classified(event: DomainEvent) -> None:
    asset_id = int(event.payload["asset_id"])
    pack_ids = StickerPackItem.objects.filter(asset_id=asset_id).values_list("pack_id", flat=True)
    enqueue.snapshot_refresh_enqueue(list(pack_ids))
    enqueue.curation_enqueue()


def on_asset_created(event: DomainEvent) -> None:
    asset_id = int(event.payload["asset_id"])
    enqueue.classify_enqueue(asset_id, idempotency_key=f"classify:{asset_id}:{event.idempotency_key}")


def on_engagement(event: DomainEvent) -> None:
    enqueue.snapshot_refresh_enqueue([int(event.payload["pack_id"])])


def on_asset_deleted(event: DomainEvent) -> None:
    """A deleted asset's object goes too (when a store is configured), retried until done."""
    from catalog.services import objectstore

    if objectstore.configured():
        enqueue.object_delete_enqueue(asset_id=int(event.payload["asset_id"]), storage_key=event.payload["storage_key"])


register_handler(EventType.PACK_UPDATED, on_pack_changed)
register_handler(EventType.ENGAGEMENT_RECORDED, on_engagement)
register_handler(EventType.STICKER_CLASSIFIED, on_sticker_classified)
register_handler(EventType.STICKER_ASSET_CREATED, on_asset_created)
register_handler(EventType.STICKER_ASSET_DELETED, on_asset_deleted)
