"""Flags admin: in-place editing, audited through flags.services (SPEC §6)."""

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.utils.html import format_html

from config.admin_base import ReadOnlyModelAdmin
from flags import services
from flags.models import FeatureFlag, FlagChange


class FlagChangeInline(admin.TabularInline):
    model = FlagChange
    fk_name = "flag"
    extra = 0
    can_delete = False
    fields = readonly_fields = ("changed_at", "changed_by", "source", "before", "after")
    ordering = ["-changed_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    list_display = ["name", "is_enabled", "rollout_percent", "rollout_preview", "updated_by", "updated_at"]
    list_editable = ["is_enabled", "rollout_percent"]
    list_filter = ["is_enabled"]
    search_fields = ["name", "description"]
    fields = ["name", "is_enabled", "rollout_percent", "rollout_preview", "description", "updated_by", "updated_at"]
    readonly_fields = ["rollout_preview", "updated_by", "updated_at"]
    inlines = [FlagChangeInline]
    actions = ["enable_fully", "emergency_disable"]

    def get_readonly_fields(self, request, obj=None):
        # The name is the flag's identity in code: fixed once created.
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=f"admits (of {services.PREVIEW_SAMPLE_SIZE:,} sample subjects)")
    def rollout_preview(self, obj: FeatureFlag) -> str:
        if obj is None or obj.pk is None:
            return "-"
        admitted = services.rollout_preview(obj.rollout_percent) if obj.is_enabled else 0
        return format_html("{} ({}%)", f"{admitted:,}", f"{admitted * 100 / services.PREVIEW_SAMPLE_SIZE:.1f}")

    def save_model(self, request, obj, form, change):
        # The form already applied its values to obj; the service re-reads the row under a lock
        # for the audit "before", saves, writes FlagChange and invalidates caches on commit.
        saved = services.flag_set(
            name=obj.name,
            is_enabled=obj.is_enabled,
            rollout_percent=obj.rollout_percent,
            description=obj.description,
            updated_by=request.user,
            source="admin",
            create=not change,
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.flag_delete(name=obj.name, deleted_by=request.user, source="admin")

    def _apply(self, request, queryset, *, is_enabled: bool, percent: int, label: str) -> None:
        for flag in queryset:  # one at a time: each change audited and cache-invalidated
            services.flag_set(
                name=flag.name, is_enabled=is_enabled, rollout_percent=percent, updated_by=request.user, source="admin"
            )
        self.message_user(request, f"{label}: {queryset.count()} flag(s).", messages.SUCCESS)

    @admin.action(description="Enable at 100%%", permissions=["change"])
    def enable_fully(self, request, queryset):
        self._apply(request, queryset, is_enabled=True, percent=100, label="Enabled at 100%")

    @admin.action(description="Emergency disable (off and 0%%)", permissions=["change"])
    def emergency_disable(self, request, queryset):
        self._apply(request, queryset, is_enabled=False, percent=0, label="Emergency-disabled")


@admin.register(FlagChange)
class FlagChangeAdmin(ReadOnlyModelAdmin):
    list_display = ["flag_name", "changed_by", "changed_at", "source", "before", "after"]
    list_filter = ["source", "flag_name"]
    search_fields = ["flag_name"]
    date_hierarchy = "changed_at"
