"""`manage.py seed_demo` (what `make run` does): real images, idempotent, the README's logins work, and
the pages and the admin render on its data."""

import pytest
from django.core.management import call_command

from catalog.models import StickerPack, StickerPackItem


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

    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
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
