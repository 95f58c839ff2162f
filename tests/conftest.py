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


S3_BUCKET = "packyard-test"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """The loopback S3 server (tests/s3server: s3rver, SigV4 and expiry checked, unsigned requests
    refused), one per test session on a port the OS picks."""
    from tests.s3server.launcher import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3server") / "data", buckets=[S3_BUCKET]).start()
    yield server
    server.stop()


@pytest.fixture
def object_storage(settings, s3_server):
    """STORAGES["objects"] on the loopback server, under a key prefix of this test's own, with a
    fresh health state. Yields the server (tests may stop and start it)."""
    import uuid

    from django.core.cache import cache

    from catalog.services import objectstore
    from config.objectstorage import s3_storage
    from tests.s3server.launcher import ACCESS_KEY, REGION, SECRET_KEY

    if not s3_server.running:
        s3_server.start()
    settings.OBJECT_STORAGE_BUCKET = S3_BUCKET
    settings.STORAGES = {
        **settings.STORAGES,
        "objects": s3_storage(
            bucket=S3_BUCKET,
            endpoint_url=s3_server.endpoint_url,
            region=REGION,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            path_style=True,
            key_prefix=f"t-{uuid.uuid4().hex[:12]}/stickers/",
            signed_url_ttl=settings.OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS,
            timeout_seconds=2.0,
        ),
    }
    objectstore.health_reset()
    cache.delete(objectstore.HEALTH_KEY)
    yield s3_server
    objectstore.health_reset()
    cache.delete(objectstore.HEALTH_KEY)
    if not s3_server.running:  # a test stopped it
        s3_server.start()


@pytest.fixture(autouse=True)
def _fresh_readiness():
    """/readyz answers its last result for PROBE_CACHE_SECONDS: every test's first probe checks."""
    from config.health import forget_readiness

    forget_readiness()
    yield
    forget_readiness()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters (their own local-memory cache in the embedded default) start empty in
    every test: one test's requests never throttle the next one's."""
    from django.core.cache import caches

    caches["throttle"].clear()
    yield
    caches["throttle"].clear()
