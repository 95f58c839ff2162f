"""`@task` functions for the Django Tasks API tests (tests/workers/test_tasks_backend.py), loaded in
worker subprocesses through WORKER_EXTRA_TASK_MODULES. The signal receivers record what a worker
sent as Lease rows named "signal:<signal>:<result id>:<attempt>" holding the status."""

import asyncio
import time

from django.dispatch import receiver
from django.tasks import task
from django.tasks.signals import task_finished, task_started

from workers.models import Lease


@task
def add(a, b):
    return a + b


@task
def echo(label):
    return {"label": label}


@task(max_attempts=3, retry_base_seconds=0, retry_cap_seconds=0)
def always_fails(n):
    raise ValueError(f"bad input {n}")


@task(takes_context=True, max_attempts=3, retry_base_seconds=0, retry_cap_seconds=0)
def fails_once(context, n):
    if context.attempt == 1:
        raise RuntimeError(f"first attempt of {n} fails")
    return {"n": n, "attempt": context.attempt, "worker_ids": context.task_result.worker_ids}


@task
async def async_double(n):
    await asyncio.sleep(0.01)
    return n * 2


@task
def sleep_then_return(n, seconds):
    time.sleep(seconds)
    return n


@task(idempotency_key=lambda user_id: f"welcome:{user_id}")
def welcome(user_id):
    return user_id


@task(time_limit=0.5, max_attempts=1)
def overruns(seconds):
    time.sleep(seconds)


def _record(signal: str, task_result) -> None:
    Lease.objects.get_or_create(
        name=f"signal:{signal}:{task_result.id}:{task_result.attempts}", defaults={"holder": task_result.status}
    )


@receiver(task_started)
def record_started(sender, task_result, **kwargs):
    _record("started", task_result)


@receiver(task_finished)
def record_finished(sender, task_result, **kwargs):
    _record("finished", task_result)
