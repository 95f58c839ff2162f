import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flags import services
from flags.models import FeatureFlag, FlagChange


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("flags", *args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
def test_list_shows_every_flag():
    out = run("list")
    for name in [
        "enable_ranking_snapshot_read",
        "enable_domain_event_outbox",
        "enable_worker_dedicated_processes",
        "enable_object_storage_delivery",
    ]:
        assert name in out


@pytest.mark.django_db
def test_set_enable_disable_write_audit_rows():
    run("set", "enable_worker_dedicated_processes", "--enabled", "--percent", "30", "--description", "canary")
    flag = FeatureFlag.objects.get(name="enable_worker_dedicated_processes")
    assert (flag.is_enabled, flag.rollout_percent, flag.description) == (True, 30, "canary")
    run("disable", "enable_worker_dedicated_processes")
    flag.refresh_from_db()
    assert (flag.is_enabled, flag.rollout_percent) == (False, 0)
    run("enable", "enable_worker_dedicated_processes")
    flag.refresh_from_db()
    assert (flag.is_enabled, flag.rollout_percent) == (True, 100)
    assert list(FlagChange.objects.values_list("source", flat=True)) == ["cli", "cli", "cli"]


@pytest.mark.django_db
def test_check_prints_on_or_off_per_subject():
    run("set", "enable_object_storage_delivery", "--enabled", "--percent", "50")
    services.flag_cache.invalidate()
    for i in range(30):
        subject = f"owner:{i}"
        expected = "on" if services.subject_bucket(subject) < 50 else "off"
        assert run("check", "enable_object_storage_delivery", "--subject", subject) == expected


@pytest.mark.django_db
def test_bad_input_fails_clearly():
    with pytest.raises(CommandError, match="unknown flag 'nope'"):
        run("set", "nope", "--enabled")
    with pytest.raises(CommandError, match="0..100"):
        run("set", "enable_domain_event_outbox", "--percent", "101")
    with pytest.raises(CommandError, match="nothing to change"):
        run("set", "enable_domain_event_outbox")
    run("set", "nope", "--enabled", "--create")
    assert FeatureFlag.objects.get(name="nope").is_enabled is True


def test_command_exits_non_zero_from_a_shell(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "flags", "set", "x", "--percent", "300"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"},
        timeout=60,
    )
    assert result.returncode != 0
    assert "must be within 0..100" in result.stderr
