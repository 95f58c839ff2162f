"""Database-backed named leases: one holder at a time across every process and host.

Acquire is a single conditional UPDATE (free, expired, or already ours → take it), so two
contenders can never both succeed, whatever the database. A holder that dies stops renewing
and its lease expires; the next contender takes it over.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from workers.models import Lease


class LeaseBusy(Exception):
    """Another holder has the lease."""


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


@contextmanager
def held_lease(name: str, *, ttl_seconds: float, holder: str | None = None) -> Iterator[str]:
    """Hold `name` for the block, or raise LeaseBusy at once. Yields the holder id, which the
    block uses with lease_renew() when its work may outlast the ttl."""
    holder = holder or f"{name}:{uuid.uuid4().hex}"
    if not lease_acquire(name, holder=holder, ttl_seconds=ttl_seconds):
        raise LeaseBusy(f"lease {name!r} is held by {lease_holder(name) or 'someone else'}")
    try:
        yield holder
    finally:
        lease_release(name, holder=holder)
