from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ActionLocation
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog import models
from catalog.errors import CatalogError
from catalog.selectors.engagement import networks_over_caps
from catalog.services import assets, creators, moderation, packs, viewers
from config.admin_base import ReadOnlyModelAdmin


def _run_each(modeladmin, request, queryset, service, done: str) -> None:
    """Apply a moderation service to each selected row, one transaction each."""
    changed = sum(1 for pk in queryset.values_list("pk", flat=True) if service(pk))
    modeladmin.message_user(request, f"{changed} {done}.", messages.SUCCESS)


def thumbnail(asset_id: int | None, size: int = 64) -> str:
    if not asset_id:
        return "-"
    url = reverse("admin:catalog_stickerasset_image", args=[asset_id])
    return format_html('<img src="{}" width="{}" height="{}" alt="sticker {}">', url, size, size, asset_id)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=moderation.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in the pack's moderation history and shown to its owner.",
    )


class PackModerationChangeInline(admin.TabularInline):
    """The pack's moderation history (append-only)."""

    model = models.PackModerationChange
    fk_name = "pack"
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by", "action", "reason", "before", "after", "source"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]
    verbose_name_plural = "moderation history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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


class PackAddForm(forms.ModelForm):
    """Adding a pack takes what an owner's create takes; the create service does the rest."""

    class Meta:
        model = models.StickerPack
        fields = ["owner", *packs.EDITABLE]

    def clean(self):
        data = super().clean()
        owner = data.get("owner")
        values = {field: data[field] for field in packs.EDITABLE if data.get(field) not in (None, "")}
        try:
            packs.clean_pack_fields(values, partial=False)
            if owner and values.get("publisher"):
                creators.publisher_check(user=owner, publisher=values["publisher"])
        except CatalogError as error:
            raise forms.ValidationError(str(error), code=error.code) from error
        return data


def moderation_action(name: str, title: str, service, done: str):
    """An admin action that asks for the reason, then applies `service` to each selected pack."""

    @admin.action(description=title, permissions=["change"])
    def action(modeladmin, request, queryset):
        return modeladmin.moderate(request, queryset, action=name, title=title, service=service, done=done)

    action.__name__ = name
    return action


def _sensitive(sensitive: bool):
    return lambda **decision: moderation.pack_set_sensitive(sensitive=sensitive, **decision)


MODERATION_ACTIONS = [
    moderation_action("unpublish", "Unpublish and hold publishing", moderation.pack_unpublish, "packs held"),
    moderation_action("lift_hold", "Lift the publishing hold", moderation.pack_hold_lift, "holds lifted"),
    moderation_action("mark_sensitive", "Mark sensitive (staff mark)", _sensitive(True), "packs marked"),
    moderation_action("unmark_sensitive", "Clear the staff sensitive mark", _sensitive(False), "packs unmarked"),
    moderation_action("soft_delete", "Soft-delete", moderation.pack_soft_delete, "packs deleted"),
    moderation_action("restore", "Restore", moderation.pack_restore, "packs restored"),
]


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
        "suppressed",
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
    readonly_fields = [
        "version",
        "created_at",
        "updated_at",
        "content_updated_at",
        "published_at",
        "first_listed_at",
        "moderation_sensitive",
        "moderation_hold",
        "moderation_reason",
        "moderated_at",
    ]
    inlines = [StickerPackItemInline, PackModerationChangeInline]
    list_select_related = ["owner", "engagement"]
    actions = MODERATION_ACTIONS

    @admin.display(description="suppressed", ordering="engagement__suppressed_count")
    def suppressed(self, pack):
        """Anonymous interactions the per-network caps kept out of its counters."""
        engagement = getattr(pack, "engagement", None)
        return engagement.suppressed_count if engagement else 0

    def get_readonly_fields(self, request, obj=None):
        # The key is the pack's URL (and its cache entries): fixed once created.
        return [*self.readonly_fields, "pack_key"] if obj else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PackAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["owner", *packs.EDITABLE] if obj is None else super().get_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        """Adds go through the owner's create service and edits through the owner's update path
        (version bump, PACK_UPDATED), audited."""
        if not change:
            data = {field: form.cleaned_data[field] for field in packs.EDITABLE if form.cleaned_data.get(field)}
            created = packs.pack_create(user=form.cleaned_data["owner"], data=data)
            obj.pk, obj.pack_key = created.pk, created.pack_key
            return
        moderation.pack_staff_edit(obj, fields=list(form.changed_data), by=request.user)

    def delete_model(self, request, obj):
        """The "Delete" page soft-deletes, like the action (versioned, announced, audited)."""
        moderation.pack_soft_delete(pack_id=obj.pk, by=request.user, reason="deleted from the admin's Delete page")

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            moderation.pack_soft_delete(pack_id=pk, by=request.user, reason="deleted from the admin")

    def get_deleted_objects(self, objs, request):
        # A soft delete removes nothing else: the confirmation page lists the packs only.
        return [str(obj) for obj in objs], {}, set(), []

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # soft delete instead
        return actions

    def moderate(self, request, queryset, *, action: str, title: str, service, done: str):
        """Ask for the reason on an intermediate page, then apply the decision to each pack (one
        transaction and one audit row each)."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            ids = list(queryset.values_list("pk", flat=True))
            changed = sum(1 for pk in ids if service(pack_id=pk, by=request.user, reason=reason))
            self.message_user(request, f"{changed} {done}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/catalog/stickerpack/moderation_reason.html", context)


@admin.register(models.PackModerationChange)
class PackModerationChangeAdmin(ReadOnlyModelAdmin):
    """Every staff decision on a pack: read-only, append-only."""

    list_display = ["changed_at", "pack_key", "action", "reason", "changed_by", "source"]
    list_filter = ["action", "source"]
    search_fields = ["pack_key", "reason"]
    date_hierarchy = "changed_at"


class ReservedNameForm(forms.ModelForm):
    class Meta:
        model = models.ReservedPublisherName
        fields = ["name"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        key = creators.publisher_key(name)
        if not key:
            raise forms.ValidationError("a reserved name needs letters or digits")
        taken = models.ReservedPublisherName.objects.filter(name_key=key).exclude(pk=self.instance.pk)
        if taken.exists() or key == creators.publisher_key(settings.AUTO_PACK_PUBLISHER):
            raise forms.ValidationError("this name (or one that differs only in case or punctuation) is reserved")
        self.instance.name_key = key
        return name


class ReservedPublisherNameInline(admin.TabularInline):
    model = models.ReservedPublisherName
    form = ReservedNameForm
    extra = 0
    fields = ["name", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]


class CreatorProfileForm(forms.ModelForm):
    class Meta:
        model = models.CreatorProfile
        fields = ["user", "display_name", "is_verified"]

    def clean(self):
        data = super().clean()
        user, name = data.get("user"), data.get("display_name")
        if data.get("is_verified") and user and name and not creators.publisher_name_free_for(name, user):
            self.add_error("display_name", "a verified creator's name is reserved for them; this one is taken")
        return data


@admin.register(models.CreatorProfile)
class CreatorProfileAdmin(admin.ModelAdmin):
    """Creators: display name, the verified badge (staff only) and the names only they may publish as."""

    list_display = ["user", "display_name", "is_verified", "verified_by", "verified_at"]
    list_filter = ["is_verified"]
    search_fields = ["display_name", "user__username", "reserved_names__name"]
    raw_id_fields = ["user"]
    form = CreatorProfileForm
    fields = ["user", "display_name", "is_verified", "verified_by", "verified_at"]
    readonly_fields = ["verified_by", "verified_at"]
    inlines = [ReservedPublisherNameInline]

    def save_model(self, request, obj, form, change):
        profile = creators.creator_verify(
            user=obj.user, verified=obj.is_verified, display_name=obj.display_name, by=request.user
        )
        obj.pk = profile.pk

    def save_formset(self, request, form, formset, change):
        for reserved in formset.save(commit=False):
            reserved.created_by = reserved.created_by or request.user
            reserved.save()
        for removed in formset.deleted_objects:
            removed.delete()


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

    # Assets come from uploads (bytes, events, object storage) and are deleted through the service
    # below; their rows are not edited by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

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

    def get_deleted_objects(self, objs, request):
        # The asset service deletes the asset's own rows (its classification, its pack items); the
        # admin's read-only classifications must not block that.
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

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
class AssetClassificationAdmin(ReadOnlyModelAdmin):
    """Written by the classification service (STICKER_CLASSIFIED, snapshots, curation): read-only
    here (reclassification: docs/runbook-workers.md)."""

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
class PackEngagementAdmin(ReadOnlyModelAdmin):
    """Counters move only through the engagement service: read-only here. `suppressed_count`: anonymous
    interactions kept out of the counters by the per-network caps."""

    list_display = [
        "pack",
        "open_count",
        "like_count",
        "dislike_count",
        "download_count",
        "suppressed_count",
        "updated_at",
    ]
    search_fields = ["pack__name", "pack__pack_key"]
    raw_id_fields = ["pack"]
    ordering = ["-suppressed_count", "-pack_id"]


class NetworkKeyFilterForm(forms.Form):
    address = forms.CharField(
        required=False, max_length=64, help_text="an IPv4 or IPv6 address: shows its network's key"
    )


@admin.register(models.InteractionEvent)
class InteractionEventAdmin(admin.ModelAdmin):
    """The interaction log; `counted` false = suppressed by a per-network cap. The "networks over
    the caps" page lists the networks suppressed most in the last day (keys are keyed hashes of the
    network: search by an address to find its rows)."""

    list_display = ["pack", "interaction", "counted", "source", "short_network", "created_at"]
    list_filter = ["counted", "interaction", "source"]
    search_fields = ["pack__pack_key", "=network_key"]
    search_help_text = "a pack key, a network key, or an IP address (matched by its network key)"
    raw_id_fields = ["pack"]
    date_hierarchy = "created_at"
    change_list_template = "admin/catalog/interactionevent/change_list.html"

    @admin.display(description="network", ordering="network_key")
    def short_network(self, event):
        return event.network_key[:12] or "-"

    def get_search_results(self, request, queryset, search_term):
        from config.client import network_of

        if search_term and network_of(search_term.strip()):
            return queryset.filter(network_key=viewers.network_key_of(search_term.strip())), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.networks_view)
        return [path("networks/", view, name="catalog_engagement_networks"), *super().get_urls()]

    def networks_view(self, request):
        from datetime import timedelta

        from django.utils import timezone

        form = NetworkKeyFilterForm(request.GET or None)
        looked_up = None
        if form.is_valid() and form.cleaned_data["address"]:
            looked_up = viewers.network_key_of(form.cleaned_data["address"].strip())
        context = {
            **self.admin_site.each_context(request),
            "title": "Networks over the engagement caps (last 24 hours)",
            "opts": self.model._meta,
            "networks": networks_over_caps(since=timezone.now() - timedelta(days=1)),
            "form": form,
            "looked_up": looked_up,
        }
        return TemplateResponse(request, "admin/catalog/interactionevent/networks.html", context)


@admin.register(models.PackScoreSnapshot)
class PackScoreSnapshotAdmin(ReadOnlyModelAdmin):
    """Derived from the pack by the snapshot service: read-only (`manage.py refresh_snapshots`)."""

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

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a user would hard-delete their packs and assets: ban instead

    @admin.action(description="Ban selected users (deactivate, revoke tokens and sessions)", permissions=["change"])
    def ban(self, request, queryset):
        _run_each(self, request, queryset.exclude(pk=request.user.pk), moderation.user_ban, "users banned")
