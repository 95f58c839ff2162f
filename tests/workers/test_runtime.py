"""The loop runtime driven in-process (one pass at a time); subprocess tests are elsewhere."""

import threading
import time

import pytest

from workers.models import Lease, TaskRun, WorkerTask
from workers.registry import get_task_type
from workers.runtime import WorkerOptions, WorkerRuntime
from workers.services import TASKS, enqueue_task


def resolve(item):
    registered = get_task_type(item.type)
    return (lambda claimed: registered.func(claimed.payload)) if registered else None


def runtime(**options):
    return WorkerRuntime(queue=TASKS, options=WorkerOptions(worker_id="test-worker", **options), resolve=resolve)


@pytest.mark.django_db(transaction=True)
def test_once_drains_what_is_claimable_with_threads(fast_retries):
    for n in range(40):
        enqueue_task(task_type="test_probe", idempotency_key=f"t{n}", payload={"n": n})
    rt = runtime(once=True, concurrency=3, batch_size=4, poll_interval=0.05)
    assert rt.run() == 0
    assert WorkerTask.objects.filter(status="completed").count() == 40
    assert Lease.objects.filter(name__startswith="probe:").count() == 40
    assert TaskRun.objects.filter(outcome="succeeded").count() == 40


@pytest.mark.django_db(transaction=True)
def test_max_tasks_stops_after_that_many():
    for n in range(10):
        enqueue_task(task_type="test_probe", idempotency_key=f"t{n}", payload={"n": n})
    rt = runtime(max_tasks=4, batch_size=3, poll_interval=0.05)
    rt.run()
    assert WorkerTask.objects.filter(status="completed").count() == 4
    assert WorkerTask.objects.filter(status="pending").count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_failing_item_does_not_stop_the_loop(fast_retries):
    enqueue_task(task_type="test_poison", idempotency_key="bad", payload={"n": 0}, max_attempts=2)
    enqueue_task(task_type="test_probe", idempotency_key="good", payload={"n": 1})
    runtime(once=True, poll_interval=0.05).run()
    assert WorkerTask.objects.get(idempotency_key="good").status == "completed"
    bad = WorkerTask.objects.get(idempotency_key="bad")
    assert bad.status == "failed" and bad.attempts == 2
    assert "poison pill" in bad.last_error


@pytest.mark.django_db(transaction=True)
def test_time_limit_fails_the_item_and_fences_its_late_result(fast_retries):
    from workers.registry import register_task_type, unregister_task_type

    register_task_type("test_slow", lambda payload: time.sleep(payload["sleep"]))
    try:
        enqueue_task(task_type="test_slow", idempotency_key="slow", payload={"sleep": 3}, max_attempts=1)
        rt = runtime(max_tasks=1, poll_interval=0.05, time_limit=0.5, lease_seconds=1.5)
        started = time.monotonic()
        rt.run()
        assert time.monotonic() - started < 2.9  # did not wait for the stuck item
        task = WorkerTask.objects.get()
        assert task.status == "failed" and "TimeLimitExceeded" in task.last_error
        # The abandoned thread finishes its sleep and tries to complete: fenced off. Wait for
        # it here, inside this test, so it does not touch the database during a later one.
        for thread in threading.enumerate():
            if thread.name.startswith("executor-") and thread is not threading.current_thread():
                thread.join(timeout=10)
        task.refresh_from_db()
        assert task.status == "failed"
    finally:
        unregister_task_type("test_slow")


@pytest.mark.django_db(transaction=True)
def test_unregistered_types_are_not_claimed_by_a_scoped_worker():
    enqueue_task(task_type="nobody_runs_this", idempotency_key="x")
    rt = WorkerRuntime(
        queue=TASKS,
        options=WorkerOptions(worker_id="scoped", once=True, poll_interval=0.05),
        resolve=resolve,
        scope=lambda: (["test_probe"], None),
    )
    rt.run()
    task = WorkerTask.objects.get()
    assert task.status == "pending" and task.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_hook_starts_items_together_and_a_runner_may_give_its_item_back():
    from workers.runtime import ReleaseItem

    for n in range(4):
        enqueue_task(task_type="test_probe", idempotency_key=f"t{n}", payload={"n": n})
    batches = []

    def run(item):
        if item.payload["n"] % 2:
            raise ReleaseItem("not tried: its turn had not come")

    rt = WorkerRuntime(
        queue=TASKS,
        options=WorkerOptions(worker_id="test-worker", max_tasks=4, batch_size=4, poll_interval=0.05),
        resolve=lambda item: run,
        before_batch=lambda batch: batches.append(sorted(i.payload["n"] for i in batch)),
    )
    rt.run()
    assert batches[0] == [0, 1, 2, 3]
    by_n = {t.payload["n"]: t for t in WorkerTask.objects.all()}
    assert [by_n[n].status for n in range(4)] == ["completed", "pending", "completed", "pending"]
    assert by_n[1].attempts == 0  # given back: the attempt does not count
    released = TaskRun.objects.get(item_id=by_n[1].id)
    assert released.outcome == "released" and "its turn had not come" in released.error
