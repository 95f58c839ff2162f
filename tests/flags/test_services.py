import os

import pytest

from flags import services
from flags.models import FeatureFlag, FlagChange, normalize_flag_name
from flags.services import flag_set, is_enabled, subject_bucket
from flags.testing import override_flag


@pytest.fixture(autouse=True)
def _fresh_cache():
    services.flag_cache.invalidate()
    yield
    services.flag_cache.invalidate()


def make(name, enabled=True, percent=100):
    flag = FeatureFlag.objects.create(name=name, is_enabled=enabled, rollout_percent=percent)
    services.flag_cache.invalidate()
    return flag


def test_subject_bucket_is_sha1_uint32_be_mod_100():
    import hashlib

    digest = hashlib.sha1(b"viewer-42").digest()
    assert subject_bucket("viewer-42") == int.from_bytes(digest[:4], "big") % 100
    assert subject_bucket("viewer-42") == ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) % 100


@pytest.mark.django_db
class TestEvaluation:
    def test_missing_row_uses_env_then_default(self, monkeypatch):
        monkeypatch.delenv("FEATURE_BRAND_NEW", raising=False)
        assert is_enabled("brand_new") is False
        assert is_enabled("brand_new", default=True) is True
        for raw, expected in [
            ("1", True),
            ("yes", True),
            ("Y", True),
            ("on", True),
            ("true", True),
            ("0", False),
            ("no", False),
            ("off", False),
            ("n", False),
            ("FALSE", False),
        ]:
            monkeypatch.setenv("FEATURE_BRAND_NEW", raw)
            assert is_enabled("brand_new", default=not expected) is expected, raw
        monkeypatch.setenv("FEATURE_BRAND_NEW", "maybe")
        assert is_enabled("brand_new", default=True) is True

    def test_env_is_ignored_when_the_row_exists(self, monkeypatch):
        make("env_shadowed", enabled=False)
        monkeypatch.setenv("FEATURE_ENV_SHADOWED", "on")
        assert is_enabled("env_shadowed", default=True) is False

    def test_disabled_is_off_whatever_the_percent(self):
        make("off_flag", enabled=False, percent=100)
        assert not any(is_enabled("off_flag", subject_key=f"s{i}") for i in range(50))

    def test_full_and_zero_percent(self):
        make("full", percent=100)
        make("zero", percent=0)
        assert all(is_enabled("full", subject_key=f"s{i}") for i in range(50))
        assert not any(is_enabled("zero", subject_key=f"s{i}") for i in range(50))

    def test_partial_rollout_follows_the_bucket(self):
        make("partial", percent=40)
        for i in range(200):
            key = f"subject-{i}"
            assert is_enabled("partial", subject_key=key) is (subject_bucket(key) < 40)

    def test_a_subject_function_runs_only_for_a_partial_rollout(self):
        make("whole", percent=100)
        make("half", percent=50)
        calls = []

        def subject():
            calls.append(1)
            return "subject-7"

        assert is_enabled("whole", subject_key=subject) is True and calls == []
        assert is_enabled("no_row_at_all", subject_key=subject, default=True) is True and calls == []
        assert is_enabled("half", subject_key=subject) is (subject_bucket("subject-7") < 50) and calls == [1]

    def test_empty_subject_uses_the_flag_name(self):
        make("named", percent=50)
        assert is_enabled("named") is (subject_bucket("named") < 50)

    def test_raising_the_percent_only_adds_subjects(self):
        flag = make("monotonic", percent=0)
        subjects = [f"user:{i}" for i in range(2000)]
        admitted_before: set[str] = set()
        for percent in range(0, 101, 5):
            flag_set(name=flag.name, rollout_percent=percent)
            services.flag_cache.invalidate()
            admitted = {s for s in subjects if is_enabled("monotonic", subject_key=s)}
            assert admitted_before <= admitted
            admitted_before = admitted
        assert admitted_before == set(subjects)

    def test_distribution_25_percent_of_10000(self):
        make("quarter", percent=25)
        admitted = sum(is_enabled("quarter", subject_key=f"viewer:{i}") for i in range(10_000))
        assert 2300 <= admitted <= 2700

    def test_lookup_normalises_the_name(self):
        make("my_flag:v2", percent=100)
        assert is_enabled("  My Flag:V2 ") is True


def test_name_normalisation():
    assert normalize_flag_name("  Enable Thing!! ") == "enable_thing"
    assert normalize_flag_name("a:b-c_d") == "a:b-c_d"
    assert normalize_flag_name("Ünïcode name") == "n_code_name"
    assert len(normalize_flag_name("x" * 500)) == 120


@pytest.mark.django_db
class TestFlagSet:
    def test_writes_audit_row_with_before_and_after(self, staff_user):
        flag = flag_set(name="enable_domain_event_outbox", rollout_percent=10, updated_by=staff_user, source="test")
        assert flag.updated_by == staff_user
        change = FlagChange.objects.get(flag_name="enable_domain_event_outbox")
        assert change.changed_by == staff_user
        assert change.source == "test"
        assert change.before["rollout_percent"] == 100
        assert change.after["rollout_percent"] == 10
        assert change.after["is_enabled"] is True

    def test_normalises_on_write_and_requires_create(self):
        with pytest.raises(services.FlagNotFound):
            flag_set(name="New Flag", is_enabled=True)
        flag = flag_set(name="New Flag", is_enabled=True, create=True)
        assert flag.name == "new_flag"
        assert FlagChange.objects.get(flag_name="new_flag").before is None

    def test_rejects_bad_percent_and_names(self):
        with pytest.raises(services.FlagError):
            flag_set(name="enable_domain_event_outbox", rollout_percent=101)
        with pytest.raises(services.FlagError):
            flag_set(name="!!!", is_enabled=True, create=True)
        assert FlagChange.objects.count() == 0

    def test_no_change_writes_no_audit_row(self):
        flag_set(name="enable_domain_event_outbox", is_enabled=True, rollout_percent=100)
        assert FlagChange.objects.count() == 0

    def test_change_is_visible_after_commit(self, django_capture_on_commit_callbacks):
        assert is_enabled("enable_object_storage_delivery", subject_key="owner:1") is False
        with django_capture_on_commit_callbacks(execute=True):
            flag_set(name="enable_object_storage_delivery", is_enabled=True, rollout_percent=100)
        assert is_enabled("enable_object_storage_delivery", subject_key="owner:1") is True


@pytest.mark.django_db
def test_override_flag_as_context_manager_and_decorator():
    assert is_enabled("enable_object_storage_delivery") is False
    with override_flag("enable_object_storage_delivery", True):
        assert is_enabled("enable_object_storage_delivery") is True
        with override_flag("enable_object_storage_delivery", False):
            assert is_enabled("enable_object_storage_delivery") is False
        assert is_enabled("enable_object_storage_delivery") is True
    assert is_enabled("enable_object_storage_delivery") is False

    @override_flag("Enable_Ranking_Snapshot_Read", False)
    def decorated():
        return is_enabled("enable_ranking_snapshot_read")

    assert decorated() is False
    assert is_enabled("enable_ranking_snapshot_read") is True
    assert os.environ.get("FEATURE_ENABLE_RANKING_SNAPSHOT_READ") is None
