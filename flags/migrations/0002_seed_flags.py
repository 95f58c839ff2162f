"""Seed the SPEC §4 flags. Only creates missing rows: later edits are never reset."""

from django.db import migrations

SEEDED_FLAGS = [
    (
        "enable_ranking_snapshot_read",
        True,
        100,
        "List/detail read scores from snapshots; off = live computation. Subject: viewer key.",
    ),
    (
        "enable_domain_event_outbox",
        True,
        100,
        "Publish domain events per aggregate and run the consumer. Subject: <aggregate_type>:<aggregate_id> / worker id.",
    ),
    (
        "enable_worker_dedicated_processes",
        False,
        100,
        "Route tasks to dedicated workers instead of the combined worker. Subject: the task's cohort key.",
    ),
    (
        "enable_object_storage_delivery",
        False,
        100,
        "Write-through upload to object storage and signed-URL delivery. Subject: asset owner id.",
    ),
]


def seed(apps, schema_editor):
    FeatureFlag = apps.get_model("flags", "FeatureFlag")
    for name, enabled, percent, description in SEEDED_FLAGS:
        FeatureFlag.objects.get_or_create(
            name=name,
            defaults={"is_enabled": enabled, "rollout_percent": percent, "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [("flags", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
