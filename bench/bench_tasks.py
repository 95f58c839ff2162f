"""No-op task type and event handler for bench/queue_bench.py (loaded via WORKER_EXTRA_TASK_MODULES)."""

from outbox.services import register_handler
from workers.registry import register_task_type

register_task_type("bench_noop", lambda payload: None)
register_handler("BENCH_EVENT", lambda event: None)
