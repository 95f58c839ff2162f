import pytest
from django.contrib.auth import get_user_model


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes stored files into its own temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _seeded_flags(request):
    """Transactional tests flush every table, data-migration rows included: put the seeded
    flags back so each test starts from the state a migrated database has."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        yield
        return
    transactional = "transactional_db" in names or (
        marker is not None and (marker.kwargs.get("transaction", False) or (marker.args and marker.args[0]))
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from importlib import import_module

    from django.apps import apps

    from flags.services import flag_cache

    import_module("flags.migrations.0002_seed_flags").seed(apps, None)
    flag_cache.invalidate()
    yield
    flag_cache.invalidate()


@pytest.fixture
def empty_caches():
    """The shared cache and the per-process one start and end empty."""
    from django.core.cache import cache, caches

    cache.clear()
    caches["local"].clear()
    yield
    cache.clear()
    caches["local"].clear()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="alice", password="alice-password-123")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user(username="bob", password="bob-password-123")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser(username="staff", password="staff-password-123", email="s@e.com")
