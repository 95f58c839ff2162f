"""Enqueueing work. Public API: enqueue_task(...)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from flags.services import subject_bucket
from workers.models import WorkerTask


def enqueue_task(
    *,
    task_type: str,
    idempotency_key: str,
    payload: dict | None = None,
    priority: int = 0,
    available_at: datetime | None = None,
    cohort_key: str | None = None,
    max_attempts: int = 5,
) -> tuple[WorkerTask, bool]:
    """Create a task, or return the live one holding this idempotency key (created=False).

    The cohort bucket is fixed now, from the cohort key (default: the idempotency key).
    """
    existing = WorkerTask.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            task = WorkerTask.objects.create(
                task_type=task_type,
                idempotency_key=idempotency_key,
                payload=payload or {},
                priority=priority,
                available_at=available_at or timezone.now(),
                cohort_bucket=subject_bucket(cohort_key or idempotency_key),
                max_attempts=max_attempts,
            )
    except IntegrityError:
        return WorkerTask.objects.get(idempotency_key=idempotency_key), False
    return task, True
