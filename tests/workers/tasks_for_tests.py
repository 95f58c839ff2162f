"""Task types and an event handler for the queue tests, loaded in worker subprocesses through
WORKER_EXTRA_TASK_MODULES=tests.workers.tasks_for_tests. Runs are recorded as Lease rows
named "probe:<n>": the unique name makes a second run of the same task fail loudly."""

import time

from outbox.services import register_handler
from workers.models import Lease
from workers.registry import register_task_type


def probe(payload: dict) -> None:
    time.sleep(payload.get("sleep", 0))
    Lease.objects.create(name=f"probe:{payload['n']}", holder="ran")


def idempotent_probe(payload: dict) -> None:
    time.sleep(payload.get("sleep", 0))
    Lease.objects.get_or_create(name=f"probe:{payload['n']}", defaults={"holder": "ran"})


def poison(payload: dict) -> None:
    raise RuntimeError(f"poison pill {payload.get('n')}")


def event_probe(event) -> None:
    Lease.objects.create(name=f"event:{event.payload['n']}", holder=event.event_type)


register_task_type("test_probe", probe)
register_task_type("test_idempotent_probe", idempotent_probe)
register_task_type("test_poison", poison)
register_task_type("test_dedicated_probe", probe, group="test_dedicated", dedicated=True)
register_handler("TEST_EVENT", event_probe)
