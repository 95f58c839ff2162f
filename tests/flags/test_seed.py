"""The flags the migration seeds (SPEC defaults), and that re-seeding never resets a staff edit."""

import pytest

from flags.models import FeatureFlag


@pytest.mark.django_db
def test_seeded_flags_exist_with_spec_defaults():
    flags = {f.name: (f.is_enabled, f.rollout_percent) for f in FeatureFlag.objects.all()}
    assert flags["enable_ranking_snapshot_read"] == (True, 100)
    assert flags["enable_domain_event_outbox"] == (True, 100)
    assert flags["enable_worker_dedicated_processes"] == (False, 100)
    assert flags["enable_object_storage_delivery"] == (False, 100)


@pytest.mark.django_db
def test_flag_seed_migration_never_resets_edits():
    from importlib import import_module

    from django.apps import apps

    FeatureFlag.objects.filter(name="enable_ranking_snapshot_read").update(is_enabled=False, rollout_percent=10)
    import_module("flags.migrations.0002_seed_flags").seed(apps, None)
    flag = FeatureFlag.objects.get(name="enable_ranking_snapshot_read")
    assert (flag.is_enabled, flag.rollout_percent) == (False, 10)
