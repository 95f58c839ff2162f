"""Backfill of the object store (`manage.py sync_object_storage`, SPEC §7).

Exactly the assets not marked synced are visited, in id order; each one is verified in the store
(HEAD) and uploaded only when the store has no matching copy, then marked. A run that stops
leaves every finished asset marked, so the next run resumes with what is left.

Two runs at once split the work: asset ids are grouped in windows of WINDOW ids, and a run works
on a window only while it holds the window's database lease (workers.locks). A window another
run holds is skipped and revisited at the end, once its lease is free (or expired: a run that
was killed stops renewing). Marking is a conditional UPDATE, so nothing is ever counted twice.

Several rows can share one stored object (assets are per owner, bytes per sha256): the object is
verified and uploaded once, and every row of it is marked then (assets.asset_object_sync); the
rows of a batch whose object was just synced count as `shared`.
"""

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from catalog.models import StickerAsset
from catalog.services import assets, objectstore
from workers.locks import lease_acquire, lease_release, lease_renew

logger = logging.getLogger(__name__)

WINDOW = 1000
LEASE_SECONDS = 120
BUSY_POLL_SECONDS = 1.0


class StoreDown(Exception):
    """The store stopped answering: the run stops (run it again to resume)."""


@dataclass
class BackfillResult:
    selected: int = 0
    uploaded: int = 0
    present: int = 0  # already in the store and verified: marked without uploading
    failed: int = 0
    gone: int = 0  # deleted while the run went on
    synced_elsewhere: int = 0  # marked by another process first
    shared: int = 0  # marked with the object of another row of the same bytes (no request of its own)
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.uploaded + self.present + self.shared

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


def backfill_queryset(*, owner_id: int | None = None, since: datetime | None = None):
    queryset = StickerAsset.objects.filter(object_storage_synced_at__isnull=True)
    if owner_id is not None:
        queryset = queryset.filter(owner_id=owner_id)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    return queryset


class Backfill:
    def __init__(
        self,
        *,
        owner_id: int | None = None,
        since: datetime | None = None,
        batch_size: int = 100,
        progress: Callable[[str], None] | None = None,
    ):
        self.queryset = backfill_queryset(owner_id=owner_id, since=since)
        self.batch_size = max(1, batch_size)
        self.progress = progress or (lambda outcome: None)
        self.holder = f"sync:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.result = BackfillResult()

    def count(self) -> int:
        return self.queryset.count()

    def run(self) -> BackfillResult:
        if not objectstore.configured():
            raise StoreDown("no object store is configured (OBJECT_STORAGE_BUCKET)")
        started = time.monotonic()
        try:
            busy = []
            cursor = 0
            while True:
                first = self.queryset.filter(id__gt=cursor).order_by("id").values_list("id", flat=True).first()
                if first is None:
                    break
                window = first // WINDOW
                if not self._window(window, wait=False):
                    busy.append(window)
                cursor = (window + 1) * WINDOW - 1
            for window in busy:  # held by another run when we passed: finish what it left
                self._window(window, wait=True)
        finally:
            self.result.seconds = time.monotonic() - started
        return self.result

    def _window(self, window: int, *, wait: bool) -> bool:
        name = f"object_storage_sync:{window}"
        while not lease_acquire(name, holder=self.holder, ttl_seconds=LEASE_SECONDS):
            if not wait:
                return False
            time.sleep(BUSY_POLL_SECONDS)
        try:
            low, high = window * WINDOW, (window + 1) * WINDOW
            cursor = low - 1
            while True:
                batch = list(self.queryset.filter(id__gt=cursor, id__lt=high).order_by("id")[: self.batch_size])
                if not batch:
                    return True
                synced_keys = set()  # objects synced in this batch: their other rows are marked already
                for asset in batch:
                    if asset.storage_key in synced_keys:
                        self.result.shared += 1
                        self.progress("shared")
                    elif self._sync(asset):
                        synced_keys.add(asset.storage_key)
                cursor = batch[-1].id
                lease_renew(name, holder=self.holder, ttl_seconds=LEASE_SECONDS)
        finally:
            lease_release(name, holder=self.holder)

    def _sync(self, asset: StickerAsset) -> bool:
        """True when the asset's object is now synced (its other rows marked with it)."""
        try:
            outcome = assets.asset_object_sync(asset)
        except Exception as exc:
            self.result.failed += 1
            self.result.failures.append(f"asset {asset.pk}: {exc}")
            logger.warning("sync_object_storage: asset %s: %s", asset.pk, exc)
            self.progress("failed")
            if not objectstore.is_up():
                raise StoreDown(f"the object store stopped answering ({exc})") from exc
            return False
        if outcome == "synced":
            outcome = "synced_elsewhere"  # another process marked it first
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)
        self.progress(outcome)
        return True
