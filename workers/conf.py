"""Queue and worker tunables, read from settings (their defaults live in config/settings.py)."""

from django.conf import settings

DEDICATED_FLAG = "enable_worker_dedicated_processes"


def lease_seconds() -> float:
    return float(settings.WORKER_LEASE_SECONDS)


def retry_base_seconds() -> float:
    return float(settings.WORKER_RETRY_BASE_SECONDS)


def retry_cap_seconds() -> float:
    return float(settings.WORKER_RETRY_CAP_SECONDS)


def shutdown_grace_seconds() -> float:
    return float(settings.WORKER_SHUTDOWN_GRACE_SECONDS)


def task_time_limit_seconds() -> float:
    return float(settings.WORKER_TASK_TIME_LIMIT_SECONDS)


def task_run_retention_days() -> int:
    return int(settings.TASK_RUN_RETENTION_DAYS)


# The --concurrency this worker process was started with; cycles that parallelise their own
# work (e.g. classification) read it so one flag sizes the whole process.
_process_concurrency = 1


def set_process_concurrency(value: int) -> None:
    global _process_concurrency
    _process_concurrency = max(1, int(value))


def process_concurrency() -> int:
    return _process_concurrency
