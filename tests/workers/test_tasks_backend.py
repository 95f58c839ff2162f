"""Django's Tasks API end to end on the queue: `@task`, `.enqueue()`, a real `run_worker` process,
`get_result()` / `refresh()`, signals (SPEC §5, workers.backends)."""

import signal
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.tasks import TaskResultStatus, default_task_backend
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone

from tests.workers import procs
from tests.workers.tasks_api_for_tests import (
    add,
    always_fails,
    async_double,
    echo,
    fails_once,
    sleep_then_return,
    welcome,
)
from workers.models import Lease, WorkerTask, WorkerTaskDeadLetter

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = ("run_worker", "--task-type", "all", "--poll-interval", "0.2")


def finished(*results) -> bool:
    for result in results:
        result.refresh()
    return all(result.is_finished for result in results)


def run_until_finished(tmp_path, *results, name="w", timeout=120, args=WORKER):
    worker = procs.start(*args, log_dir=tmp_path, name=name)
    try:
        procs.wait_for(lambda: finished(*results), timeout=timeout, message="the tasks to finish")
    finally:
        assert procs.stop([worker]) == [0], procs.logs(tmp_path)


@pytest.fixture
def enqueued_signals():
    received = []

    def handler(sender, task_result, **kwargs):
        received.append(task_result)

    task_enqueued.connect(handler)
    yield received
    task_enqueued.disconnect(handler)


def signals_recorded(result_id: str) -> dict[str, str]:
    prefix = "signal:"
    return {
        name.removeprefix(prefix).replace(f":{result_id}:", ":"): holder
        for name, holder in Lease.objects.filter(name__startswith=prefix, name__contains=f":{result_id}:").values_list(
            "name", "holder"
        )
    }


def test_enqueued_tasks_run_in_a_worker_and_return_their_values(tmp_path, enqueued_signals):
    plain = add.enqueue(2, 3)
    coroutine = async_double.enqueue(21)
    retried = fails_once.enqueue(n=7)
    many = echo.enqueue_many([(("a",), {}), ((), {"label": "b"})])
    assert [r.status for r in (plain, coroutine, retried, *many)] == [TaskResultStatus.READY] * 5
    assert {r.id for r in enqueued_signals} == {r.id for r in (plain, coroutine, retried, *many)}

    run_until_finished(tmp_path, plain, coroutine, retried, *many)

    result = add.get_result(plain.id)
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 5
    assert (result.args, result.kwargs, result.attempts, result.worker_ids) == ([2, 3], {}, 1, ["w"])
    assert result.enqueued_at <= result.started_at <= result.last_attempted_at <= result.finished_at
    assert result.errors == []
    assert coroutine.return_value == 42  # refreshed in place by finished()
    assert [r.return_value for r in many] == [{"label": "a"}, {"label": "b"}]
    # takes_context: the attempt counts from 1; the retry ran as attempt 2.
    assert retried.status == TaskResultStatus.SUCCESSFUL
    assert retried.return_value == {"n": 7, "attempt": 2, "worker_ids": ["w", "w"]}
    assert retried.attempts == 2 and len(retried.errors) == 1
    assert retried.errors[0].exception_class is RuntimeError
    assert "first attempt of 7 fails" in retried.errors[0].traceback
    # The worker sent task_started and task_finished around every attempt.
    assert signals_recorded(plain.id) == {"started:1": "RUNNING", "finished:1": "SUCCESSFUL"}
    assert signals_recorded(retried.id) == {
        "started:1": "RUNNING",
        "finished:1": "FAILED",
        "started:2": "RUNNING",
        "finished:2": "SUCCESSFUL",
    }


def test_a_failing_task_is_retried_then_failed_with_its_errors_and_a_dead_letter(tmp_path):
    result = always_fails.enqueue(13)
    run_until_finished(tmp_path, result)
    assert result.status == TaskResultStatus.FAILED and result.attempts == 3
    assert [e.exception_class for e in result.errors] == [ValueError] * 3
    assert all("bad input 13" in e.traceback and "Traceback" in e.traceback for e in result.errors)
    with pytest.raises(ValueError, match="failed"):
        result.return_value  # noqa: B018 - the property raises
    letter = WorkerTaskDeadLetter.objects.get(original_id=int(result.id))
    assert letter.attempts == 3 and len(letter.errors) == 3
    assert signals_recorded(result.id)["finished:3"] == "FAILED"


def test_run_after_and_priority_order_are_respected(tmp_path):
    later = timezone.now() + timedelta(seconds=4)
    deferred = echo.using(run_after=later).enqueue("later")
    assert echo.get_result(deferred.id).task.run_after == later
    ordered = [echo.using(priority=p).enqueue(f"p{p}") for p in (-50, 0, 50, 10)]
    run_until_finished(
        tmp_path, deferred, *ordered, args=(*WORKER, "--batch-size", "1", "--concurrency", "1"), timeout=180
    )
    assert deferred.started_at >= later
    by_start = sorted(ordered, key=lambda r: r.started_at)
    assert [r.task.priority for r in by_start] == [50, 10, 0, -50]


def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(enqueued_signals):
    with pytest.raises(RuntimeError), transaction.atomic():
        result = add.enqueue(1, 1)
        assert add.get_result(result.id).status == TaskResultStatus.READY  # visible inside it
        raise RuntimeError("roll back")
    with pytest.raises(TaskResultDoesNotExist):
        add.get_result(result.id)
    assert not WorkerTask.objects.exists()
    assert enqueued_signals == []
    with transaction.atomic():
        kept = add.enqueue(1, 2)
        assert enqueued_signals == []  # sent once the row is committed
    assert [r.id for r in enqueued_signals] == [kept.id]


def test_sigkilled_worker_mid_task_the_task_completes_after_the_lease(tmp_path):
    result = sleep_then_return.enqueue(5, seconds=4)
    victim = procs.start(*WORKER, log_dir=tmp_path, name="victim")
    procs.wait_for(
        lambda: sleep_then_return.get_result(result.id).status == TaskResultStatus.RUNNING,
        timeout=60,
        interval=0.05,
        message="the task to start",
    )
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    result.refresh()
    assert result.status == TaskResultStatus.RUNNING  # django-tasks-db's db_worker would leave it so forever
    run_until_finished(tmp_path, result, name="rescuer")
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 5
    assert result.worker_ids == ["victim", "rescuer"] and result.attempts == 2
    assert result.errors[0].exception_class_path == "workers.queue.LeaseExpired"
    assert "lease expired (worker victim lost)" in result.errors[0].traceback


def test_periodic_tasks_from_settings_run_once_per_bucket_whatever_the_number_of_workers(tmp_path):
    periodic = '{"tests.workers.tasks_api_for_tests.add": {"every": 3600, "args": [20, 22]}}'
    env = procs.worker_env(TASKS_PERIODIC=periodic)
    workers = [procs.start(*WORKER, log_dir=tmp_path, name=f"w{i}", env=env) for i in range(2)]
    try:
        procs.wait_for(
            lambda: all("starting on queue" in (tmp_path / f"w{i}.log").read_text() for i in range(2)),
            timeout=120,
            message="both workers to start",
        )
        procs.wait_for(
            lambda: WorkerTask.objects.filter(task_type=add.module_path, status="completed").exists(),
            timeout=120,
            message="the periodic run",
        )
    finally:
        assert procs.stop(workers) == [0, 0], procs.logs(tmp_path)
    row = WorkerTask.objects.get(task_type=add.module_path)
    assert row.idempotency_key.startswith(f"pipeline:{add.module_path}:")
    result = add.get_result(str(row.pk))
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42


def test_idempotency_key_returns_the_live_task_instead_of_a_second_one():
    first = welcome.enqueue(5)
    again = welcome.enqueue(user_id=5)  # the key is a function of the arguments, however passed
    other = welcome.enqueue(6)
    assert again.id == first.id and other.id != first.id
    bulk = welcome.enqueue_many([((5,), {}), ((7,), {}), ((7,), {})])
    assert bulk[0].id == first.id and bulk[1].id == bulk[2].id != first.id
    assert WorkerTask.objects.count() == 3


def test_async_enqueue_and_get_result():
    result = async_to_sync(add.aenqueue)(4, 5)
    fetched = async_to_sync(add.aget_result)(result.id)
    assert fetched.id == result.id and fetched.status == TaskResultStatus.READY and fetched.args == [4, 5]
    async_to_sync(fetched.arefresh)()


def test_get_result_of_an_unknown_id_raises():
    for missing in ("999999", "not-a-number", ""):
        with pytest.raises(TaskResultDoesNotExist):
            default_task_backend.get_result(missing)
    native = WorkerTask.objects.create(task_type="test_probe", idempotency_key="native", payload={"n": 1})
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(str(native.pk))


def test_invalid_task_options_are_refused(settings):
    from django.tasks import task

    def module_level():  # stands in for a module-level function
        return None

    module_level.__qualname__ = "module_level"
    for options in ({"max_attempts": 0}, {"every": -1}, {"time_limit": 0}, {"idempotency_key": 3}):
        with pytest.raises(InvalidTask):
            task(**options)(module_level)
    with pytest.raises(InvalidTask, match="priority"):
        add.using(priority=101)
    settings.TASKS = {**settings.TASKS, "default": {**settings.TASKS["default"], "QUEUES": ["default", "other"]}}
    with pytest.raises(InvalidTask, match="declared on queue 'default'"):
        add.using(queue_name="other")


def test_time_limit_option_fails_an_overrunning_attempt():
    from tests.workers.tasks_api_for_tests import overruns
    from workers.runtime import WorkerOptions, WorkerRuntime
    from workers.services import TASKS, task_runner

    result = overruns.enqueue(3)
    runtime = WorkerRuntime(
        queue=TASKS,
        options=WorkerOptions(worker_id="in-process", once=True, poll_interval=0.05, lease_seconds=1.5),
        resolve=lambda item: task_runner(item, worker_id="in-process"),
    )
    runtime.run()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 1
    assert result.errors[0].exception_class_path == "workers.queue.TimeLimitExceeded"
    # The abandoned attempt finishes its sleep and is fenced off: wait for it inside this test.
    for thread in threading.enumerate():
        if thread.name.startswith("executor-") and thread is not threading.current_thread():
            thread.join(timeout=10)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED


def test_the_catalogs_periodic_sweep_is_a_task_with_a_result(settings):
    from catalog.tasks import snapshot_sweep
    from workers.services import cycle_enqueue_due

    settings.SNAPSHOT_SWEEP_CADENCE_SECONDS = 600
    for last_buckets in ({}, {}):  # two workers, one bucket: one run
        cycle_enqueue_due(task_types=["snapshot_sweep"], last_buckets=last_buckets, now=600 * 5000 + 1)
    row = WorkerTask.objects.get(task_type="snapshot_sweep")
    assert row.idempotency_key == "pipeline:snapshot_sweep:5000"
    assert snapshot_sweep.get_result(str(row.pk)).status == TaskResultStatus.READY


def test_the_admin_shows_a_task_api_dead_letter_like_any_other(client, staff_user, tmp_path):
    from workers.runtime import WorkerOptions, WorkerRuntime
    from workers.services import TASKS, task_runner

    result = always_fails.enqueue(99)
    WorkerRuntime(
        queue=TASKS,
        options=WorkerOptions(worker_id="in-process", once=True, poll_interval=0.05),
        resolve=lambda item: task_runner(item, worker_id="in-process"),
    ).run()
    letter = WorkerTaskDeadLetter.objects.get(original_id=int(result.id))
    client.force_login(staff_user)
    page = client.get(f"/admin/workers/workertaskdeadletter/{letter.pk}/change/").content.decode()
    assert "bad input 99" in page and "Traceback" in page and "tests.workers.tasks_api_for_tests.always_fails" in page
    listing = client.get("/admin/workers/workertask/?status=failed").content.decode()
    assert "tests.workers.tasks_api_for_tests.always_fails" in listing
