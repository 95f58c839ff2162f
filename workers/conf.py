"""Queue and worker tunables, read from settings with their defaults in one place."""

from django.conf import settings

DEDICATED_FLAG = "enable_worker_dedicated_processes"
OUTBOX_FLAG = "enable_domain_event_outbox"


def lease_seconds() -> float:
    return float(getattr(settings, "WORKER_LEASE_SECONDS", 60))


def retry_base_seconds() -> float:
    return float(getattr(settings, "WORKER_RETRY_BASE_SECONDS", 2.0))


def retry_cap_seconds() -> float:
    return float(getattr(settings, "WORKER_RETRY_CAP_SECONDS", 600.0))


def shutdown_grace_seconds() -> float:
    return float(getattr(settings, "WORKER_SHUTDOWN_GRACE_SECONDS", 30))


def task_time_limit_seconds() -> float:
    return float(getattr(settings, "WORKER_TASK_TIME_LIMIT_SECONDS", 600))


def task_run_retention_days() -> int:
    return int(getattr(settings, "TASK_RUN_RETENTION_DAYS", 90))


# The --concurrency this worker process was started with; cycles that parallelise their own
# work (e.g. classification) read it so one flag sizes the whole process.
_process_concurrency = 1


def set_process_concurrency(value: int) -> None:
    global _process_concurrency
    _process_concurrency = max(1, int(value))


def process_concurrency() -> int:
    return _process_concurrency
