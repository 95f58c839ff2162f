"""Feature flags with percentage rollout (SPEC §4)."""

import re

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.audit import AuditRow

FLAG_NAME_MAX_LENGTH = 120
_INVALID = re.compile(r"[^a-z0-9_:-]+")


def normalize_flag_name(name: str) -> str:
    """Lower-case, keep only [a-z0-9_:-] (other runs become '_'), at most 120 characters."""
    return _INVALID.sub("_", (name or "").strip().lower()).strip("_")[:FLAG_NAME_MAX_LENGTH]


class FeatureFlag(models.Model):
    name = models.CharField(max_length=FLAG_NAME_MAX_LENGTH, unique=True)
    is_enabled = models.BooleanField(default=False)
    rollout_percent = models.PositiveSmallIntegerField(default=100)
    description = models.TextField(blank=True, default="")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rollout_percent__lte=100), name="flag_rollout_percent_0_100"),
        ]

    def __str__(self) -> str:
        return self.name


class FlagChange(AuditRow):
    """Append-only audit row: one per change of a flag."""

    flag = models.ForeignKey(FeatureFlag, null=True, on_delete=models.SET_NULL, related_name="changes")
    flag_name = models.CharField(max_length=FLAG_NAME_MAX_LENGTH, db_index=True)

    def __str__(self) -> str:
        return f"{self.flag_name} @ {self.changed_at:%Y-%m-%d %H:%M:%S}"
