"""Real worker processes against the test database: drains, SIGKILL, SIGTERM, poison, outages."""

import json
import signal
import time
import urllib.request

import pytest
from django.db import connection

from outbox.models import DomainEvent
from outbox.services import publish
from tests.workers import procs
from workers.models import Lease, TaskRun, WorkerTask, WorkerTaskDeadLetter

pytestmark = pytest.mark.django_db(transaction=True)


def bulk_tasks(task_type: str, count: int, **payload) -> None:
    WorkerTask.objects.bulk_create(
        [
            WorkerTask(
                task_type=task_type,
                idempotency_key=f"{task_type}:{n}",
                payload={"n": n, **payload},
                cohort_bucket=n % 100,
            )
            for n in range(count)
        ],
        batch_size=500,
    )


def count(status: str) -> int:
    return WorkerTask.objects.filter(status=status).count()


def test_four_processes_drain_2000_tasks_exactly_once(tmp_path):
    bulk_tasks("test_probe", 2000)
    # Exactly once holds while leases hold: the suite's 2 s lease (for the crash tests) can run out
    # when a loaded machine delays a heartbeat behind SQLite's write lock, and an expired lease is
    # re-run by design (at-least-once). This test is about sharing work, so leases outlast stalls.
    env = procs.worker_env(WORKER_LEASE_SECONDS=30)
    workers = [
        procs.start(
            "run_worker",
            "--task-type",
            "all",
            "--once",
            "--batch-size",
            "20",
            "--poll-interval",
            "0.2",
            log_dir=tmp_path,
            name=f"w{i}",
            env=env,
        )
        for i in range(4)
    ]
    codes = [w.wait(timeout=300) for w in workers]
    assert codes == [0, 0, 0, 0], procs.logs(tmp_path)
    assert count("completed") == 2000, procs.logs(tmp_path)
    # Each run inserts probe:<n>; a second (or concurrent) run of a task would fail on the unique name.
    assert Lease.objects.filter(name__startswith="probe:").count() == 2000
    assert TaskRun.objects.filter(outcome="succeeded").count() == 2000
    assert not TaskRun.objects.exclude(outcome="succeeded").exists()
    by_worker = set(TaskRun.objects.values_list("worker_id", flat=True))
    assert len(by_worker) >= 2  # the work really was shared


def test_sigkilled_worker_loses_nothing(tmp_path):
    total = 1200
    bulk_tasks("test_idempotent_probe", total, sleep=0.03)
    args = ("run_worker", "--task-type", "all", "--batch-size", "5", "--poll-interval", "0.2")
    workers = [procs.start(*args, log_dir=tmp_path, name=f"w{i}") for i in range(3)]
    victim = procs.start(*args, log_dir=tmp_path, name="victim-0")
    for kill in range(3):
        name = f"victim-{kill}"
        # Kill only while this victim holds claimed work, so the kill really loses a lease.
        procs.wait_for(
            lambda n=name: WorkerTask.objects.filter(status="processing", worker_token__startswith=f"{n}:").exists(),
            timeout=60,
            interval=0.02,
            message=f"{name} to hold work",
        )
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        victim = procs.start(*args, log_dir=tmp_path, name=f"victim-{kill + 1}")
    workers.append(victim)
    try:
        procs.wait_for(lambda: count("completed") == total, timeout=180, message=f"all {total} tasks to complete")
    finally:
        codes = procs.stop(workers)
    assert codes == [0, 0, 0, 0], procs.logs(tmp_path)
    assert count("processing") == 0 and count("pending") == 0
    assert not WorkerTaskDeadLetter.objects.exists()
    assert Lease.objects.filter(name__startswith="probe:").count() == total
    # The killed workers' leases expired; their tasks were reclaimed and run by others.
    assert TaskRun.objects.filter(error__contains="lease expired (worker victim-").count() >= 3


def test_sigterm_mid_task_finishes_it_and_exits_0(tmp_path):
    WorkerTask.objects.create(task_type="test_probe", idempotency_key="slow", payload={"n": 1, "sleep": 2})
    worker = procs.start("run_worker", "--task-type", "all", "--poll-interval", "0.1", log_dir=tmp_path, name="w")
    procs.wait_for(lambda: count("processing") == 1, timeout=60, message="the task to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, procs.logs(tmp_path)
    task = WorkerTask.objects.get()
    assert task.status == "completed"
    assert Lease.objects.filter(name="probe:1").exists()


def test_sigterm_past_the_grace_period_releases_the_task(tmp_path):
    WorkerTask.objects.create(task_type="test_probe", idempotency_key="long", payload={"n": 1, "sleep": 60})
    env = procs.worker_env(WORKER_SHUTDOWN_GRACE_SECONDS=1)
    worker = procs.start(
        "run_worker", "--task-type", "all", "--poll-interval", "0.1", log_dir=tmp_path, name="w", env=env
    )
    procs.wait_for(lambda: count("processing") == 1, timeout=60, message="the task to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, procs.logs(tmp_path)
    task = WorkerTask.objects.get()
    assert (task.status, task.attempts, task.worker_token) == ("pending", 0, "")
    assert TaskRun.objects.get().outcome == "released"


def test_second_signal_releases_and_exits_at_once(tmp_path):
    WorkerTask.objects.create(task_type="test_probe", idempotency_key="long", payload={"n": 1, "sleep": 60})
    worker = procs.start(
        "run_worker",
        "--task-type",
        "all",
        "--poll-interval",
        "0.1",
        log_dir=tmp_path,
        name="w",
        env=procs.worker_env(WORKER_SHUTDOWN_GRACE_SECONDS=120),
    )
    procs.wait_for(lambda: count("processing") == 1, timeout=60, message="the task to start")
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=15) == 0, procs.logs(tmp_path)
    assert WorkerTask.objects.get().status == "pending"


def test_poison_task_ends_in_the_dead_letter_table(tmp_path):
    WorkerTask.objects.create(task_type="test_poison", idempotency_key="poison", payload={"n": 13}, max_attempts=3)
    bulk_tasks("test_probe", 20)
    worker = procs.start("run_worker", "--task-type", "all", "--poll-interval", "0.1", log_dir=tmp_path, name="w")
    try:
        procs.wait_for(
            lambda: WorkerTaskDeadLetter.objects.exists() and count("completed") == 20,
            timeout=60,
            message="the poison task to be dead-lettered",
        )
    finally:
        assert procs.stop([worker]) == [0], procs.logs(tmp_path)
    letter = WorkerTaskDeadLetter.objects.get()
    assert letter.attempts == 3 and letter.task_type == "test_poison"
    assert len(letter.errors) == 3 and all("poison pill 13" in e["error"] for e in letter.errors)
    assert WorkerTask.objects.get(idempotency_key="poison").status == "failed"
    assert list(
        TaskRun.objects.filter(item_id=letter.original_id).order_by("attempt").values_list("outcome", flat=True)
    ) == ["failed", "failed", "dead"]


def test_outbox_consumer_process_dispatches_events(tmp_path):
    for n in range(50):
        publish(
            event_type="TEST_EVENT",
            aggregate_type="pack",
            aggregate_id=n,
            payload={"n": n},
            idempotency_key=f"pack:{n}:v1",
        )
    consumer = procs.start("run_outbox_consumer", "--once", "--batch-size", "10", log_dir=tmp_path, name="c")
    assert consumer.wait(timeout=120) == 0, procs.logs(tmp_path)
    assert DomainEvent.objects.filter(status="completed").count() == 50
    assert Lease.objects.filter(name__startswith="event:").count() == 50


def test_health_port_serves_health_readiness_and_metrics(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = procs.start("run_worker", "--task-type", "all", "--health-port", str(port), log_dir=tmp_path, name="w")
    try:

        def up():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                return False

        procs.wait_for(up, timeout=60, message="the health port")
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
        assert health["worker_id"] == "w"
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status == 200
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert 'packyard_queue_depth{queue="tasks",status="pending"}' in metrics
        assert "packyard_queue_oldest_age_seconds" in metrics
        # The same families as the web's /metrics, so one scrape config and one set of rules fit both.
        for family in (
            "packyard_http_requests_total counter",
            "packyard_http_request_duration_ms histogram",
            "packyard_http_slo_violation_total counter",
            "packyard_flag_evaluations_total counter",
            "packyard_queue_items_total counter",
            "packyard_snapshot_stalest_age_seconds gauge",
        ):
            assert f"# TYPE {family}" in metrics, family
    finally:
        assert procs.stop([worker]) == [0], procs.logs(tmp_path)


def test_workers_survive_a_10_second_database_outage(tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("needs a database server to lose (runs on MariaDB)")
    db = connection.settings_dict
    proxy = procs.TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 3306))
    env = procs.worker_env(
        DATABASE_URL=procs.database_url(host="127.0.0.1", port=proxy.port),
        DATABASE_CONN_MAX_AGE=0,
        WORKER_LEASE_SECONDS=5,
    )
    bulk_tasks("test_idempotent_probe", 400, sleep=0.02)
    workers = [
        procs.start(
            "run_worker",
            "--task-type",
            "all",
            "--batch-size",
            "5",
            "--poll-interval",
            "0.2",
            log_dir=tmp_path,
            name=f"w{i}",
            env=env,
        )
        for i in range(2)
    ]
    try:
        procs.wait_for(lambda: count("completed") >= 50, timeout=60, message="the drain to start")
        proxy.cut()
        time.sleep(10)
        assert all(w.poll() is None for w in workers), procs.logs(tmp_path)  # no crash during the outage
        proxy.restore()
        procs.wait_for(lambda: count("completed") == 400, timeout=180, message="the drain to finish after the outage")
    finally:
        codes = procs.stop(workers)
        proxy.close()
    assert codes == [0, 0], procs.logs(tmp_path)
    assert count("processing") == 0
    assert Lease.objects.filter(name__startswith="probe:").count() == 400
