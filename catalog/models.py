"""Catalog domain tables (SPEC §2). Rules that touch other rows live in catalog.services."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.audit import AuditRow


class StickerAsset(models.Model):
    """One image of one owner (unique per owner and sha256). The stored bytes are shared by every
    asset with the same sha256 (one storage key), but the row, its classification and its id are the
    owner's own: nothing another user does with the same image reaches it, and an upload's answer
    does not tell whether someone else holds that image."""

    sha256 = models.CharField(max_length=64, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sticker_assets"
    )
    mimetype = models.CharField(max_length=32, default="image/webp")
    is_animated = models.BooleanField(default=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    storage_key = models.CharField(max_length=255, db_index=True)
    object_storage_synced_at = models.DateTimeField(null=True, blank=True)
    perceptual_hash = models.CharField(max_length=16, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="asset_owner_sha256_unique")]

    def __str__(self) -> str:
        return f"asset {self.pk} {self.sha256[:12]}"


class StickerPack(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", "public"
        UNLISTED = "unlisted", "unlisted"
        PRIVATE = "private", "private"

    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        PUBLISHED = "published", "published"

    class PackStatus(models.TextChoices):
        BUILDING = "building", "building"
        READY = "ready", "ready"
        ARCHIVED = "archived", "archived"

    # Stored in lower case and looked up lower-cased (catalog.selectors.normal_pack_key), so every
    # spelling of a URL reaches one pack and one cache entry on any collation.
    pack_key = models.SlugField(max_length=160, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sticker_packs"
    )
    name = models.CharField(max_length=120)
    publisher = models.CharField(max_length=120, blank=True, default="")
    description = models.CharField(max_length=1024, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    pack_status = models.CharField(max_length=16, choices=PackStatus.choices, default=PackStatus.READY)
    is_auto_pack = models.BooleanField(default=False)
    theme_key = models.CharField(max_length=64, blank=True, default="")
    volume = models.PositiveIntegerField(null=True, blank=True)
    cover = models.ForeignKey(StickerAsset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_sensitive = models.BooleanField(default=False)  # the owner's own mark
    # Staff moderation, separate from the owner's fields: only staff change these
    # (catalog.services.moderation), every change audited in PackModerationChange.
    moderation_sensitive = models.BooleanField(default=False)
    moderation_hold = models.BooleanField(default=False)  # a staff hold on publishing (set by a staff unpublish)
    moderation_reason = models.CharField(max_length=500, blank=True, default="")
    moderated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Last change of the pack's content (items); ranking age is measured from it (SPEC §2.2).
    content_updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # The first time the pack was publicly listed (never cleared): orphan stickers come only from
    # packs that were public once (catalog.selectors.orphan_assets_queryset).
    first_listed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["visibility", "status", "pack_status", "deleted_at"], name="pack_listed_idx"),
            models.Index(fields=["owner", "deleted_at"], name="pack_owner_idx"),
            models.Index(fields=["is_auto_pack", "theme_key", "volume"], name="pack_auto_idx"),
            models.Index(fields=["publisher"], name="pack_publisher_idx"),
            models.Index(fields=["published_at"], name="pack_published_idx"),
        ]
        constraints = [
            # User packs keep volume NULL, so only auto packs can collide here.
            models.UniqueConstraint(fields=["theme_key", "volume"], name="pack_theme_volume_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.pack_key})"

    @property
    def marked_sensitive(self) -> bool:
        """Marked sensitive by its owner or by staff: at least `suggestive`."""
        return self.is_sensitive or self.moderation_sensitive


class ModerationAction(models.TextChoices):
    MARK_SENSITIVE = "mark_sensitive", "mark sensitive"
    UNMARK_SENSITIVE = "unmark_sensitive", "clear the staff sensitive mark"
    UNPUBLISH = "unpublish", "unpublish and hold publishing"
    LIFT_HOLD = "lift_hold", "lift the publishing hold"
    SOFT_DELETE = "soft_delete", "soft delete"
    RESTORE = "restore", "restore"
    EDIT = "edit", "edit in the admin"


class PackModerationChange(AuditRow):
    """Append-only audit row: one per staff change of a pack (like flags.FlagChange)."""

    pack = models.ForeignKey(StickerPack, null=True, on_delete=models.SET_NULL, related_name="moderation_changes")
    pack_key = models.CharField(max_length=160, db_index=True)
    action = models.CharField(max_length=32, choices=ModerationAction.choices)
    reason = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.action} {self.pack_key} @ {self.changed_at:%Y-%m-%d %H:%M:%S}"


class CreatorProfile(models.Model):
    """A creator is a user: the display name /creators shows, and a verified badge only staff set."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creator_profile")
    display_name = models.CharField(max_length=120, blank=True, default="")
    is_verified = models.BooleanField(default=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.display_name or str(self.user)


class ReservedPublisherName(models.Model):
    """A publisher name only its holder (or staff) may put on a pack; matched by `name_key`
    (case, spacing and punctuation folded: catalog.services.creators.publisher_key)."""

    name = models.CharField(max_length=120)
    name_key = models.CharField(max_length=120, unique=True)
    holder = models.ForeignKey(CreatorProfile, on_delete=models.CASCADE, related_name="reserved_names")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class StickerPackItem(models.Model):
    pack = models.ForeignKey(StickerPack, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(StickerAsset, on_delete=models.PROTECT, related_name="pack_items")
    position = models.PositiveSmallIntegerField()
    emojis = models.JSONField(default=list, blank=True)
    accessibility_label = models.CharField(max_length=255, blank=True, default="")
    upload_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pack", "position"]
        constraints = [
            # Positions are dense 1..N; with the unique (pack, position) below, the range check
            # makes a 31st item impossible even if two writers race past the service's count.
            models.CheckConstraint(
                condition=Q(position__gte=1) & Q(position__lte=settings.STICKER_PACK_MAX_ITEMS),
                name="item_position_1_to_max",
            ),
            models.UniqueConstraint(fields=["pack", "position"], name="item_pack_position_unique"),
            models.UniqueConstraint(fields=["pack", "asset"], name="item_pack_asset_unique"),
            models.UniqueConstraint(fields=["pack", "upload_id"], name="item_pack_upload_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.pack_id}#{self.position} asset {self.asset_id}"


class AssetClassification(models.Model):
    asset = models.OneToOneField(StickerAsset, on_delete=models.CASCADE, related_name="classification")
    provider = models.CharField(max_length=32, default="builtin")
    model_name = models.CharField(max_length=128, blank=True, default="")
    classification_version = models.CharField(max_length=32, default="1")
    category = models.CharField(max_length=64, blank=True, default="")
    confidence = models.FloatField(default=0.0)
    nsfw_score = models.FloatField(default=0.0)
    is_nsfw = models.BooleanField(default=False)
    all_scores = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    classified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["classification_version"], name="class_version_idx"),
            models.Index(fields=["category", "is_nsfw"], name="class_category_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.category} ({self.confidence:.2f})"


class PackEngagement(models.Model):
    pack = models.OneToOneField(StickerPack, on_delete=models.CASCADE, related_name="engagement")
    open_count = models.PositiveIntegerField(default=0)
    like_count = models.PositiveIntegerField(default=0)
    dislike_count = models.PositiveIntegerField(default=0)
    download_count = models.PositiveIntegerField(default=0)
    # Anonymous interactions beyond a per-network cap: recorded, never counted (staff see this).
    suppressed_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"engagement of {self.pack_id}"


class Interaction(models.TextChoices):
    OPEN = "open", "open"
    LIKE = "like", "like"
    DISLIKE = "dislike", "dislike"
    DOWNLOAD = "download", "download"


class InteractionEvent(models.Model):
    """Append-only log of interactions, pruned by age.

    `counted` is false for an anonymous interaction beyond its network's cap (suppressed): it moved
    no counter, and ranking, trend and stats read counted rows only. `network_key` is a keyed hash
    of an anonymous actor's network identity (catalog.services.viewers.network_key; empty for
    logged-in users): what the caps count by.
    """

    pack = models.ForeignKey(StickerPack, on_delete=models.CASCADE, related_name="interactions")
    interaction = models.CharField(max_length=16, choices=Interaction.choices)
    actor_key = models.CharField(max_length=64)
    session_key = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=32, blank=True, default="api")
    counted = models.BooleanField(default=True)
    network_key = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["pack", "interaction", "created_at"], name="interaction_window_idx"),
            models.Index(fields=["pack", "actor_key", "interaction", "created_at"], name="interaction_actor_idx"),
            models.Index(fields=["created_at"], name="interaction_created_idx"),
            # The caps: a network's counted interactions of a kind over a day, and on one pack.
            models.Index(
                fields=["network_key", "counted", "interaction", "created_at"], name="interaction_network_idx"
            ),
            models.Index(fields=["network_key", "counted", "pack", "created_at"], name="interaction_network_pack_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.interaction} {self.pack_id} by {self.actor_key[:8]}"


class PackReaction(models.Model):
    """The single like or dislike an actor holds on a pack (a dislike replaces a like)."""

    pack = models.ForeignKey(StickerPack, on_delete=models.CASCADE, related_name="reactions")
    actor_key = models.CharField(max_length=64)
    reaction = models.CharField(max_length=16, choices=[("like", "like"), ("dislike", "dislike")])
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pack", "actor_key"], name="reaction_pack_actor_unique")]

    def __str__(self) -> str:
        return f"{self.reaction} {self.pack_id} by {self.actor_key[:8]}"


class NsfwLevel(models.TextChoices):
    SAFE = "safe", "safe"
    SUGGESTIVE = "suggestive", "suggestive"
    EXPLICIT = "explicit", "explicit"


class PackScoreSnapshot(models.Model):
    pack = models.OneToOneField(StickerPack, on_delete=models.CASCADE, related_name="snapshot")
    ranking_score = models.FloatField(default=0.0)
    pack_score = models.FloatField(default=0.0)
    trend_score = models.FloatField(default=0.0)
    quality_score = models.FloatField(default=0.0)
    engagement_score = models.FloatField(default=0.0)
    diversity_score = models.FloatField(default=0.0)
    cohesion_score = models.FloatField(default=0.0)
    nsfw_level = models.CharField(max_length=16, choices=NsfwLevel.choices, default=NsfwLevel.SAFE)
    sensitive_content = models.BooleanField(default=False)
    sticker_count = models.PositiveIntegerField(default=0)
    tags = models.JSONField(default=list, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    source_version = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)
    # Sort keys copied from the pack and its counters, so every list order is one index
    # walk over this table (SPEC §2.2: ordering is global, in SQL, over the snapshots).
    published_at = models.DateTimeField(null=True, blank=True)
    like_count = models.PositiveIntegerField(default=0)
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["-ranking_score", "-pack"], name="snapshot_ranking_idx"),
            models.Index(fields=["-published_at", "-pack"], name="snapshot_recent_idx"),
            models.Index(fields=["-like_count", "-pack"], name="snapshot_likes_idx"),
            models.Index(fields=["-download_count", "-pack"], name="snapshot_downloads_idx"),
            models.Index(fields=["-trend_score", "-pack"], name="snapshot_trend_idx"),
            models.Index(fields=["nsfw_level", "-ranking_score"], name="snapshot_nsfw_ranking_idx"),
            models.Index(fields=["refreshed_at"], name="snapshot_refreshed_idx"),
        ]

    def __str__(self) -> str:
        return f"snapshot of {self.pack_id}: {self.ranking_score:.3f}"
