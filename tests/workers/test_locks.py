"""Named database leases (workers.locks): one holder at a time, renewed while its block runs."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from workers.locks import LeaseBusy, held_lease, lease_acquire, lease_holder, lease_release, lease_renew
from workers.models import Lease

pytestmark = pytest.mark.django_db


def test_lease_semantics():
    assert lease_acquire("x", holder="a", ttl_seconds=30)
    assert not lease_acquire("x", holder="b", ttl_seconds=30)
    assert lease_holder("x") == "a" and lease_renew("x", holder="a", ttl_seconds=30)
    assert not lease_renew("x", holder="b", ttl_seconds=30)
    assert lease_release("x", holder="a") and lease_holder("x") == ""
    assert lease_acquire("x", holder="b", ttl_seconds=30)
    Lease.objects.filter(name="x").update(expires_at=timezone.now() - timedelta(seconds=1))  # b died
    assert lease_acquire("x", holder="c", ttl_seconds=30) and lease_holder("x") == "c"
    with pytest.raises(LeaseBusy), held_lease("x", ttl_seconds=30):
        pass


@pytest.mark.django_db(transaction=True)
def test_a_held_lease_outlives_its_ttl_while_the_block_runs():
    with held_lease("long-work", ttl_seconds=1.0):
        holder = lease_holder("long-work")
        time.sleep(2.5)  # well past the ttl: without renewal the lease would have expired
        assert not lease_acquire("long-work", holder="rival", ttl_seconds=30)
        assert lease_holder("long-work") == holder
    assert lease_holder("long-work") == ""
    assert lease_acquire("long-work", holder="rival", ttl_seconds=30)


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_a_block_whose_lease_was_taken_over_is_told_to_stop():
    from workers.locks import LeaseLost

    with held_lease("taken", ttl_seconds=1.0) as lease:
        lease.check()  # held: carries on
        # It expired (the holder stalled) and a rival took it over.
        Lease.objects.filter(name="taken").update(holder="rival", expires_at=timezone.now() + timedelta(seconds=30))
        assert wait_until(lambda: lease.lost)
        with pytest.raises(LeaseLost):
            lease.check()
    assert lease_holder("taken") == "rival"  # leaving the block does not release the rival's lease
