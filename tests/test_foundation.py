import pytest
from django.core.management import call_command

from catalog.models import StickerPack, StickerPackItem
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


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_makes_real_images():
    call_command("seed_demo", packs=5)
    call_command("seed_demo", packs=5)
    assert StickerPack.objects.count() == 5
    item = StickerPackItem.objects.select_related("asset").first()
    from django.core.files.storage import default_storage
    from PIL import Image

    with default_storage.open(item.asset.storage_key) as fh:
        image = Image.open(fh)
        assert image.size == (512, 512)
        assert image.format == "WEBP"


@pytest.mark.django_db
def test_readme_logins_authenticate_after_seed_demo(client, settings):
    import re
    from pathlib import Path

    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/login/")  # the login lockout (django-axes) needs the request

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    logins = dict(re.findall(r"`(\w+)` / `([^`]+)`", readme))
    assert {"demo", "admin"} <= set(logins)
    settings.DEBUG = True  # make run seeds in DEBUG; the demo superuser exists only there
    call_command("seed_demo", packs=1)
    for username, password in logins.items():
        assert authenticate(request, username=username, password=password) is not None, username
    assert authenticate(request, username="admin", password=logins["admin"]).is_superuser
    response = client.post(
        "/api/auth/token", {"username": "demo", "password": logins["demo"]}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["token"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "storage": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_with_the_failing_check(client, monkeypatch):
    from config import health

    def broken():
        raise RuntimeError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == "cache"


@pytest.mark.django_db
def test_browse_and_admin_pages_render(client, staff_user):
    call_command("seed_demo", packs=3)
    page = client.get("/")
    assert page.status_code == 200
    assert b"Happy Cats" in page.content
    client.force_login(staff_user)
    for url in [
        "/admin/",
        "/admin/catalog/stickerpack/",
        "/admin/flags/featureflag/",
        "/admin/workers/workertask/",
        "/admin/outbox/domainevent/",
        "/admin/catalog/stickerasset/",
    ]:
        assert client.get(url).status_code == 200, url
