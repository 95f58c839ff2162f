import pytest
from django.db import transaction

from flags.testing import override_flag
from outbox.models import DomainEvent, DomainEventDeadLetter
from outbox.services import EVENTS, event_dispatch, publish
from tests.workers import tasks_for_tests  # noqa: F401 - registers TEST_EVENT's handler (event_probe)
from workers.models import Lease

pytestmark = pytest.mark.django_db


def _publish(n: int, **extra):
    return publish(
        event_type="TEST_EVENT",
        aggregate_type="pack",
        aggregate_id=n,
        payload={"n": n},
        idempotency_key=f"pack:{n}:v1",
        **extra,
    )


def test_publish_is_part_of_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        _publish(1)
        raise RuntimeError("the change failed")
    assert DomainEvent.objects.count() == 0
    with transaction.atomic():
        event = _publish(2, request_id="req-1")
    assert DomainEvent.objects.get().pk == event.pk
    assert (event.aggregate_type, event.aggregate_id, event.request_id, event.max_attempts) == (
        "pack",
        "2",
        "req-1",
        10,
    )


def test_keys_are_per_change():
    first = _publish(1)
    assert _publish(1).pk == first.pk  # the same change published twice: one event
    second = publish(
        event_type="TEST_EVENT", aggregate_type="pack", aggregate_id=1, payload={"n": 1}, idempotency_key="pack:1:v2"
    )
    assert second.pk != first.pk


def test_flag_off_for_the_aggregate_publishes_nothing():
    with override_flag("enable_domain_event_outbox", False):
        assert _publish(1) is None
    assert DomainEvent.objects.count() == 0


def test_dispatch_runs_the_registered_handlers_and_completes():
    _publish(5)
    [item] = EVENTS.claim(worker_id="consumer")
    event_dispatch(item)
    EVENTS.complete(item, worker_id="consumer")
    assert Lease.objects.filter(name="event:5", holder="TEST_EVENT").exists()
    assert DomainEvent.objects.get().status == "completed"


def test_event_without_handlers_is_simply_done():
    publish(event_type="NOBODY_LISTENS", aggregate_type="pack", aggregate_id=1, payload={}, idempotency_key="n:1")
    [item] = EVENTS.claim(worker_id="consumer")
    event_dispatch(item)
    assert EVENTS.complete(item, worker_id="consumer")


def test_failing_handler_retries_then_dead_letters(settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0
    settings.WORKER_RETRY_CAP_SECONDS = 0
    _publish(9)
    Lease.objects.create(name="event:9")  # makes the handler's insert fail every time
    outcomes = []
    for _ in range(10):
        [item] = EVENTS.claim(worker_id="consumer")
        try:
            event_dispatch(item)
        except Exception as exc:
            outcomes.append(EVENTS.fail(item, worker_id="consumer", error=f"{exc.__class__.__name__}: {exc}"))
    assert outcomes == ["retry"] * 9 + ["dead"]
    letter = DomainEventDeadLetter.objects.get()
    assert (letter.event_type, letter.aggregate_type, letter.aggregate_id, letter.attempts) == (
        "TEST_EVENT",
        "pack",
        "9",
        10,
    )
    assert "IntegrityError" in letter.last_error
