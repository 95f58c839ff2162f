"""The request id flows from a request to its log lines, the event it publishes, the task the
event causes, and the worker's log lines about that task (SPEC §8)."""

import json
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.logs import ContextFilter, bound, current_request_id
from outbox.models import DomainEvent
from tests.catalog.conftest import make_pack
from tests.workers import procs
from workers.models import WorkerTask


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    handler = _Records()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_request_log_lines_carry_the_request_id_even_after_the_middleware(client, records):
    # Django logs 4xx responses once the middleware chain has returned.
    assert client.get("/api/no-such-thing", HTTP_X_REQUEST_ID="trace-404").status_code == 404
    assert [r.request_id for r in records if "/api/no-such-thing" in r.getMessage()] == ["trace-404"]
    assert current_request_id() == ""  # cleared once the response was closed
    response = client.get("/api/sticker-packs/nope")
    generated = response["X-Request-Id"]
    assert len(generated) == 36 and records[-1].request_id == generated


def test_an_overlong_client_id_is_replaced_so_it_fits_the_queues(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="a" * 65)["X-Request-Id"] != "a" * 65
    assert client.get("/healthz", HTTP_X_REQUEST_ID="a" * 64)["X-Request-Id"] == "a" * 64


@pytest.mark.django_db
def test_queue_items_inherit_the_bound_request_id():
    from workers.services import enqueue_task, enqueue_task_many

    with bound(request_id="trace-bound", task_id=1):
        task, _ = enqueue_task(task_type="t", idempotency_key="inherits")
        many = enqueue_task_many(task_type="t", items=[{"idempotency_key": f"many-{n}"} for n in range(3)])
    explicit, _ = enqueue_task(task_type="t", idempotency_key="explicit", request_id="trace-explicit")
    plain, _ = enqueue_task(task_type="t", idempotency_key="plain")
    assert (task.request_id, explicit.request_id, plain.request_id) == ("trace-bound", "trace-explicit", "")
    ids = [task_id for task_id, _ in many]
    assert set(WorkerTask.objects.filter(id__in=ids).values_list("request_id", flat=True)) == {"trace-bound"}


@pytest.mark.django_db(transaction=True)
def test_request_id_flows_to_the_event_the_task_and_the_worker_log_line(client, settings, tmp_path):
    pack = make_pack(items=1)
    response = client.post(f"/api/sticker-packs/{pack.pack_key}/like", HTTP_X_REQUEST_ID="trace-like-1")
    assert response.status_code == 200, response.content
    event = DomainEvent.objects.get(event_type="ENGAGEMENT_RECORDED")
    assert event.request_id == "trace-like-1"

    call_command("run_outbox_consumer", "--once", "--poll-interval", "0.1", verbosity=0)
    task = WorkerTask.objects.get(task_type="refresh_pack_snapshots", payload__pack_ids=[pack.id])
    assert task.request_id == "trace-like-1"

    WorkerTask.objects.filter(pk=task.pk).update(available_at=timezone.now())  # skip the coalescing window
    env = procs.worker_env(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    worker = procs.start("run_worker", "--task-type", "all", "--once", "-v", "2", log_dir=tmp_path, name="w", env=env)
    assert worker.wait(timeout=120) == 0, procs.logs(tmp_path)
    task.refresh_from_db()
    assert task.status == "completed"
    lines = [json.loads(line) for line in (tmp_path / "w.log").read_text().splitlines() if line.startswith("{")]
    about_task = [line for line in lines if line.get("task_id") == task.id]
    assert about_task, lines[-10:]
    assert all(line["request_id"] == "trace-like-1" for line in about_task)
    assert any(f"#{task.id} ran in" in line["message"] for line in about_task)
