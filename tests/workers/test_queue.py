"""Each transition of the one queue mechanism (workers.queue), on the task queue."""

from datetime import timedelta
from functools import partial

import pytest
from django.db import connection
from django.utils import timezone

from tests.concurrency import run_together
from workers.models import QueueStatus, TaskRun, WorkerTask, WorkerTaskDeadLetter
from workers.queue import backoff_seconds
from workers.services import TASKS, enqueue_task

pytestmark = pytest.mark.django_db


def test_enqueue_is_idempotent_per_key():
    task, created = enqueue_task(task_type="test_probe", idempotency_key="k:1", payload={"n": 1})
    again, created_again = enqueue_task(task_type="test_probe", idempotency_key="k:1", payload={"n": 2})
    assert created and not created_again
    assert again.pk == task.pk and again.payload == {"n": 1}
    assert WorkerTask.objects.count() == 1
    assert 0 <= task.cohort_bucket < 100


def test_claim_sets_processing_token_attempt_and_lease():
    task, _ = enqueue_task(task_type="test_probe", idempotency_key="k:1", payload={"n": 1})
    [item] = TASKS.claim(worker_id="w1", limit=5, lease_seconds=30)
    task.refresh_from_db()
    assert item.id == task.pk and item.payload == {"n": 1} and item.attempts == 1
    assert task.status == QueueStatus.PROCESSING
    assert task.worker_token == item.token and task.worker_token.startswith("w1:")
    assert task.lease_expires_at > timezone.now() + timedelta(seconds=25)
    assert TASKS.claim(worker_id="w2", limit=5) == []


def test_claim_order_types_and_availability():
    enqueue_task(task_type="test_probe", idempotency_key="low", priority=0)
    enqueue_task(task_type="test_probe", idempotency_key="high", priority=5)
    enqueue_task(task_type="test_probe", idempotency_key="later", available_at=timezone.now() + timedelta(hours=1))
    enqueue_task(task_type="other", idempotency_key="other")
    claimed = TASKS.claim(worker_id="w", limit=10, types=["test_probe"])
    keys = list(WorkerTask.objects.filter(id__in=[c.id for c in claimed]).values_list("idempotency_key", flat=True))
    assert [c.id for c in claimed] == [WorkerTask.objects.get(idempotency_key=k).id for k in ["high", "low"]]
    assert sorted(keys) == ["high", "low"]
    assert TASKS.claim(worker_id="w", limit=10, types=[]) == []


def test_complete_records_a_successful_run():
    enqueue_task(task_type="test_probe", idempotency_key="k")
    [item] = TASKS.claim(worker_id="w1")
    assert TASKS.complete(item, worker_id="w1") is True
    task = WorkerTask.objects.get()
    assert task.status == QueueStatus.COMPLETED and task.processed_at is not None
    run = TaskRun.objects.get()
    assert (run.queue, run.item_id, run.attempt, run.outcome) == ("tasks", task.pk, 1, "succeeded")
    assert run.finished_at >= run.started_at


def test_failure_schedules_a_retry_with_backoff(settings):
    settings.WORKER_RETRY_BASE_SECONDS = 10
    settings.WORKER_RETRY_CAP_SECONDS = 100
    enqueue_task(task_type="test_probe", idempotency_key="k")
    [item] = TASKS.claim(worker_id="w1")
    before = timezone.now()
    assert TASKS.fail(item, worker_id="w1", error="boom") == "retry"
    task = WorkerTask.objects.get()
    assert task.status == QueueStatus.PENDING and task.last_error == "boom" and task.attempts == 1
    assert before <= task.available_at <= before + timedelta(seconds=10.5)
    assert task.worker_token == "" and task.lease_expires_at is None
    assert TaskRun.objects.get().outcome == "failed"


def test_exhausted_attempts_go_to_the_dead_letter_table(fast_retries):
    enqueue_task(task_type="test_poison", idempotency_key="poison", payload={"n": 7}, max_attempts=3)
    outcomes = []
    for attempt in range(1, 4):
        [item] = TASKS.claim(worker_id="w1")
        assert item.attempts == attempt
        outcomes.append(TASKS.fail(item, worker_id="w1", error=f"RuntimeError: try {attempt}"))
    assert outcomes == ["retry", "retry", "dead"]
    task = WorkerTask.objects.get()
    assert task.status == QueueStatus.FAILED
    letter = WorkerTaskDeadLetter.objects.get()
    assert (letter.original_id, letter.task_type, letter.attempts, letter.payload) == (
        task.pk,
        "test_poison",
        3,
        {"n": 7},
    )
    assert [e["error"] for e in letter.errors] == ["RuntimeError: try 3", "RuntimeError: try 2", "RuntimeError: try 1"]
    assert letter.last_error == "RuntimeError: try 3"
    assert TASKS.claim(worker_id="w1") == []


def test_release_gives_the_item_back_without_counting_the_attempt():
    enqueue_task(task_type="test_probe", idempotency_key="k")
    [item] = TASKS.claim(worker_id="w1")
    assert TASKS.release(item, worker_id="w1") is True
    task = WorkerTask.objects.get()
    assert (task.status, task.attempts, task.worker_token) == (QueueStatus.PENDING, 0, "")
    assert TaskRun.objects.get().outcome == "released"
    assert len(TASKS.claim(worker_id="w2")) == 1


def test_fencing_a_worker_whose_lease_was_taken_over_cannot_complete(fast_retries):
    enqueue_task(task_type="test_probe", idempotency_key="k")
    [stale] = TASKS.claim(worker_id="w1", lease_seconds=30)
    WorkerTask.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert TASKS.reclaim_expired() == 1
    [fresh] = TASKS.claim(worker_id="w2")
    assert fresh.id == stale.id and fresh.token != stale.token and fresh.attempts == 2
    assert TASKS.complete(stale, worker_id="w1") is False
    assert TASKS.fail(stale, worker_id="w1", error="late") == "lost"
    assert TASKS.release(stale, worker_id="w1") is False
    assert TASKS.renew([stale]) == 0
    task = WorkerTask.objects.get()
    assert task.status == QueueStatus.PROCESSING and task.worker_token == fresh.token
    assert TASKS.complete(fresh, worker_id="w2") is True
    outcomes = sorted(TaskRun.objects.values_list("worker_id", "outcome"))
    assert ("w2", "succeeded") in outcomes and ("w1", "lost_lease") in outcomes


def test_renew_extends_only_held_leases():
    enqueue_task(task_type="test_probe", idempotency_key="a")
    enqueue_task(task_type="test_probe", idempotency_key="b")
    items = TASKS.claim(worker_id="w1", limit=2, lease_seconds=5)
    assert TASKS.renew(items, lease_seconds=600) == 2
    assert all(t.lease_expires_at > timezone.now() + timedelta(seconds=500) for t in WorkerTask.objects.all())


def test_expired_lease_on_the_last_attempt_is_dead_lettered():
    enqueue_task(task_type="test_probe", idempotency_key="k", max_attempts=1)
    TASKS.claim(worker_id="w-dead")
    WorkerTask.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    TASKS.reclaim_expired()
    assert WorkerTask.objects.get().status == QueueStatus.FAILED
    letter = WorkerTaskDeadLetter.objects.get()
    assert "lease expired" in letter.last_error


@pytest.mark.parametrize("attempt", [1, 2, 3, 6, 12])
def test_backoff_is_full_jitter_within_bounds(attempt):
    ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
    samples = [backoff_seconds(attempt, base=2.0, cap=60.0) for _ in range(2000)]
    assert all(0 <= s <= ceiling for s in samples)
    assert max(samples) > ceiling * 0.9  # spread over the whole range, not a fixed delay
    assert min(samples) < ceiling * 0.1


def test_requeue_and_discard_dead_letters(fast_retries):
    for n in range(3):
        enqueue_task(task_type="test_poison", idempotency_key=f"p{n}", payload={"n": n}, max_attempts=1)
    for item in TASKS.claim(worker_id="w", limit=3):
        TASKS.fail(item, worker_id="w", error="x")
    letters = list(WorkerTaskDeadLetter.objects.order_by("id"))
    assert len(letters) == 3
    WorkerTask.objects.filter(id=letters[1].original_id).delete()  # pruned meanwhile
    assert TASKS.requeue_dead_letters([letters[0].id, letters[1].id]) == 2
    requeued = WorkerTask.objects.filter(idempotency_key__in=["p0", "p1"])
    assert [(t.status, t.attempts) for t in requeued] == [(QueueStatus.PENDING, 0)] * 2
    assert TASKS.discard_dead_letters([letters[2].id]) == 1
    assert WorkerTaskDeadLetter.objects.count() == 0


def test_stats_counts_and_oldest_age():
    enqueue_task(task_type="test_probe", idempotency_key="a", available_at=timezone.now() - timedelta(seconds=90))
    enqueue_task(task_type="test_probe", idempotency_key="b")
    stats = TASKS.stats()
    assert stats["pending"] == 2 and stats["processing"] == 0 and stats["dead"] == 0
    assert 89 <= stats["oldest_pending_age_seconds"] < 200


@pytest.mark.django_db(transaction=True)
def test_idempotent_enqueue_under_concurrency():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs a server database (runs on MariaDB)")

    def enqueue():
        task, _ = enqueue_task(task_type="test_probe", idempotency_key="same-key", payload={"n": 1})
        return task.pk

    ids = run_together([enqueue] * 8)
    assert len(set(ids)) == 1 and WorkerTask.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_hand_out_the_same_item():
    WorkerTask.objects.bulk_create(
        [WorkerTask(task_type="test_probe", idempotency_key=f"c{n}", payload={"n": n}) for n in range(200)]
    )

    def claimer(name):
        mine = []
        while batch := TASKS.claim(worker_id=name, limit=7):
            mine += [item.id for item in batch]
        return mine

    claimed = [i for ids in run_together([partial(claimer, f"w{n}") for n in range(4)]) for i in ids]
    assert len(claimed) == 200 and len(set(claimed)) == 200


def test_bulk_enqueue_honours_idempotency_keys_and_stores_every_field():
    from flags.services import subject_bucket
    from workers.services import enqueue_task_many

    existing, _ = enqueue_task(task_type="test_probe", idempotency_key="k:1", payload={"n": 1})
    later = timezone.now() + timedelta(minutes=5)
    outcome = enqueue_task_many(
        task_type="test_probe",
        items=[
            {"idempotency_key": "k:1", "payload": {"n": 10}},
            {"idempotency_key": "k:2", "payload": {"n": 2}, "cohort_key": "pack:7"},
            {"idempotency_key": "k:2", "payload": {"n": 20}},
            {"idempotency_key": "k:3", "payload": {"n": 3}},
        ],
        priority=7,
        available_at=later,
        max_attempts=2,
    )
    assert [created for _, created in outcome] == [False, True, False, True]
    assert outcome[0][0] == existing.pk and outcome[1][0] == outcome[2][0]
    row = WorkerTask.objects.get(idempotency_key="k:2")
    assert (row.payload, row.priority, row.available_at, row.max_attempts) == ({"n": 2}, 7, later, 2)
    assert (row.status, row.attempts, row.cohort_bucket) == ("pending", 0, subject_bucket("pack:7"))
    assert WorkerTask.objects.get(idempotency_key="k:1").payload == {"n": 1}
    assert WorkerTask.objects.count() == 3
