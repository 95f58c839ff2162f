"""Database-backed named leases: one holder at a time across every process and host.

Acquire is a single conditional UPDATE (free, expired, or already ours → take it), so two
contenders can never both succeed, whatever the database. A holder that dies stops renewing
and its lease expires; the next contender takes it over.
"""

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from workers.models import Lease

logger = logging.getLogger(__name__)


class LeaseBusy(Exception):
    """Another holder has the lease."""


class LeaseLost(Exception):
    """Our lease expired and another holder took it: the work it guarded must stop."""


def lease_acquire(name: str, *, holder: str, ttl_seconds: float) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic():
            Lease.objects.get_or_create(name=name)
    except IntegrityError:
        pass  # created concurrently by someone else: fine, it exists now
    taken = Lease.objects.filter(
        Q(name=name) & (Q(holder="") | Q(expires_at__lt=now) | Q(expires_at__isnull=True) | Q(holder=holder))
    ).update(holder=holder, expires_at=now + timedelta(seconds=ttl_seconds), acquired_at=now)
    return taken == 1


def lease_renew(name: str, *, holder: str, ttl_seconds: float) -> bool:
    """Extend our lease; False when it was lost (expired and taken over)."""
    return (
        Lease.objects.filter(name=name, holder=holder).update(
            expires_at=timezone.now() + timedelta(seconds=ttl_seconds)
        )
        == 1
    )


def lease_release(name: str, *, holder: str) -> bool:
    return Lease.objects.filter(name=name, holder=holder).update(holder="", expires_at=None) == 1


def lease_holder(name: str) -> str:
    """The current holder ('' when free or expired)."""
    lease = Lease.objects.filter(name=name).first()
    if lease is None or not lease.holder or (lease.expires_at and lease.expires_at < timezone.now()):
        return ""
    return lease.holder


class HeldLease:
    """A lease held by a block, renewed every third of its ttl by a thread of its own (with its
    own database connection) for as long as the block runs. When a renewal finds the lease
    taken over, `lost` turns true and `check()` raises LeaseLost: the block calls it between
    units of work so it stops instead of overlapping the new holder."""

    def __init__(self, name: str, *, holder: str, ttl_seconds: float):
        self.name, self.holder, self.ttl_seconds = name, holder, float(ttl_seconds)
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._keep_renewed, name=f"lease:{name}", daemon=True)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        if self._lost.is_set():
            raise LeaseLost(f"lease {self.name!r} was taken over by {lease_holder(self.name) or 'someone else'}")

    def _keep_renewed(self) -> None:
        try:
            while not self._stop.wait(self.ttl_seconds / 3):
                try:
                    renewed = lease_renew(self.name, holder=self.holder, ttl_seconds=self.ttl_seconds)
                except DatabaseError:
                    logger.warning("lease %s: renewal failed, retrying", self.name, exc_info=True)
                    continue
                if not renewed:
                    logger.warning("lease %s: lost (taken over by another holder)", self.name)
                    self._lost.set()
                    return
        finally:
            connections.close_all()  # this thread's connections only

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def held_lease(name: str, *, ttl_seconds: float, holder: str | None = None) -> Iterator[HeldLease]:
    """Hold `name` for the block, or raise LeaseBusy at once. The lease is renewed while the block
    runs; the block calls `check()` on the yielded HeldLease between units of work, which raises
    LeaseLost once another holder has taken the lease over."""
    holder = holder or f"{name}:{uuid.uuid4().hex}"
    if not lease_acquire(name, holder=holder, ttl_seconds=ttl_seconds):
        raise LeaseBusy(f"lease {name!r} is held by {lease_holder(name) or 'someone else'}")
    lease = HeldLease(name, holder=holder, ttl_seconds=ttl_seconds)
    lease.start()
    try:
        yield lease
    finally:
        lease.stop()
        lease_release(name, holder=holder)
