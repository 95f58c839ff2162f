import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import AssetClassification, PackEngagement
from catalog.services.snapshots import snapshot_refresh
from outbox.services import EVENTS, event_dispatch
from tests.factories import StickerAssetFactory, StickerPackFactory, StickerPackItemFactory


def webp_bytes(color=(255, 0, 0, 255), size=(512, 512)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, color).save(buffer, "WEBP")
    return buffer.getvalue()


def png_bytes(color=(0, 128, 255, 255), size=(300, 200), mode="RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode == "RGBA" else color[:3]).save(buffer, "PNG")
    return buffer.getvalue()


def dispatch_all_events() -> None:
    """What the outbox consumer does: run the handlers of every pending event."""
    while items := EVENTS.claim(worker_id="consumer", limit=100):
        for item in items:
            event_dispatch(item)
            EVENTS.complete(item, worker_id="consumer")


def stored_asset(*, seed: str, nsfw: bool = False, classified: bool = False, **fields):
    """An asset whose bytes really are in storage."""
    digest = hashlib.sha256(seed.encode()).digest()
    data = webp_bytes(color=(digest[0], digest[1], digest[2], 255))
    sha = hashlib.sha256(data).hexdigest()
    asset = StickerAssetFactory(
        sha256=sha, storage_key=f"stickers/{sha[:2]}/{sha}.webp", size_bytes=len(data), **fields
    )
    default_storage.save(asset.storage_key, ContentFile(data))
    if nsfw or classified:
        AssetClassification.objects.create(
            asset=asset,
            category="nsfw" if nsfw else "cats",
            confidence=0.9,
            nsfw_score=0.95 if nsfw else 0.05,
            is_nsfw=nsfw,
            all_scores={"cats": 0.9},
            tags=["cats"],
        )
    return asset


_counter = iter(range(1, 10**9))


def make_pack(
    *,
    items: int = 3,
    nsfw_items: int = 0,
    classified: bool = False,
    refresh: bool = True,
    engagement: dict | None = None,
    **fields,
):
    pack = StickerPackFactory(**fields)
    n = next(_counter)
    for position in range(1, items + 1):
        asset = stored_asset(seed=f"{pack.pack_key}-{n}-{position}", nsfw=position <= nsfw_items, classified=classified)
        StickerPackItemFactory(pack=pack, asset=asset, position=position)
    if engagement:
        PackEngagement.objects.create(pack=pack, **engagement)
    if refresh:
        snapshot_refresh([pack.id])
    return pack


@pytest.fixture(autouse=True)
def _no_anonymous_read_cache(settings, empty_caches):
    """Tests read their own writes; the anonymous read cache has tests of its own."""
    settings.API_ANONYMOUS_CACHE_SECONDS = 0
    settings.API_ANONYMOUS_LOCAL_SECONDS = 0


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff(client, staff_user):
    """The Django test client, logged in as staff (the admin)."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def owner_api(user):
    return client_for(user)


@pytest.fixture
def other_api(other_user):
    return client_for(other_user)
