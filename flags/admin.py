from django.contrib import admin

from flags.models import FeatureFlag, FlagChange


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    list_display = ["name", "is_enabled", "rollout_percent", "updated_by", "updated_at"]
    list_filter = ["is_enabled"]
    search_fields = ["name", "description"]


@admin.register(FlagChange)
class FlagChangeAdmin(admin.ModelAdmin):
    list_display = ["flag_name", "changed_by", "changed_at", "source"]
    list_filter = ["source"]
    search_fields = ["flag_name"]

    def has_change_permission(self, request, obj=None):
        return False
