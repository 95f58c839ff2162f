from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from catalog import models
from catalog.errors import CatalogError
from catalog.services import assets, moderation
from catalog.services.packs import pack_changed


def _run_each(modeladmin, request, queryset, service, done: str) -> None:
    """Apply a moderation service to each selected row, one transaction each."""
    changed = sum(1 for pk in queryset.values_list("pk", flat=True) if service(pk))
    modeladmin.message_user(request, f"{changed} {done}.", messages.SUCCESS)


def thumbnail(asset_id: int | None, size: int = 64) -> str:
    if not asset_id:
        return "-"
    url = reverse("admin:catalog_stickerasset_image", args=[asset_id])
    return format_html('<img src="{}" width="{}" height="{}" alt="sticker {}">', url, size, size, asset_id)


class StickerPackItemInline(admin.TabularInline):
    """Items are changed through the API (positions, the 30-item limit): read-only here."""

    model = models.StickerPackItem
    extra = 0
    fields = ["position", "preview", "asset", "emojis", "accessibility_label", "created_at"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description="sticker")
    def preview(self, item):
        return thumbnail(item.asset_id, 48)

    def has_add_permission(self, request, obj=None):
        return False


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
    actions = ["unpublish", "soft_delete", "restore", "mark_sensitive", "unmark_sensitive"]

    def save_model(self, request, obj, form, change):
        """Edits go through the same path as an owner's: version bump and PACK_UPDATED."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        pack_changed(obj, fields=list(form.changed_data))

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # soft delete instead
        return actions

    @admin.action(description="Unpublish selected packs", permissions=["change"])
    def unpublish(self, request, queryset):
        _run_each(self, request, queryset, moderation.pack_unpublish, "packs unpublished")

    @admin.action(description="Soft-delete selected packs", permissions=["change"])
    def soft_delete(self, request, queryset):
        _run_each(self, request, queryset, moderation.pack_soft_delete, "packs deleted")

    @admin.action(description="Restore selected packs", permissions=["change"])
    def restore(self, request, queryset):
        _run_each(self, request, queryset, moderation.pack_restore, "packs restored")

    @admin.action(description="Mark selected packs sensitive (NSFW)", permissions=["change"])
    def mark_sensitive(self, request, queryset):
        _run_each(self, request, queryset, lambda pk: moderation.pack_set_sensitive(pk, True), "packs marked")

    @admin.action(description="Clear the sensitive mark", permissions=["change"])
    def unmark_sensitive(self, request, queryset):
        _run_each(self, request, queryset, lambda pk: moderation.pack_set_sensitive(pk, False), "packs unmarked")


@admin.register(models.StickerAsset)
class StickerAssetAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "preview",
        "category",
        "nsfw",
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
    search_fields = ["sha256", "storage_key", "classification__category"]
    raw_id_fields = ["owner"]
    list_select_related = ["owner", "classification"]
    readonly_fields = ["preview_large", "classification_summary"]

    @admin.display(description="sticker")
    def preview(self, asset):
        return thumbnail(asset.pk)

    @admin.display(description="sticker")
    def preview_large(self, asset):
        return thumbnail(asset.pk, 256)

    @admin.display(description="category")
    def category(self, asset):
        classification = getattr(asset, "classification", None)
        return f"{classification.category} ({classification.confidence:.2f})" if classification else "-"

    @admin.display(description="NSFW", boolean=True)
    def nsfw(self, asset):
        classification = getattr(asset, "classification", None)
        return classification.is_nsfw if classification else None

    @admin.display(description="classification")
    def classification_summary(self, asset):
        c = getattr(asset, "classification", None)
        if c is None:
            return "not classified yet"
        return format_html(
            "{} · {} ({}) · NSFW {} · tags: {} · {} {}",
            c.provider,
            c.category,
            f"{c.confidence:.2f}",
            f"{c.nsfw_score:.2f}",
            ", ".join(c.tags or []) or "-",
            c.model_name,
            c.classification_version,
        )

    def delete_model(self, request, obj):
        """Through the service: local bytes after commit, the stored object through the outbox."""
        assets.asset_delete(asset_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for asset_id in queryset.values_list("pk", flat=True):
            assets.asset_delete(asset_id=asset_id)

    def get_urls(self):
        view = self.admin_site.admin_view(self.image_view)
        return [path("<int:asset_id>/image/", view, name="catalog_stickerasset_image"), *super().get_urls()]

    def image_view(self, request, asset_id: int):
        """The stored bytes, for staff (NSFW included); never cached publicly."""
        asset = get_object_or_404(models.StickerAsset, pk=asset_id)
        try:
            handle = assets.asset_bytes_open(asset)
        except CatalogError:
            raise Http404("sticker bytes are missing") from None
        response = FileResponse(handle, content_type=asset.mimetype)
        response["Cache-Control"] = "private, max-age=3600"
        return response


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


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PackyardUserAdmin(UserAdmin):
    """Django's user admin plus a ban: a banned user can neither log in nor upload."""

    actions = ["ban"]

    @admin.action(description="Ban selected users (deactivate, revoke tokens and sessions)", permissions=["change"])
    def ban(self, request, queryset):
        _run_each(self, request, queryset.exclude(pk=request.user.pk), moderation.user_ban, "users banned")
