"""The names of the catalog's task types and domain events, declared once.

Registrations (catalog.tasks, catalog.events), the services that enqueue or publish and the
tests all use these; the workers and outbox apps only ever see the string values.
"""

from django.db import models


class TaskName(models.TextChoices):
    REFRESH_PACK_SNAPSHOTS = "refresh_pack_snapshots"
    SNAPSHOT_SWEEP = "snapshot_sweep"
    CLASSIFICATION_CYCLE = "classification_cycle"
    CLASSIFY_ASSET = "classify_asset"
    CURATION_CYCLE = "curation_cycle"
    REBUILD_CYCLE = "rebuild_cycle"
    OBJECT_STORAGE_PUT = "object_storage_put"
    OBJECT_STORAGE_DELETE = "object_storage_delete"
    OBJECT_STORAGE_SYNC_SWEEP = "object_storage_sync_sweep"


class EventType(models.TextChoices):
    STICKER_ASSET_CREATED = "STICKER_ASSET_CREATED"
    STICKER_CLASSIFIED = "STICKER_CLASSIFIED"
    STICKER_ASSET_DELETED = "STICKER_ASSET_DELETED"
    PACK_UPDATED = "PACK_UPDATED"
    ENGAGEMENT_RECORDED = "ENGAGEMENT_RECORDED"
