"""Cohort routing (SPEC §4): at any percent each task is eligible for exactly one kind of worker."""

import pytest

from flags.services import flag_set
from workers.models import WorkerTask
from workers.services import TASKS, cycle_enqueue_due, dedicated_rollout_percent, enqueue_task, routing_filter

pytestmark = pytest.mark.django_db


def _set_percent(percent: int, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        flag_set(name="enable_worker_dedicated_processes", is_enabled=True, rollout_percent=percent)


@pytest.mark.parametrize("percent", [0, 30, 100])
def test_each_task_is_taken_by_exactly_one_kind_of_worker(percent, django_capture_on_commit_callbacks):
    _set_percent(percent, django_capture_on_commit_callbacks)
    assert dedicated_rollout_percent() == percent
    for n in range(300):
        enqueue_task(task_type="test_dedicated_probe", idempotency_key=f"d{n}", payload={"n": n})
    for n in range(50):
        enqueue_task(task_type="test_probe", idempotency_key=f"p{n}", payload={"n": n})

    # Real claims: the dedicated worker first, then the combined worker takes the rest.
    types, extra = routing_filter("test_dedicated")
    dedicated = TASKS.claim(worker_id="dedicated", limit=1000, types=types, extra=extra)
    types, extra = routing_filter("all")
    combined = TASKS.claim(worker_id="combined", limit=1000, types=types, extra=extra)

    dedicated_ids = {i.id for i in dedicated}
    combined_ids = {i.id for i in combined}
    assert dedicated_ids.isdisjoint(combined_ids)
    assert dedicated_ids | combined_ids == set(WorkerTask.objects.values_list("id", flat=True))
    buckets = dict(WorkerTask.objects.values_list("id", "cohort_bucket"))
    assert all(buckets[i] < percent for i in dedicated_ids)
    assert {i.type for i in dedicated} <= {"test_dedicated_probe"}
    # Types no dedicated worker serves always go to the combined worker.
    assert {i.id for i in combined if i.type == "test_probe"} == set(
        WorkerTask.objects.filter(task_type="test_probe").values_list("id", flat=True)
    )
    expected_dedicated = WorkerTask.objects.filter(task_type="test_dedicated_probe", cohort_bucket__lt=percent).count()
    assert len(dedicated_ids) == expected_dedicated
    if percent == 0:
        assert dedicated_ids == set()
    if percent == 100:
        assert {i.type for i in combined} == {"test_probe"}


def test_disabled_flag_routes_everything_to_the_combined_worker(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        flag_set(name="enable_worker_dedicated_processes", is_enabled=False, rollout_percent=100)
    assert dedicated_rollout_percent() == 0
    enqueue_task(task_type="test_dedicated_probe", idempotency_key="x", payload={"n": 1})
    types, extra = routing_filter("test_dedicated")
    assert TASKS.claim(worker_id="dedicated", types=types, extra=extra) == []
    types, extra = routing_filter("all")
    assert len(TASKS.claim(worker_id="combined", types=types, extra=extra)) == 1


def test_cohort_bucket_is_fixed_at_enqueue(django_capture_on_commit_callbacks):
    task, _ = enqueue_task(task_type="test_dedicated_probe", idempotency_key="fixed", cohort_key="pack:42")
    from flags.services import subject_bucket

    assert task.cohort_bucket == subject_bucket("pack:42")
    _set_percent(50, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.cohort_bucket == subject_bucket("pack:42")


def test_cycles_are_enqueued_once_per_bucket_by_any_number_of_workers(settings):
    from workers.registry import register_task_type, unregister_task_type

    settings.TEST_CYCLE_CADENCE_SECONDS = 120
    register_task_type("test_cycle", lambda payload: None, cadence_setting="TEST_CYCLE_CADENCE_SECONDS")
    try:
        workers = [{} for _ in range(5)]
        now = 1_000_000 * 120 + 5
        for last_buckets in workers:
            cycle_enqueue_due(task_types=["test_cycle", "test_probe"], last_buckets=last_buckets, now=now)
        assert list(WorkerTask.objects.values_list("idempotency_key", flat=True)) == ["pipeline:test_cycle:1000000"]
        for last_buckets in workers:  # same bucket later: nothing new
            cycle_enqueue_due(task_types=["test_cycle"], last_buckets=last_buckets, now=now + 100)
        for last_buckets in workers:  # next bucket: one more
            cycle_enqueue_due(task_types=["test_cycle"], last_buckets=last_buckets, now=now + 120)
        assert WorkerTask.objects.filter(task_type="test_cycle").count() == 2
    finally:
        unregister_task_type("test_cycle")
