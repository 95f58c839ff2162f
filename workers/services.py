"""Task-queue services: enqueue, cohort routing, dead letters, pruning."""

import time
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from flags.services import rollout_percent, subject_bucket
from workers import conf, registry
from workers.models import TaskRun, WorkerTask, WorkerTaskDeadLetter
from workers.queue import Queue, all_queues, get_queue, register_queue

TASKS = register_queue(
    Queue(
        name="tasks",
        model=WorkerTask,
        dead_letter_model=WorkerTaskDeadLetter,
        type_field="task_type",
        carried_fields=("cohort_bucket",),
        result_field="result",
        item_label="task",
    )
)


def enqueue_task(
    *,
    task_type: str,
    idempotency_key: str,
    payload: dict | None = None,
    priority: int = 0,
    available_at: datetime | None = None,
    cohort_key: str | None = None,
    max_attempts: int = 5,
    request_id: str = "",
) -> tuple[WorkerTask, bool]:
    """Create a task, or return the live one holding this idempotency key (created=False).

    The cohort bucket is fixed now, from the cohort key (default: the idempotency key), so
    a task's routing never changes while it waits. `request_id` defaults to the one bound to
    this context (config.logs): the request, event or task that caused this one.
    """
    return TASKS.enqueue(
        idempotency_key=idempotency_key,
        payload=payload,
        task_type=task_type,
        priority=priority,
        available_at=available_at or timezone.now(),
        cohort_bucket=subject_bucket(cohort_key or idempotency_key),
        max_attempts=max_attempts,
        request_id=request_id,
    )


def enqueue_task_many(
    *,
    task_type: str,
    items: list[dict],
    priority: int = 0,
    available_at: datetime | None = None,
    max_attempts: int = 5,
    enqueued_at: datetime | None = None,
) -> list[tuple[int, bool]]:
    """Bulk enqueue_task(): each item has `idempotency_key`, `payload` and optionally
    `cohort_key`; returns (task id, created) per item, in order (see Queue.enqueue_many)."""
    enqueued_at = enqueued_at or timezone.now()
    return TASKS.enqueue_many(
        (
            {
                "idempotency_key": item["idempotency_key"],
                "payload": item.get("payload") or {},
                "cohort_bucket": subject_bucket(item.get("cohort_key") or item["idempotency_key"]),
            }
            for item in items
        ),
        task_type=task_type,
        priority=priority,
        available_at=available_at or enqueued_at,
        max_attempts=max_attempts,
        created_at=enqueued_at,
        updated_at=enqueued_at,
    )


def task_runner(item, *, worker_id: str):
    """What runs a claimed task: its registered runner, or None when its type is unknown here."""
    registered = registry.get_task_type(item.type)
    if registered is None:
        return None
    if registered.run_claimed is not None:
        return lambda claimed: registered.run_claimed(claimed, worker_id)
    return lambda claimed: registered.func(claimed.payload)


def dedicated_rollout_percent() -> int:
    """Share of cohort buckets (0..100) routed to dedicated workers right now."""
    return rollout_percent(conf.DEDICATED_FLAG)


def routing_filter(task_type: str, *, percent: int | None = None) -> tuple[list[str], Q | None]:
    """The task types and cohort filter a worker started with `--task-type task_type` may claim.

    A dedicated worker (a group of task types registered `dedicated`) takes its group's tasks whose
    bucket is inside the rollout; the combined worker (`all`) takes everything else. At any percent
    each task is eligible for exactly one kind of worker.
    """
    percent = dedicated_rollout_percent() if percent is None else percent
    types = registry.registered_task_types()
    dedicated = registry.dedicated_groups()
    if task_type == "all":
        routable = [t.name for t in types.values() if t.worker_group in dedicated]
        others = [t.name for t in types.values() if t.worker_group not in dedicated]
        if percent <= 0 or not routable:
            return list(types), None
        cohort = Q(task_type__in=others) | Q(task_type__in=routable, cohort_bucket__gte=percent)
        return list(types), cohort
    group_types = [t.name for t in types.values() if t.worker_group == task_type]
    if task_type not in dedicated:
        return group_types, None  # a non-routable type: its own worker takes all of it
    return group_types, Q(cohort_bucket__lt=percent)


def cycle_enqueue_due(*, task_types: list[str], last_buckets: dict[str, int], now: float | None = None) -> list[str]:
    """Enqueue periodic cycles whose cadence bucket changed: key `pipeline:<type>:<bucket>`.

    Any number of workers calling this enqueue one cycle per bucket (the key is unique).
    """
    now = time.time() if now is None else now
    enqueued = []
    for name in task_types:
        task = registry.get_task_type(name)
        if task is None or task.cadence <= 0:
            continue
        cadence = task.cadence
        bucket = int(now // cadence)
        if last_buckets.get(name) == bucket:
            continue
        key = f"pipeline:{name}:{bucket}"
        if task.enqueue_periodic is not None:
            _, created = task.enqueue_periodic(key)
        else:
            _, created = enqueue_task(task_type=name, idempotency_key=key)
        last_buckets[name] = bucket
        if created:
            enqueued.append(name)
    return enqueued


def dead_letters_requeue(*, queue: str, ids: list[int] | None = None) -> int:
    return get_queue(queue).requeue_dead_letters(ids)


def dead_letters_discard(*, queue: str, ids: list[int] | None = None) -> int:
    return get_queue(queue).discard_dead_letters(ids)


def history_prune(*, days: int | None = None) -> dict[str, int]:
    """Delete completed queue rows, TaskRun rows and registered histories older than `days`."""
    days = conf.task_run_retention_days() if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    result = {f"{queue.name}_completed": queue.prune(before=cutoff) for queue in all_queues()}
    result["task_runs"] = TaskRun.objects.filter(started_at__lt=cutoff).delete()[0]
    for name, pruner in registry.registered_pruners().items():
        result[name] = pruner(cutoff)
    return result
