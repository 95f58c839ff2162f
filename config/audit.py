"""The fields every append-only audit row shares (flags.FlagChange, catalog.PackModerationChange):
who made the change, when, through what, and the state before and after it."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditRow(models.Model):
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=32, default="service")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-changed_at", "-id"]
