import threading
import time

import pytest
from django.db import DatabaseError

from flags import services
from flags.models import FeatureFlag
from flags.services import FlagCache, is_enabled
from tests.concurrency import run_together


@pytest.fixture(autouse=True)
def _fresh_cache():
    services.flag_cache.invalidate()
    yield
    services.flag_cache.invalidate()


@pytest.mark.django_db
def test_warm_check_makes_no_query(django_assert_num_queries):
    is_enabled("enable_domain_event_outbox")  # warm up
    with django_assert_num_queries(0):
        for i in range(100):
            is_enabled("enable_domain_event_outbox", subject_key=f"pack:{i}")
            is_enabled("not_a_flag", default=True)


@pytest.mark.django_db
def test_ttl_has_a_floor_of_5_seconds(settings):
    settings.FEATURE_FLAG_CACHE_TTL_SECONDS = 1
    assert FlagCache.ttl() == 5


@pytest.mark.django_db
def test_expiry_refreshes_once(monkeypatch, django_assert_num_queries):
    cache = services.flag_cache
    cache.values()
    FeatureFlag.objects.filter(name="enable_domain_event_outbox").update(is_enabled=False)
    assert is_enabled("enable_domain_event_outbox") is True  # still within TTL: cached
    now = time.monotonic()
    monkeypatch.setattr(services.time, "monotonic", lambda: now + 31)
    with django_assert_num_queries(1):
        assert is_enabled("enable_domain_event_outbox") is False
        assert is_enabled("enable_domain_event_outbox") is False


@pytest.mark.django_db(transaction=True)
def test_one_refresh_under_concurrent_expiry(monkeypatch):
    cache = FlagCache()
    cache.values()
    loads = []
    real_refresh = cache._refresh

    def slow_refresh():
        loads.append(threading.get_ident())
        time.sleep(0.2)  # hold the refresh open while the other threads arrive
        return real_refresh()

    monkeypatch.setattr(cache, "_refresh", slow_refresh)
    cache._expires_at = 0.0
    results = run_together([lambda: cache.values().get("enable_domain_event_outbox")] * 8)
    assert len(loads) == 1
    assert results == [(True, 100)] * 8


@pytest.mark.django_db(transaction=True)
def test_cold_cache_concurrent_readers_wait_for_one_load(monkeypatch):
    cache = FlagCache()
    real_refresh = cache._refresh
    loads = []

    def slow_refresh():
        loads.append(1)
        time.sleep(0.2)
        return real_refresh()

    monkeypatch.setattr(cache, "_refresh", slow_refresh)
    results = run_together([lambda: cache.values().get("enable_ranking_snapshot_read")] * 6)
    assert loads == [1]
    assert results == [(True, 100)] * 6


@pytest.mark.django_db
def test_database_error_keeps_last_known_values(monkeypatch):
    cache = services.flag_cache
    assert is_enabled("enable_ranking_snapshot_read") is True

    def broken(*args, **kwargs):
        raise DatabaseError("server has gone away")

    monkeypatch.setattr(services.FeatureFlag.objects, "values_list", broken)
    cache._expires_at = 0.0
    assert is_enabled("enable_ranking_snapshot_read") is True
    assert is_enabled("enable_worker_dedicated_processes", default=True) is False


@pytest.mark.django_db
def test_missing_table_falls_back_to_env_without_a_query_per_check(monkeypatch, django_assert_num_queries):
    cache = FlagCache()
    monkeypatch.setattr(services, "flag_cache", cache)
    # A real "no such table" error from the database, without DDL (MySQL DDL would auto-commit).
    monkeypatch.setattr(FeatureFlag._meta, "db_table", "flags_table_not_migrated_yet")
    monkeypatch.setenv("FEATURE_ENABLE_OBJECT_STORAGE_DELIVERY", "on")
    with django_assert_num_queries(1):  # the one failed load; then the TTL holds
        for _ in range(20):
            assert is_enabled("enable_object_storage_delivery") is True
            assert is_enabled("enable_domain_event_outbox", default=True) is True
            assert is_enabled("enable_worker_dedicated_processes") is False


@pytest.mark.django_db
def test_shared_generation_expires_other_processes_caches():
    """Another process's change (bumping the shared generation) is seen within a second."""
    other_process = FlagCache()
    assert other_process.values()["enable_object_storage_delivery"] == (False, 100)
    FeatureFlag.objects.filter(name="enable_object_storage_delivery").update(is_enabled=True)
    services.flag_cache.invalidate()  # what flag_set does on commit in the changing process
    other_process._next_generation_check = 0.0  # a second has passed
    assert other_process.values()["enable_object_storage_delivery"] == (True, 100)
