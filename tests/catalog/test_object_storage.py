"""Object storage (SPEC §7) against a real S3-compatible server on loopback (tests/s3server:
s3rver, which checks SigV4 signatures and expiry; unsigned requests are refused): signed
delivery, the rollout split, fallback when the store dies, backfill, deletion, readiness."""

import hashlib
import io
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalog.metrics import OBJECT_STORAGE_OPERATIONS
from catalog.models import StickerAsset, StickerPackItem
from catalog.services import assets, objectstore
from flags.services import flag_cache, flag_set, is_enabled
from outbox.models import DomainEvent
from tests.catalog.conftest import client_for, make_pack, png_bytes, stored_asset
from tests.factories import StickerPackItemFactory, UserFactory
from tests.workers.procs import wait_for
from workers.models import WorkerTask

FLAG = "enable_object_storage_delivery"


def fetch(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def local_bytes(asset) -> bytes:
    with default_storage.open(asset.storage_key, "rb") as handle:
        return handle.read()


def rollout(percent: int, enabled: bool = True) -> None:
    flag_set(name=FLAG, is_enabled=enabled, rollout_percent=percent)
    flag_cache.invalidate()


def operations(operation: str, outcome: str) -> float:
    return OBJECT_STORAGE_OPERATIONS.labels(operation, outcome)._value.get()


def sticker_path(pack, asset_id) -> str:
    return f"/api/sticker-packs/{pack.pack_key}/stickers/{asset_id}.webp"


def synced_pack(*, items: int = 1, **fields):
    pack = make_pack(items=items, classified=True, **fields)
    for item in pack.items.select_related("asset"):
        assert assets.asset_object_sync(item.asset) == "uploaded"
    return pack


def run_tasks() -> None:
    call_command("run_outbox_consumer", "--once", "--poll-interval", "0.05", verbosity=0)
    call_command("run_worker", "--task-type", "all", "--once", "--poll-interval", "0.05", verbosity=0)


# --- the store itself -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_presigned_url_fetches_exactly_the_bytes_and_a_tampered_or_expired_one_is_refused(object_storage, settings):
    asset = stored_asset(seed="signed")
    assert assets.asset_object_sync(asset) == "uploaded"
    asset.refresh_from_db()
    assert asset.object_storage_synced_at is not None
    settings.OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS = 2
    url = objectstore.signed_url(asset.storage_key, cache_control="private, max-age=1")
    assert urlparse(url).netloc == urlparse(object_storage.endpoint_url).netloc
    status, body, headers = fetch(url)
    assert status == 200 and body == local_bytes(asset)
    assert hashlib.sha256(body).hexdigest() == asset.sha256
    assert headers["Cache-Control"] == "private, max-age=1"

    marker = "X-Amz-Signature="
    at = url.index(marker) + len(marker)
    tampered = url[:at] + ("0" if url[at] != "0" else "1") + url[at + 1 :]
    assert fetch(tampered)[0] == 403
    unsigned = (
        f"{object_storage.endpoint_url}/{objectstore.store().bucket_name}/{objectstore.object_key(asset.storage_key)}"
    )
    assert fetch(unsigned)[0] == 403
    wait_for(lambda: fetch(url)[0] == 403, timeout=30, interval=0.5, message="the signed URL to expire")


@pytest.mark.django_db
def test_sync_verifies_and_skips_what_the_store_already_holds(object_storage):
    asset = stored_asset(seed="present")
    objectstore.put(asset.storage_key, local_bytes(asset), content_type="image/webp", sha256=asset.sha256)
    puts = operations("put", "ok")
    assert assets.asset_object_sync(asset) == "present"
    assert operations("put", "ok") == puts
    asset.refresh_from_db()
    assert assets.asset_object_sync(asset) == "synced"

    wrong = stored_asset(seed="wrong-copy")
    objectstore.put(
        wrong.storage_key,
        b"not these bytes",
        content_type="image/webp",
        sha256=hashlib.sha256(b"not these bytes").hexdigest(),
    )
    assert assets.asset_object_sync(wrong) == "uploaded"  # a mismatching copy is replaced
    info = objectstore.head(wrong.storage_key)
    assert info.size == wrong.size_bytes


# --- delivery ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_synced_stickers_of_admitted_owners_redirect_to_a_signed_url(object_storage, api, other_user):
    rollout(100)
    pack = synced_pack(items=2, nsfw_items=1)
    safe, nsfw = pack.items.order_by("position")[1], pack.items.order_by("position")[0]
    response = api.get(sticker_path(pack, safe.asset_id))
    assert response.status_code == 302
    location = response["Location"]
    assert urlparse(location).netloc == urlparse(object_storage.endpoint_url).netloc and "X-Amz-Signature=" in location
    cache_control = response["Cache-Control"]
    assert cache_control.startswith("private, max-age=")
    assert 0 < int(cache_control.rsplit("=", 1)[1]) < 300  # below the URL's lifetime
    status, body, _ = fetch(location)
    assert status == 200 and body == local_bytes(safe.asset)
    # The same URL for a while (half its lifetime), so the browser can keep the bytes.
    assert api.get(sticker_path(pack, safe.asset_id))["Location"] == location

    denied = api.get(sticker_path(pack, nsfw.asset_id))  # NSFW: never redirected for anonymous viewers
    assert denied.status_code == 403 and denied.json()["code"] == "NOT_ALLOWED"
    member = client_for(other_user).get(sticker_path(pack, nsfw.asset_id))
    assert member.status_code == 302 and member["Cache-Control"].startswith("private")


@pytest.mark.django_db
def test_unsynced_assets_and_an_unconfigured_store_are_served_locally(object_storage, api, settings):
    rollout(100)
    pack = make_pack(items=1, classified=True)
    item = pack.items.get()
    response = api.get(sticker_path(pack, item.asset_id))
    assert response.status_code == 200 and b"".join(response.streaming_content) == local_bytes(item.asset)

    synced = synced_pack()
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "objects"}
    assert api.get(sticker_path(synced, synced.items.get().asset_id)).status_code == 200


@pytest.mark.django_db
def test_rollout_split_follows_the_flag_at_0_50_and_100_percent(object_storage, api):
    packs = [synced_pack(owner=UserFactory()) for _ in range(16)]
    for percent in (0, 50, 100):
        rollout(percent)
        redirected = set()
        for pack in packs:
            item = pack.items.get()
            status = api.get(sticker_path(pack, item.asset_id)).status_code
            assert status in (200, 302)
            admitted = is_enabled(FLAG, subject_key=str(item.asset.owner_id))
            assert (status == 302) == admitted, (percent, item.asset.owner_id)
            if status == 302:
                redirected.add(pack.id)
        expected = {0: 0, 100: len(packs)}.get(percent)
        if expected is not None:
            assert len(redirected) == expected
        else:
            assert 0 < len(redirected) < len(packs)  # 16 owners: both sides of a 50 % split


@pytest.mark.django_db
def test_a_cdn_gets_only_safe_stickers_of_listed_packs(object_storage, api, user, settings):
    rollout(100)
    settings.CDN_BASE_URL = "https://cdn.example.test"
    listed = synced_pack()
    response = api.get(sticker_path(listed, listed.items.get().asset_id))
    assert response.status_code == 302
    asset = listed.items.get().asset
    assert response["Location"] == f"https://cdn.example.test/{objectstore.object_key(asset.storage_key)}"
    assert response["Cache-Control"].startswith("public")

    unlisted = synced_pack(visibility="unlisted")
    signed = api.get(sticker_path(unlisted, unlisted.items.get().asset_id))
    assert signed.status_code == 302 and signed["Location"].startswith(object_storage.endpoint_url)
    assert signed["Cache-Control"].startswith("private")
    for mark in ({"is_sensitive": True}, {"moderation_sensitive": True}):  # the owner's mark, or staff's
        sensitive = synced_pack(owner=user, **mark)
        path = sticker_path(sensitive, sensitive.items.get().asset_id)
        owner_view = client_for(user).get(path)
        assert owner_view.status_code == 302 and owner_view["Location"].startswith(object_storage.endpoint_url)
        assert owner_view["Cache-Control"].startswith("private")
        denied = api.get(path)
        assert denied.status_code == 403 and denied["Cache-Control"] == "no-store", mark


@pytest.mark.django_db
def test_a_host_without_the_local_file_serves_the_store_copy(object_storage, api):
    rollout(0)  # not admitted: delivery is local, and the local file is missing on this host
    pack = synced_pack()
    asset = pack.items.get().asset
    expected = local_bytes(asset)
    default_storage.delete(asset.storage_key)
    response = api.get(sticker_path(pack, asset.id))
    assert response.status_code == 200 and b"".join(response.streaming_content) == expected


@pytest.mark.django_db
def test_without_a_store_a_missing_local_file_is_a_json_503(api):
    pack = make_pack(items=1)
    asset = pack.items.get().asset
    default_storage.delete(asset.storage_key)
    response = api.get(sticker_path(pack, asset.id))
    assert response.status_code == 503 and response.json()["code"] == "STORAGE_ERROR"


# --- a store that dies -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_dead_store_is_noticed_within_30_s_and_uploads_made_meanwhile_sync_once_it_is_back(
    object_storage, api, user, settings
):
    settings.WORKER_RETRY_BASE_SECONDS = 0.05
    settings.WORKER_RETRY_CAP_SECONDS = 0.2
    rollout(100)
    pack = synced_pack(owner=user)
    path = sticker_path(pack, pack.items.get().asset_id)
    assert api.get(path).status_code == 302

    object_storage.stop()
    errors_before = operations("probe", "error")
    started = time.monotonic()
    statuses = []

    def fell_back() -> bool:
        statuses.append(api.get(path).status_code)
        return statuses[-1] == 200

    wait_for(fell_back, timeout=30, interval=0.25, message="delivery to fall back to local bytes")
    assert time.monotonic() - started < 30
    assert set(statuses) <= {200, 302}  # never a 5xx
    assert operations("probe", "error") > errors_before
    assert objectstore.health_state()["up"] is False

    # Uploads still work; their write-through task fails and waits for a retry.
    data = png_bytes(color=(10, 200, 30, 255))
    file = io.BytesIO(data)
    file.name = "during-outage.png"
    created = client_for(user).post(f"/api/sticker-packs/{pack.pack_key}/stickers", {"file": file}, format="multipart")
    assert created.status_code == 201
    new_asset = StickerAsset.objects.get(pk=created.json()["data"]["sticker_id"])
    task = WorkerTask.objects.get(task_type="object_storage_put", payload={"asset_id": new_asset.id})
    call_command("run_worker", "--task-type", "all", "--max-tasks", "1", "--poll-interval", "0.05", verbosity=0)
    task.refresh_from_db()
    assert task.status == "pending" and task.attempts == 1 and task.last_error
    new_asset.refresh_from_db()
    assert new_asset.object_storage_synced_at is None
    new_path = sticker_path(pack, new_asset.id)
    assert api.get(new_path).status_code == 200  # served locally meanwhile

    settings.OBJECT_STORAGE_HEALTH_CHECK_SECONDS = 1  # noticed back quickly; the default was measured above
    object_storage.start()

    def synced() -> bool:
        run_tasks()
        new_asset.refresh_from_db()
        return new_asset.object_storage_synced_at is not None

    wait_for(synced, timeout=60, interval=0.2, message="the upload made during the outage to sync")
    assert objectstore.head(new_asset.storage_key).size == new_asset.size_bytes
    wait_for(lambda: api.get(new_path).status_code == 302, timeout=30, interval=0.5, message="redirects to resume")


# --- write-through ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_uploads_write_through_only_for_admitted_owners_and_never_inside_the_request(
    object_storage, user, django_capture_on_commit_callbacks
):
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    client = client_for(user)

    def upload(color):
        file = io.BytesIO(png_bytes(color=color))
        file.name = "s.png"
        response = client.post(f"/api/sticker-packs/{pack.pack_key}/stickers", {"file": file}, format="multipart")
        assert response.status_code == 201
        return StickerAsset.objects.get(pk=response.json()["data"]["sticker_id"])

    rollout(0)
    outside = upload((1, 2, 3, 255))
    assert not WorkerTask.objects.filter(task_type="object_storage_put").exists()
    rollout(100)
    inside = upload((4, 5, 6, 255))
    task = WorkerTask.objects.get(task_type="object_storage_put")
    assert task.payload == {"asset_id": inside.id} and task.max_attempts >= 10
    assert inside.object_storage_synced_at is None and objectstore.head(inside.storage_key) is None
    from catalog.tasks import object_storage_put

    assert object_storage_put(task.payload) == {"outcome": "uploaded"}
    inside.refresh_from_db()
    assert inside.object_storage_synced_at is not None
    assert objectstore.head(outside.storage_key) is None


@pytest.mark.django_db
def test_the_sweep_syncs_admitted_assets_a_task_left_behind(object_storage):
    owners = [UserFactory() for _ in range(12)]
    rollout(50)
    admitted = [o for o in owners if assets.object_storage_admits(o.id)]
    assert 0 < len(admitted) < len(owners)
    old = timezone.now() - timezone.timedelta(minutes=5)
    left = [stored_asset(seed=f"left-{o.id}", owner=o, created_at=old) for o in owners]
    fresh = stored_asset(seed="just-uploaded", owner=admitted[0])
    counts = assets.object_sync_sweep()
    assert counts["uploaded"] == len(admitted)
    synced = set(StickerAsset.objects.filter(object_storage_synced_at__isnull=False).values_list("owner_id", flat=True))
    assert synced == {o.id for o in admitted}
    fresh.refresh_from_db()
    assert fresh.object_storage_synced_at is None and len(left) == len(owners)


# --- backfill ----------------------------------------------------------------------------------


def backfill_fixture(count: int):
    made = [stored_asset(seed=f"backfill-{n}") for n in range(count)]
    assets.asset_object_sync(made[0])  # synced before
    objectstore.put(made[1].storage_key, local_bytes(made[1]), content_type="image/webp", sha256=made[1].sha256)
    return made


@pytest.mark.django_db
def test_backfill_uploads_exactly_the_missing_objects_and_a_second_run_nothing(object_storage, capsys):
    made = backfill_fixture(8)
    call_command("sync_object_storage", "--dry-run")
    assert "7 assets are not synced" in capsys.readouterr().out
    assert StickerAsset.objects.filter(object_storage_synced_at__isnull=True).count() == 7

    puts = operations("put", "ok")
    call_command("sync_object_storage", "--batch-size", "3")
    out = capsys.readouterr()
    assert "selected 7: uploaded 6, already in the store 1, failed 0" in out.out
    assert "assets/s" in out.out and "obj" in out.err  # the progress bar, with its rate
    assert operations("put", "ok") - puts == 6
    assert not StickerAsset.objects.filter(object_storage_synced_at__isnull=True).exists()
    for asset in made:
        assert objectstore.verified(
            objectstore.head(asset.storage_key), size=asset.size_bytes, sha256=asset.sha256, data=local_bytes(asset)
        )

    puts = operations("put", "ok")
    call_command("sync_object_storage")
    assert "selected 0: uploaded 0" in capsys.readouterr().out
    assert operations("put", "ok") == puts


@pytest.mark.django_db
def test_backfill_filters_by_owner_and_date(object_storage, capsys):
    owner = UserFactory()
    mine = stored_asset(seed="mine", owner=owner)
    stored_asset(seed="theirs")
    stored_asset(seed="old-mine", owner=owner, created_at=timezone.now() - timezone.timedelta(days=10))
    since = (timezone.now() - timezone.timedelta(days=1)).date().isoformat()
    call_command("sync_object_storage", "--owner", str(owner.id), "--since", since)
    assert "selected 1: uploaded 1" in capsys.readouterr().out
    assert list(StickerAsset.objects.filter(object_storage_synced_at__isnull=False)) == [mine]
    with pytest.raises(CommandError):
        call_command("sync_object_storage", "--since", "yesterday")


@pytest.mark.django_db
def test_an_interrupted_backfill_resumes_where_it_stopped(object_storage, capsys, monkeypatch):
    backfill_fixture(10)
    real_sync = assets.asset_object_sync
    calls = []

    def interrupted_after_four(asset):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(asset.id)
        return real_sync(asset)

    monkeypatch.setattr(assets, "asset_object_sync", interrupted_after_four)
    with pytest.raises(CommandError) as stopped:
        call_command("sync_object_storage", "--batch-size", "2")
    assert stopped.value.returncode == 130 and "run it again to resume" in str(stopped.value)
    assert StickerAsset.objects.filter(object_storage_synced_at__isnull=True).count() == 9 - 4
    monkeypatch.setattr(assets, "asset_object_sync", real_sync)

    puts = operations("put", "ok")
    capsys.readouterr()
    call_command("sync_object_storage")
    assert "selected 5: uploaded 5, already in the store 0" in capsys.readouterr().out
    assert operations("put", "ok") - puts == 5
    assert not StickerAsset.objects.filter(object_storage_synced_at__isnull=True).exists()


@pytest.mark.django_db
def test_backfill_stops_when_the_store_dies(object_storage, capsys):
    backfill_fixture(4)
    object_storage.stop()
    with pytest.raises(CommandError, match="run it again to resume"):
        call_command("sync_object_storage")
    assert StickerAsset.objects.filter(object_storage_synced_at__isnull=True).count() == 3


# --- deletion ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deleting_an_asset_deletes_its_object_through_the_outbox(object_storage, staff_user, settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0.05
    settings.WORKER_RETRY_CAP_SECONDS = 0.2
    asset = stored_asset(seed="to-delete")
    assert assets.asset_object_sync(asset) == "uploaded"
    in_use = stored_asset(seed="in-use")
    StickerPackItemFactory(asset=in_use, position=1)

    from django.test import Client

    admin = Client()
    admin.force_login(staff_user)
    response = admin.post(f"/admin/catalog/stickerasset/{asset.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not StickerAsset.objects.filter(pk=asset.id).exists()
    assert not default_storage.exists(asset.storage_key)
    event = DomainEvent.objects.get(event_type="STICKER_ASSET_DELETED")
    assert event.payload == {"asset_id": asset.id, "storage_key": asset.storage_key}
    assert objectstore.head(asset.storage_key) is not None  # not inside the request

    object_storage.stop()  # the first attempt fails; the task is retried until the store is back
    call_command("run_outbox_consumer", "--once", "--poll-interval", "0.05", verbosity=0)
    call_command("run_worker", "--task-type", "all", "--max-tasks", "1", "--poll-interval", "0.05", verbosity=0)
    task = WorkerTask.objects.get(task_type="object_storage_delete")
    assert task.status == "pending" and task.attempts == 1
    object_storage.start()

    def gone() -> bool:
        run_tasks()
        return objectstore.head(asset.storage_key) is None

    wait_for(gone, timeout=60, interval=0.2, message="the object to be deleted")
    with pytest.raises(Exception, match="remove it from its packs"):
        assets.asset_delete(asset_id=in_use.id)


@pytest.mark.django_db(transaction=True)
def test_orphan_cleanup_deletes_old_assets_no_pack_holds_and_their_objects(object_storage, settings):
    settings.ORPHAN_ASSET_RETENTION_DAYS = 30
    old = timezone.now() - timezone.timedelta(days=31)
    orphan = stored_asset(seed="orphan", created_at=old)
    assets.asset_object_sync(orphan)
    held = stored_asset(seed="held", created_at=old)
    StickerPackItemFactory(asset=held, position=1)
    young = stored_asset(seed="young")
    call_command("prune_history", verbosity=0)
    assert set(StickerAsset.objects.values_list("id", flat=True)) == {held.id, young.id}
    run_tasks()
    assert objectstore.head(orphan.storage_key) is None


@pytest.mark.django_db(transaction=True)
def test_an_object_is_kept_when_the_same_bytes_were_uploaded_again(object_storage):
    asset = stored_asset(seed="again")
    assets.asset_object_sync(asset)
    key, sha = asset.storage_key, asset.sha256
    assets.asset_delete(asset_id=asset.id)
    again = StickerAsset.objects.create(sha256=sha, storage_key=key, size_bytes=asset.size_bytes)
    run_tasks()
    assert objectstore.head(key) is not None and StickerAsset.objects.filter(pk=again.pk).exists()


# --- one image, several owners (issue 19: asset rows per owner, bytes and objects per sha256) -----


def same_image_for(asset, owner):
    """Another owner's asset row of the very same bytes (the same storage key, as an upload makes)."""
    return StickerAsset.objects.create(
        sha256=asset.sha256, storage_key=asset.storage_key, size_bytes=asset.size_bytes, owner=owner
    )


def upload_as(user, pack, data: bytes):
    file = io.BytesIO(data)
    file.name = "same.png"
    response = client_for(user).post(f"/api/sticker-packs/{pack.pack_key}/stickers", {"file": file}, format="multipart")
    assert response.status_code == 201, response.content
    return StickerAsset.objects.get(pk=response.json()["data"]["sticker_id"])


@pytest.mark.django_db(transaction=True)
def test_two_owners_of_one_image_share_one_object_and_deleting_one_asset_keeps_it_for_the_other(
    object_storage, api, staff_user
):
    rollout(100)
    alice, bob = UserFactory(), UserFactory()
    alice_pack = make_pack(owner=alice, items=0, refresh=False)
    bob_pack = make_pack(owner=bob, items=0, visibility="private", refresh=False)
    data = png_bytes(color=(90, 30, 160, 255))
    puts = operations("put", "ok")
    mine, theirs = upload_as(alice, alice_pack, data), upload_as(bob, bob_pack, data)
    assert mine.id != theirs.id and mine.storage_key == theirs.storage_key
    key = mine.storage_key
    assert WorkerTask.objects.filter(task_type="object_storage_put").count() == 2  # one per row

    run_tasks()
    assert operations("put", "ok") - puts == 1  # one PUT for the object both rows use
    for row in (mine, theirs):
        row.refresh_from_db()
        assert row.object_storage_synced_at is not None

    # Bob takes his sticker out of his pack, and staff delete his now unused asset.
    assert client_for(bob).delete(f"/api/sticker-packs/{bob_pack.pack_key}/stickers/{theirs.id}").status_code == 204
    from django.test import Client

    admin = Client()
    admin.force_login(staff_user)
    assert admin.post(f"/admin/catalog/stickerasset/{theirs.id}/delete/", {"post": "yes"}).status_code == 302
    assert not StickerAsset.objects.filter(pk=theirs.id).exists()
    assert DomainEvent.objects.filter(event_type="STICKER_ASSET_DELETED").count() == 1
    run_tasks()  # the delete task ran: it found Alice's row on the key and kept the object
    delete_task = WorkerTask.objects.get(task_type="object_storage_delete")
    assert delete_task.status == "completed"
    assert default_storage.exists(key) and objectstore.head(key) is not None

    path = sticker_path(alice_pack, mine.id)
    redirected = api.get(path)
    assert redirected.status_code == 302
    status, body, _ = fetch(redirected["Location"])
    assert status == 200 and hashlib.sha256(body).hexdigest() == mine.sha256
    rollout(0)  # not admitted: the local bytes
    local = api.get(path)
    assert local.status_code == 200 and hashlib.sha256(b"".join(local.streaming_content)).hexdigest() == mine.sha256

    # Alice's row is the last one: deleting it too (out of every pack, auto packs included) removes both.
    StickerPackItem.objects.filter(asset=mine).delete()
    assert assets.asset_delete(asset_id=mine.id)
    run_tasks()
    assert not default_storage.exists(key) and objectstore.head(key) is None


@pytest.mark.django_db
def test_backfill_and_sweep_put_a_shared_object_once_and_mark_every_row_of_it(object_storage, capsys):
    first = stored_asset(seed="shared-backfill")
    second = same_image_for(first, UserFactory())
    assert second.storage_key == first.storage_key and second.owner_id != first.owner_id
    stored_asset(seed="alone-backfill")
    puts = operations("put", "ok")
    call_command("sync_object_storage")
    out = capsys.readouterr().out
    assert "selected 3: uploaded 2, already in the store 0, failed 0" in out and "synced here 1;" in out
    assert operations("put", "ok") - puts == 2
    assert not StickerAsset.objects.filter(object_storage_synced_at__isnull=True).exists()
    call_command("sync_object_storage")
    assert "selected 0: uploaded 0" in capsys.readouterr().out
    assert operations("put", "ok") - puts == 2

    # The write-through sweep, over rows of two admitted owners and one more of another.
    rollout(100)
    old = timezone.now() - timezone.timedelta(minutes=5)
    left = stored_asset(seed="shared-sweep", created_at=old)
    rows = [left, *(same_image_for(left, UserFactory()) for _ in range(2))]
    StickerAsset.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=old)
    puts = operations("put", "ok")
    counts = assets.object_sync_sweep()
    assert counts["uploaded"] == 1 and counts["shared"] == 2 and counts["failed"] == 0
    assert operations("put", "ok") - puts == 1
    assert not StickerAsset.objects.filter(object_storage_synced_at__isnull=True).exists()


# --- operations ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_checks_the_bucket_and_metrics_count_every_operation(object_storage, client, settings):
    settings.PROBE_CACHE_SECONDS = 0  # check on every probe
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["object_storage"] == "ok"
    object_storage.stop()
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["failing"] == "object_storage"
    text = client.get("/metrics").content.decode()
    assert 'packyard_object_storage_operations_total{operation="probe",outcome="error"}' in text
    assert 'packyard_object_storage_operations_total{operation="probe",outcome="ok"}' in text
    assert "packyard_object_storage_operation_duration_seconds_bucket" in text


@pytest.mark.django_db
def test_readyz_has_no_object_storage_check_without_a_bucket(client):
    assert "object_storage" not in client.get("/readyz").json()["checks"]


@pytest.mark.django_db(transaction=True)
def test_two_backfills_at_once_upload_each_object_once(object_storage, settings):
    import re
    import subprocess
    import sys

    from tests.s3server.launcher import ACCESS_KEY, SECRET_KEY
    from tests.workers.procs import ROOT, worker_env

    # Ids in six lease windows, so two runs can split them.
    made = [stored_asset(seed=f"two-{w}-{k}", id=w * 1000 + k + 1) for w in range(6) for k in range(4)]
    options = settings.STORAGES["objects"]["OPTIONS"]
    env = worker_env(
        MEDIA_ROOT=settings.MEDIA_ROOT,
        OBJECT_STORAGE_BUCKET=options["bucket_name"],
        OBJECT_STORAGE_ENDPOINT_URL=object_storage.endpoint_url,
        OBJECT_STORAGE_ACCESS_KEY_ID=ACCESS_KEY,
        OBJECT_STORAGE_SECRET_ACCESS_KEY=SECRET_KEY,
        OBJECT_STORAGE_PATH_STYLE="true",
        OBJECT_STORAGE_KEY_PREFIX=options["location"],
    )
    command = [sys.executable, "manage.py", "sync_object_storage", "--batch-size", "2"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    uploaded = [int(re.search(r"uploaded (\d+)", out).group(1)) for out, _ in outputs]
    assert sum(uploaded) == len(made)  # each object uploaded by exactly one of them
    assert not StickerAsset.objects.filter(object_storage_synced_at__isnull=True).exists()
    for asset in made:
        assert objectstore.head(asset.storage_key).size == asset.size_bytes
