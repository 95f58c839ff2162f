from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalog.models import InteractionEvent
from tests.factories import StickerPackFactory
from workers.models import TaskRun, WorkerTask, WorkerTaskDeadLetter
from workers.services import TASKS, enqueue_task

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_enqueue_task_prints_the_id_or_the_existing_one():
    first = run(
        "enqueue_task",
        "--task-type",
        "test_probe",
        "--payload",
        '{"n": 1}',
        "--idempotency-key",
        "k1",
        "--priority",
        "3",
    )
    task = WorkerTask.objects.get()
    assert first == str(task.pk) and task.priority == 3 and task.payload == {"n": 1}
    assert run("enqueue_task", "--task-type", "test_probe", "--idempotency-key", "k1") == str(task.pk)
    assert WorkerTask.objects.count() == 1
    with pytest.raises(CommandError):
        run("enqueue_task", "--task-type", "test_probe", "--payload", "[1, 2]")


def test_replay_dead_letters():
    enqueue_task(task_type="test_poison", idempotency_key="p", max_attempts=1)
    [item] = TASKS.claim(worker_id="w")
    TASKS.fail(item, worker_id="w", error="x")
    assert "tasks: requeued 1" in run("replay_dead_letters", "--queue", "tasks")
    assert WorkerTask.objects.get().status == "pending" and not WorkerTaskDeadLetter.objects.exists()


def test_prune_history_removes_old_completed_rows_runs_and_interactions():
    old = timezone.now() - timedelta(days=100)
    enqueue_task(task_type="test_probe", idempotency_key="old")
    enqueue_task(task_type="test_probe", idempotency_key="new")
    enqueue_task(task_type="test_probe", idempotency_key="old-pending")
    for item in TASKS.claim(worker_id="w", limit=2):
        TASKS.complete(item, worker_id="w")
    WorkerTask.objects.filter(idempotency_key="old").update(processed_at=old)
    WorkerTask.objects.filter(idempotency_key="old-pending").update(created_at=old)
    TaskRun.objects.update(started_at=old)
    pack = StickerPackFactory()
    InteractionEvent.objects.create(pack=pack, interaction="open", actor_key="a", created_at=old)
    InteractionEvent.objects.create(pack=pack, interaction="open", actor_key="b")
    output = run("prune_history", "--days", "90")
    assert "tasks_completed: 1" in output and "task_runs: 2" in output and "interaction_events: 1" in output
    assert set(WorkerTask.objects.values_list("idempotency_key", flat=True)) == {"new", "old-pending"}
    assert InteractionEvent.objects.count() == 1
    # The pruned key is free again.
    _, created = enqueue_task(task_type="test_probe", idempotency_key="old")
    assert created


def test_run_worker_refuses_an_unknown_task_type():
    with pytest.raises(CommandError, match="unknown task type"):
        run("run_worker", "--task-type", "nope", "--once")
