"""No-op task type, `@task` and event handler for bench/queue_bench.py (loaded via WORKER_EXTRA_TASK_MODULES)."""

from django.tasks import task

from outbox.services import register_handler
from workers.registry import register_task_type

register_task_type("bench_noop", lambda payload: None)
register_handler("BENCH_EVENT", lambda event: None)


@task
def noop(n):
    """The same no-op django-tasks-db's side of the bench drains (Django's Tasks API)."""
    return None
