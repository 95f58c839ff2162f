from django.contrib import admin

from catalog import models


class StickerPackItemInline(admin.TabularInline):
    model = models.StickerPackItem
    extra = 0
    raw_id_fields = ["asset"]
    fields = ["position", "asset", "emojis", "accessibility_label", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(models.StickerPack)
class StickerPackAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "pack_key",
        "owner",
        "visibility",
        "status",
        "pack_status",
        "is_auto_pack",
        "is_sensitive",
        "updated_at",
        "deleted_at",
    ]
    list_filter = [
        "visibility",
        "status",
        "pack_status",
        "is_auto_pack",
        "is_sensitive",
        ("deleted_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["name", "pack_key", "publisher", "description"]
    raw_id_fields = ["owner", "cover"]
    readonly_fields = ["version", "created_at", "updated_at", "content_updated_at", "published_at"]
    inlines = [StickerPackItemInline]
    list_select_related = ["owner"]


@admin.register(models.StickerAsset)
class StickerAssetAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "sha256",
        "owner",
        "mimetype",
        "is_animated",
        "width",
        "height",
        "size_bytes",
        "object_storage_synced_at",
        "created_at",
    ]
    list_filter = ["mimetype", "is_animated", ("object_storage_synced_at", admin.EmptyFieldListFilter)]
    search_fields = ["sha256", "storage_key"]
    raw_id_fields = ["owner"]


@admin.register(models.AssetClassification)
class AssetClassificationAdmin(admin.ModelAdmin):
    list_display = [
        "asset",
        "provider",
        "category",
        "confidence",
        "nsfw_score",
        "is_nsfw",
        "classification_version",
        "classified_at",
    ]
    list_filter = ["provider", "is_nsfw", "category", "classification_version"]
    search_fields = ["category", "asset__sha256"]
    raw_id_fields = ["asset"]


@admin.register(models.PackEngagement)
class PackEngagementAdmin(admin.ModelAdmin):
    list_display = ["pack", "open_count", "like_count", "dislike_count", "download_count", "updated_at"]
    search_fields = ["pack__name", "pack__pack_key"]
    raw_id_fields = ["pack"]


@admin.register(models.InteractionEvent)
class InteractionEventAdmin(admin.ModelAdmin):
    list_display = ["pack", "interaction", "source", "created_at"]
    list_filter = ["interaction", "source"]
    search_fields = ["pack__pack_key"]
    raw_id_fields = ["pack"]
    date_hierarchy = "created_at"


@admin.register(models.PackScoreSnapshot)
class PackScoreSnapshotAdmin(admin.ModelAdmin):
    list_display = ["pack", "ranking_score", "pack_score", "trend_score", "nsfw_level", "sticker_count", "refreshed_at"]
    list_filter = ["nsfw_level", "sensitive_content"]
    search_fields = ["pack__name", "pack__pack_key"]
    raw_id_fields = ["pack"]
    ordering = ["-ranking_score"]
