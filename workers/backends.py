"""Django's Tasks API on Packyard's queue (SPEC §5): `QueueBackend` is the default `TASKS` backend.

Plain `django.tasks` code (`@task`, `.enqueue()`, `get_result()`) becomes WorkerTask rows that
the same claim path and worker loop run as native task types: leases, fenced completion,
retries with backoff, dead letters, idempotency keys, cohort routing and periodic runs.

- A `@task` function is a task type named after its module path (or `task_type=`) whose worker
  group is its `queue_name`: `run_worker --task-type <queue>` serves a queue, `all` serves every
  queue the dedicated workers do not take. Declaring it registers it with workers.registry,
  the way `@admin.register` does, so a worker that imports the module runs it (run_worker
  imports every installed app's `tasks` module).
- `enqueue()` inserts the row in the caller's transaction: it commits or rolls back with it.
  `task_enqueued` is sent once that transaction commits; `task_started` and `task_finished`
  are sent by the worker around every attempt.
- A result's status comes from the row (pending → READY, processing → RUNNING, completed →
  SUCCESSFUL, failed → FAILED); its attempts, worker ids and errors from the TaskRun history.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from numbers import Real
from traceback import format_exception
from typing import Any, cast

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task_backends
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY, TaskError
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import autodiscover_modules, import_string

from workers import registry
from workers.models import QueueStatus, TaskRun, WorkerTask
from workers.queue import Claimed, split_error_text
from workers.services import TASKS, enqueue_task, enqueue_task_many

TASK_TYPE_MAX_LENGTH: int = WorkerTask._meta.get_field("task_type").max_length  # type: ignore[assignment]
KEY_MAX_LENGTH: int = WorkerTask._meta.get_field("idempotency_key").max_length  # type: ignore[assignment]
MAX_ATTEMPTS_LIMIT = 32767  # WorkerTask.max_attempts is a small integer

STATUS: dict[str, TaskResultStatus] = {
    QueueStatus.PENDING: TaskResultStatus.READY,
    QueueStatus.PROCESSING: TaskResultStatus.RUNNING,
    QueueStatus.COMPLETED: TaskResultStatus.SUCCESSFUL,
    QueueStatus.FAILED: TaskResultStatus.FAILED,
}
# History rows that are attempts (a release is not one; a lost lease repeats the reaper's row).
ATTEMPT_OUTCOMES = (TaskRun.Outcome.SUCCEEDED, TaskRun.Outcome.FAILED, TaskRun.Outcome.DEAD)
ERROR_OUTCOMES = (TaskRun.Outcome.FAILED, TaskRun.Outcome.DEAD)

KeyOption = str | Callable[..., Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueTask(Task):
    """The backend's `task_class`: Django 6.1 passes extra `@task(**kwargs)` options here."""

    # Name in the worker registry and WorkerTask.task_type (default: the module path).
    task_type: str = ""
    # Attempts before the dead-letter table (default: the queue's, 5).
    max_attempts: int | None = None
    # Full-jitter exponential backoff between attempts (default: WORKER_RETRY_*_SECONDS).
    retry_base_seconds: float | None = None
    retry_cap_seconds: float | None = None
    # A string, or a function of the task's (JSON) arguments returning one: while a task with
    # the same key is live, enqueueing again returns its result instead of a second task.
    idempotency_key: KeyOption = None
    # Subject of the cohort bucket that routes the task (default: its idempotency key).
    cohort_key: KeyOption = None
    # Seconds one attempt may run (default: WORKER_TASK_TIME_LIMIT_SECONDS).
    time_limit: float | None = None
    # Periodic: every N seconds, or the name of a setting holding the cadence (0 = off).
    every: float | str | None = None

    def enqueue_many(self, calls: Iterable[tuple[Sequence, Mapping]]) -> list[TaskResult]:
        """Enqueue one task per `(args, kwargs)` pair in one transaction (see QueueBackend)."""
        return cast(QueueBackend, self.get_backend()).enqueue_many(self, calls)


def task_type_name(task: Task) -> str:
    """The WorkerTask.task_type of a Django task: `task_type=`, else its module path (shortened
    with a digest when it does not fit the column)."""
    name = getattr(task, "task_type", "") or task.module_path
    if len(name) <= TASK_TYPE_MAX_LENGTH:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:12]
    return f"{name[: TASK_TYPE_MAX_LENGTH - 13]}~{digest}"


def _option_key(name: str, option: KeyOption, args: list, kwargs: dict) -> str | None:
    if option is None:
        return None
    value = option(*args, **kwargs) if callable(option) else option
    key = f"{name}:{value}"
    if len(key) > KEY_MAX_LENGTH:
        key = f"{name[:100]}:sha1:{hashlib.sha1(key.encode()).hexdigest()}"
    return key


# Declared (decorated) tasks by task-type name: what a worker runs for that type.
_declared: dict[str, Task] = {}


def discover() -> None:
    """What a worker does before it claims: import every installed app's `tasks` module (their
    `@task` functions register) and schedule each QueueBackend's PERIODIC tasks."""
    autodiscover_modules("tasks")
    for backend in task_backends.all():
        if isinstance(backend, QueueBackend):
            backend.schedule_periodic()


class QueueBackend(BaseTaskBackend):
    task_class = QueueTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True  # Django's -100..100 is the queue's priority as is (higher first)

    # --- declaring ---------------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        super().validate_task(task)
        explicit = getattr(task, "task_type", "")
        if explicit and len(explicit) > TASK_TYPE_MAX_LENGTH:
            raise InvalidTask(f"task_type must be at most {TASK_TYPE_MAX_LENGTH} characters.")
        max_attempts = getattr(task, "max_attempts", None)
        if max_attempts is not None and (
            isinstance(max_attempts, bool)
            or not isinstance(max_attempts, int)
            or not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT
        ):
            raise InvalidTask(f"max_attempts must be a whole number between 1 and {MAX_ATTEMPTS_LIMIT}.")
        for option in ("retry_base_seconds", "retry_cap_seconds", "time_limit"):
            value = getattr(task, option, None)
            if value is not None and (isinstance(value, bool) or not isinstance(value, Real) or value < 0):
                raise InvalidTask(f"{option} must be a number of seconds >= 0.")
        if getattr(task, "time_limit", None) == 0:
            raise InvalidTask("time_limit must be more than 0 seconds.")
        for option in ("idempotency_key", "cohort_key"):
            value = getattr(task, option, None)
            if value is not None and not (isinstance(value, str) and value) and not callable(value):
                raise InvalidTask(f"{option} must be a non-empty string or a function of the task's arguments.")
        every = getattr(task, "every", None)
        if every is not None and not (isinstance(every, str) and every) and not _positive_number(every):
            raise InvalidTask("every must be a number of seconds > 0 or the name of a setting.")
        name = task_type_name(task)
        registered = registry.get_task_type(name)
        if registered is not None and registered.run_claimed is None:
            raise InvalidTask(f"task type {name!r} is registered already by register_task_type().")
        if registered is not None and registered.group != task.queue_name:
            # Workers claim by task type and a type belongs to one worker group (its queue).
            raise InvalidTask(
                f"{task.module_path} is declared on queue {registered.group!r}; declare another task for "
                f"queue {task.queue_name!r}."
            )
        self._declare(task, name)

    def _declare(self, task: Task, name: str) -> None:
        declared = _declared.get(name)
        if declared is not None and declared.func is task.func:
            return  # a variant made by using(): the declaration stands
        if declared is not None and declared.module_path != task.module_path:
            raise InvalidTask(f"task type {name!r} is declared already by {declared.module_path}.")
        _declared[name] = task
        every = getattr(task, "every", None)
        self._register(name, task.queue_name, every=every, args=[], kwargs={})

    def _register(self, name: str, queue: str, *, every, args: list, kwargs: dict) -> None:
        registry.register_task_type(
            name,
            partial(_run_payload, name),
            group=queue,
            cadence_setting=every if isinstance(every, str) else None,
            cadence_seconds=float(every) if _positive_number(every) else None,
            run_claimed=partial(_run_claimed, name),
            enqueue_periodic=partial(_enqueue_periodic, name, args, kwargs) if every else None,
        )

    def periodic_specs(self) -> list[tuple[Task, Any, Any, Any]]:
        """OPTIONS["PERIODIC"]: {"module.task": seconds | "SETTING_NAME" | {"every", "args", "kwargs"}}."""
        specs = []
        for path, spec in (self.options.get("PERIODIC") or {}).items():
            try:
                task = import_string(path)
            except ImportError as exc:
                raise ImproperlyConfigured(f"TASKS[{self.alias!r}] PERIODIC: cannot import {path!r}: {exc}") from exc
            if not isinstance(task, Task):
                raise ImproperlyConfigured(f"TASKS[{self.alias!r}] PERIODIC: {path!r} is not a @task.")
            spec = spec if isinstance(spec, Mapping) else {"every": spec}
            every, args, kwargs = spec.get("every"), spec.get("args", []), spec.get("kwargs", {})
            if not ((isinstance(every, str) and every) or _positive_number(every)):
                raise ImproperlyConfigured(
                    f"TASKS[{self.alias!r}] PERIODIC[{path!r}]: every must be seconds > 0 or a setting name."
                )
            if not isinstance(args, list | tuple) or not isinstance(kwargs, Mapping):
                raise ImproperlyConfigured(f"TASKS[{self.alias!r}] PERIODIC[{path!r}]: args is a list, kwargs a dict.")
            specs.append((task, every, normalize_json(list(args)), normalize_json(dict(kwargs))))
        return specs

    def schedule_periodic(self) -> None:
        """Give the PERIODIC tasks their cadence: every worker's per-pass scheduling then
        enqueues one run per cadence bucket (workers.services.cycle_enqueue_due)."""
        for task, every, args, kwargs in self.periodic_specs():
            self._register(task_type_name(task), task.queue_name, every=every, args=args, kwargs=kwargs)

    def check(self, **kwargs):
        yield from super().check(**kwargs)
        try:
            self.periodic_specs()
        except ImproperlyConfigured as exc:
            yield checks.Error(str(exc), id="workers.E001")

    # --- enqueueing --------------------------------------------------------------------------

    def _prepare(self, task: Task, args, kwargs, *, key: str | None = None) -> tuple[TaskResult, dict]:
        """The READY result (its id is set once the row exists) and the row's fields."""
        result: TaskResult = TaskResult(
            task=task,
            id="",
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,  # TaskResult normalises them to JSON (a non-JSON argument raises here)
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        args, kwargs = result.args, result.kwargs
        name = task_type_name(task)
        key = key or _option_key(name, getattr(task, "idempotency_key", None), args, kwargs)
        fields = {
            "task_type": name,
            "idempotency_key": key or f"task:{uuid.uuid4().hex}",
            "payload": {"task_path": task.module_path, "backend": self.alias, "args": args, "kwargs": kwargs},
            "priority": task.priority,
            "available_at": task.run_after,
            "cohort_key": _option_key(name, getattr(task, "cohort_key", None), args, kwargs),
        }
        if max_attempts := getattr(task, "max_attempts", None):
            fields["max_attempts"] = max_attempts
        return result, fields

    def _enqueued(self, results: list[TaskResult]) -> None:
        # "Enqueued" once workers can see them: when the caller's transaction commits.
        def send():
            for result in results:
                task_enqueued.send(type(self), task_result=result)

        if results:
            transaction.on_commit(send)

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        return self._enqueue(task, args, kwargs)[0]

    def _enqueue(self, task: Task, args, kwargs, *, key: str | None = None) -> tuple[TaskResult, bool]:
        result, fields = self._prepare(task, args, kwargs, key=key)
        row, created = enqueue_task(**fields)
        if not created:  # a live task holds this idempotency key: its result, not a second task
            return self.get_result(str(row.pk)), False
        object.__setattr__(result, "id", str(row.pk))
        object.__setattr__(result, "enqueued_at", row.created_at)
        self._enqueued([result])
        return result, True

    def enqueue_many(self, task: Task, calls: Iterable[tuple[Sequence, Mapping]]) -> list[TaskResult]:
        """Bulk enqueue (django.tasks has none): one transaction, multi-row INSERTs; a call whose
        idempotency key is live (or repeated) returns that task's result and creates nothing."""
        self.validate_task(task)
        now = timezone.now()
        prepared = [self._prepare(task, args, kwargs) for args, kwargs in calls]
        if not prepared:
            return []
        first = prepared[0][1]
        outcome = enqueue_task_many(
            task_type=first["task_type"],
            items=[fields for _, fields in prepared],
            priority=task.priority,
            available_at=task.run_after or now,
            enqueued_at=now,
            **({"max_attempts": first["max_attempts"]} if "max_attempts" in first else {}),
        )
        results, created_results = [], []
        for (result, _), (task_id, created) in zip(prepared, outcome, strict=True):
            if created:
                object.__setattr__(result, "id", str(task_id))
                object.__setattr__(result, "enqueued_at", now)
                created_results.append(result)
            else:
                result = self.get_result(str(task_id))
            results.append(result)
        self._enqueued(created_results)
        return results

    # --- results -----------------------------------------------------------------------------

    def get_result(self, result_id: str) -> TaskResult:
        try:
            pk = int(result_id)
        except (TypeError, ValueError):
            raise TaskResultDoesNotExist(result_id) from None
        row = WorkerTask.objects.filter(pk=pk).first()
        if row is None or not isinstance(row.payload, dict) or "task_path" not in row.payload:
            raise TaskResultDoesNotExist(result_id)
        return self._result(row, _attempt_history(pk))

    def _result(self, row: WorkerTask, runs: list[tuple]) -> TaskResult:
        task = import_string(row.payload["task_path"])
        if not isinstance(task, Task):
            raise TaskResultDoesNotExist(f"{row.pk}: {row.payload['task_path']} is not a task")
        changes: dict[str, Any] = {}
        priority = max(TASK_MIN_PRIORITY, min(TASK_MAX_PRIORITY, row.priority))
        if priority != task.priority:
            changes["priority"] = priority
        if row.status == QueueStatus.PENDING and row.attempts == 0 and row.available_at > row.created_at:
            changes["run_after"] = row.available_at
        if changes:
            task = task.using(**changes)
        worker_ids = [worker_id for worker_id, _, _, _ in runs]
        starts = [started for _, started, _, _ in runs]
        if row.status == QueueStatus.PROCESSING:
            worker_ids.append(row.worker_token.split(":", 1)[0])
            starts.append(row.updated_at)  # the claim's time
        status = STATUS[row.status]
        result: TaskResult = TaskResult(
            task=task,
            id=str(row.pk),
            status=status,
            enqueued_at=row.created_at,
            started_at=starts[0] if starts else None,
            last_attempted_at=starts[-1] if starts else None,
            finished_at=row.processed_at if status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED) else None,
            args=row.payload.get("args", []),
            kwargs=row.payload.get("kwargs", {}),
            backend=row.payload.get("backend", self.alias),
            errors=[_task_error(error) for _, _, outcome, error in runs if outcome in ERROR_OUTCOMES],
            worker_ids=worker_ids,
        )
        if status == TaskResultStatus.SUCCESSFUL:
            object.__setattr__(result, "_return_value", row.result)
        return result

    # --- running (in the worker) -------------------------------------------------------------

    def run(self, task: Task, claimed: Claimed, worker_id: str) -> object:
        """Run one claimed attempt: signals around it, the context, the JSON return value.

        An exception propagates to the worker loop, which records the attempt and retries or
        dead-letters it as for any task type."""
        claimed.retry_base_seconds = getattr(task, "retry_base_seconds", None)
        claimed.retry_cap_seconds = getattr(task, "retry_cap_seconds", None)
        claimed.time_limit = getattr(task, "time_limit", None)
        result = self._running(task, claimed, worker_id)
        task_started.send(type(self), task_result=result)
        args, kwargs = result.args, result.kwargs
        try:
            if task.takes_context:
                value = task.call(TaskContext(task_result=result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
            value = normalize_json(value)
        except Exception as exc:
            object.__setattr__(result, "finished_at", timezone.now())
            exc_type = type(exc)
            result.errors.append(
                TaskError(
                    exception_class_path=f"{exc_type.__module__}.{exc_type.__qualname__}",
                    traceback="".join(format_exception(exc)),
                )
            )
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
            task_finished.send(type(self), task_result=result)  # inside the handler: exc_info is set
            raise
        object.__setattr__(result, "finished_at", timezone.now())
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", value)
        claimed.result = value
        task_finished.send(type(self), task_result=result)
        return value

    def _running(self, task: Task, claimed: Claimed, worker_id: str) -> TaskResult:
        row = claimed.row
        payload = claimed.payload
        priority = max(TASK_MIN_PRIORITY, min(TASK_MAX_PRIORITY, row.priority if row is not None else task.priority))
        if priority != task.priority:
            task = task.using(priority=priority)
        # A first attempt has no history to read: the common case costs no query.
        runs = _attempt_history(claimed.id) if claimed.attempts > 1 else []
        started = [started for _, started, _, _ in runs]
        return TaskResult(
            task=task,
            id=str(claimed.id),
            status=TaskResultStatus.RUNNING,
            enqueued_at=row.created_at if row is not None else None,
            started_at=started[0] if started else claimed.started_at,
            last_attempted_at=claimed.started_at,
            finished_at=None,
            args=payload.get("args", []),
            kwargs=payload.get("kwargs", {}),
            backend=payload.get("backend", self.alias),
            errors=[_task_error(error) for _, _, outcome, error in runs if outcome in ERROR_OUTCOMES],
            worker_ids=[w for w, _, _, _ in runs] + [worker_id],
        )


def _positive_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and float(value) > 0


def _attempt_history(item_id: int) -> list[tuple]:
    return list(
        TaskRun.objects.filter(queue=TASKS.name, item_id=item_id, outcome__in=ATTEMPT_OUTCOMES)
        .order_by("started_at", "id")
        .values_list("worker_id", "started_at", "outcome", "error")
    )


def _task_error(text: str) -> TaskError:
    path, traceback = split_error_text(text)
    return TaskError(exception_class_path=path, traceback=traceback)


def _declared_or_fail(name: str) -> Task:
    task = _declared.get(name)
    if task is None:
        raise LookupError(f"no @task declared for task type {name!r}")
    return task


def _run_claimed(name: str, claimed: Claimed, worker_id: str) -> object:
    task = _declared_or_fail(name)
    return cast(QueueBackend, task.get_backend()).run(task, claimed, worker_id)


def _run_payload(name: str, payload: dict) -> object:
    task = _declared_or_fail(name)
    return task.call(*payload.get("args", []), **payload.get("kwargs", {}))


def _enqueue_periodic(name: str, args: list, kwargs: dict, key: str) -> tuple[TaskResult, bool]:
    task = _declared_or_fail(name)
    return cast(QueueBackend, task.get_backend())._enqueue(task, args, kwargs, key=key)
