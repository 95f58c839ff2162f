"""Queue throughput on MariaDB/MySQL: enqueue rate, drain of no-op tasks with 1/2/4 worker
processes, outbox dispatch rate, peak RSS of one worker; the same through Django's Tasks API
(`@task` no-op: `.enqueue()`, `enqueue_many()`, drained by `run_worker`); optionally
django-tasks-db (`enqueue()`, `db_worker`) side by side on the same server in the same run.

    .venv/bin/python bench/queue_bench.py [--database-url mysql://root@127.0.0.1:3306/packyard_bench]
        [--tasks 10000] [--processes 1 2 4] [--baseline-venv /tmp/dtdb-venv] [--json-out FILE]

The load generator (this script) and the workers share the machine's cores; figures include
worker start-up (Django import, ~1 s) in "wall" and exclude it in "steady".
"""

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def mysql_admin(url: str, sql: str) -> None:
    import MySQLdb

    parsed = urlparse(url)
    conn = MySQLdb.connect(
        host=parsed.hostname, port=parsed.port or 3306, user=parsed.username or "root", passwd=parsed.password or ""
    )
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def with_db(url: str, name: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path=f"/{name}").geturl()


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def worker_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PACKYARD_ENV_FILE": "",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": database_url,
        "WORKER_EXTRA_TASK_MODULES": "bench.bench_tasks",
        "LOG_LEVEL": "WARNING",
        # Only the bench's own tasks are drained: the catalog's periodic cycles stay off.
        "SNAPSHOT_SWEEP_CADENCE_SECONDS": "0",
        "WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS": "0",
        "WORKER_CURATION_CYCLE_CADENCE_SECONDS": "0",
        "WORKER_REBUILD_CYCLE_CADENCE_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }


def drain(command: list[str], *, processes: int, env: dict, cwd: Path, done, sample_rss: bool = False) -> dict:
    import tempfile

    # Workers log per task at -v1 (Django's task signals log every start and finish): their stderr
    # goes to files, as a full pipe nobody reads would stall them.
    logs = [tempfile.TemporaryFile() for _ in range(processes)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            command + [f"--worker-id=bench-{i}"]
            if "manage.py" in " ".join(command) and "db_worker" not in command
            else command,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=logs[i],
        )
        for i in range(processes)
    ]
    rss_samples = []
    while any(p.poll() is None for p in procs):
        if sample_rss:
            value = rss_mb(procs[0].pid)
            if value:
                rss_samples.append(round(value, 1))
        time.sleep(0.2)
    wall = time.perf_counter() - start
    errors = []
    for proc, log in zip(procs, logs, strict=True):
        if proc.returncode != 0:
            log.seek(0)
            errors.append(log.read().decode(errors="replace")[-2000:])
        log.close()
    if errors:
        raise SystemExit(f"worker failed: {errors[0]}")
    result = {"processes": processes, "wall_seconds": round(wall, 2), **done()}
    if sample_rss and rss_samples:
        result["rss_mb"] = {
            "peak": max(rss_samples),
            "first": rss_samples[0],
            "last": rss_samples[-1],
            "samples": len(rss_samples),
        }
    return result


def bench_packyard(url: str, tasks: int, process_counts: list[int]) -> dict:
    os.environ.update(worker_env(url))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Max, Min

    call_command("migrate", verbosity=0)
    from bench.bench_tasks import noop
    from outbox.models import DomainEvent
    from outbox.services import publish
    from workers.models import TaskRun, WorkerTask
    from workers.services import enqueue_task

    def reset():
        WorkerTask.objects.all().delete()
        TaskRun.objects.all().delete()
        DomainEvent.objects.all().delete()

    reset()
    n_enqueue = min(tasks, 3000)
    start = time.perf_counter()
    for n in range(n_enqueue):
        enqueue_task(task_type="bench_noop", idempotency_key=f"enqueue:{n}", payload={"n": n})
    enqueue_rate = n_enqueue / (time.perf_counter() - start)
    print(f"enqueue: {enqueue_rate:,.0f} tasks/s (enqueue_task one at a time, {n_enqueue:,} tasks)")
    reset()
    start = time.perf_counter()
    for n in range(n_enqueue):
        noop.enqueue(n)
    task_api_enqueue_rate = n_enqueue / (time.perf_counter() - start)
    print(f"enqueue: {task_api_enqueue_rate:,.0f} tasks/s (@task .enqueue() one at a time, {n_enqueue:,} tasks)")
    reset()
    start = time.perf_counter()
    noop.enqueue_many(((n,), {}) for n in range(tasks))
    bulk_rate = tasks / (time.perf_counter() - start)
    print(f"enqueue: {bulk_rate:,.0f} tasks/s (@task .enqueue_many(), {tasks:,} tasks in one call)")

    def steady(queue: str) -> dict:
        span = TaskRun.objects.filter(queue=queue).aggregate(a=Min("started_at"), b=Max("finished_at"))
        seconds = (span["b"] - span["a"]).total_seconds() if span["a"] else 0
        count = TaskRun.objects.filter(queue=queue, outcome="succeeded").count()
        return {
            "completed": count,
            "steady_seconds": round(seconds, 2),
            "steady_rate_per_s": round(count / seconds, 1) if seconds else None,
        }

    command = [
        sys.executable,
        "manage.py",
        "run_worker",
        "--task-type",
        "all",
        "--once",
        "--batch-size",
        "50",
        "--poll-interval",
        "0.5",
    ]
    drains = []
    for processes in process_counts:
        reset()
        WorkerTask.objects.bulk_create(
            [
                WorkerTask(
                    task_type="bench_noop", idempotency_key=f"drain:{n}", payload={"n": n}, cohort_bucket=n % 100
                )
                for n in range(tasks)
            ],
            batch_size=1000,
        )
        result = drain(
            command,
            processes=processes,
            env=worker_env(url),
            cwd=ROOT,
            done=lambda: steady("tasks"),
            sample_rss=processes == 1,
        )
        result["wall_rate_per_s"] = round(tasks / result["wall_seconds"], 1)
        drains.append(result)
        print(
            f"drain {tasks:,} no-op tasks, {processes} process(es): {result['wall_rate_per_s']:,.0f}/s wall, "
            f"{result['steady_rate_per_s']:,.0f}/s steady"
            + (
                f", worker RSS peak {result['rss_mb']['peak']} MB "
                f"(first {result['rss_mb']['first']}, last "
                f"{result['rss_mb']['last']})"
                if "rss_mb" in result
                else ""
            )
        )

    task_api_drains = []
    for processes in process_counts:
        reset()
        noop.enqueue_many(((n,), {}) for n in range(tasks))
        result = drain(command, processes=processes, env=worker_env(url), cwd=ROOT, done=lambda: steady("tasks"))
        result["wall_rate_per_s"] = round(tasks / result["wall_seconds"], 1)
        task_api_drains.append(result)
        print(
            f"drain {tasks:,} @task no-op tasks, {processes} process(es): {result['wall_rate_per_s']:,.0f}/s wall, "
            f"{result['steady_rate_per_s']:,.0f}/s steady"
        )

    reset()
    start = time.perf_counter()
    for n in range(min(tasks, 3000)):
        publish(
            event_type="BENCH_EVENT",
            aggregate_type="bench",
            aggregate_id=n,
            payload={"n": n},
            idempotency_key=f"bench:{n}:v1",
        )
    publish_rate = min(tasks, 3000) / (time.perf_counter() - start)
    DomainEvent.objects.bulk_create(
        [
            DomainEvent(
                event_type="BENCH_EVENT",
                aggregate_type="bench",
                aggregate_id=str(n),
                payload={"n": n},
                idempotency_key=f"bulk:{n}",
            )
            for n in range(tasks - min(tasks, 3000))
        ],
        batch_size=1000,
    )
    total_events = DomainEvent.objects.count()
    outbox = drain(
        [sys.executable, "manage.py", "run_outbox_consumer", "--once", "--batch-size", "100"],
        processes=2,
        env=worker_env(url),
        cwd=ROOT,
        done=lambda: steady("outbox"),
    )
    outbox["events"] = total_events
    outbox["publish_rate_per_s"] = round(publish_rate, 1)
    print(
        f"outbox: publish {publish_rate:,.0f} events/s; dispatch {total_events:,} events with 2 consumers: "
        f"{total_events / outbox['wall_seconds']:,.0f}/s wall, {outbox['steady_rate_per_s']:,.0f}/s steady"
    )
    reset()
    return {
        "enqueue_rate_per_s": round(enqueue_rate, 1),
        "task_api_enqueue_rate_per_s": round(task_api_enqueue_rate, 1),
        "task_api_enqueue_many_rate_per_s": round(bulk_rate, 1),
        "drain": drains,
        "task_api_drain": task_api_drains,
        "outbox": outbox,
    }


BASELINE_SETTINGS = """
import environ
env = environ.Env() if False else None
SECRET_KEY = "baseline"
INSTALLED_APPS = ["django.contrib.contenttypes", "django_tasks_db", "baseline"]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.mysql", "NAME": "{name}", "USER": "{user}",
    "PASSWORD": "{password}", "HOST": "{host}", "PORT": "{port}",
    "OPTIONS": {{"charset": "utf8mb4", "isolation_level": "read committed"}}}}}}
TASKS = {{"default": {{"BACKEND": "django_tasks_db.DatabaseBackend"}}}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""


def bench_baseline(url: str, venv: Path, tasks: int, process_counts: list[int]) -> dict:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "Django==6.1.3",
                "django-tasks-db==0.13.0",
                "mysqlclient==2.3.1",
            ],
            check=True,
        )
    project = venv / "baseline-project"
    (project / "baseline").mkdir(parents=True, exist_ok=True)
    parsed = urlparse(url)
    (project / "baseline" / "__init__.py").write_text("")
    (project / "baseline" / "tasks.py").write_text(
        "from django.tasks import task\n\n\n@task\ndef noop(n):\n    return None\n"
    )
    (project / "settings.py").write_text(
        BASELINE_SETTINGS.format(
            name=parsed.path.lstrip("/"),
            user=parsed.username or "root",
            password=parsed.password or "",
            host=parsed.hostname,
            port=parsed.port or 3306,
        ).replace("import environ\nenv = environ.Env() if False else None\n", "")
    )
    (project / "manage.py").write_text(
        "import sys\nfrom django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(project)}
    subprocess.run([str(python), "manage.py", "migrate", "-v0"], cwd=project, env=env, check=True)
    script = textwrap.dedent(f"""
        import time, django, json
        django.setup()
        from django_tasks_db.models import DBTaskResult
        from baseline.tasks import noop
        DBTaskResult.objects.all().delete()
        start = time.perf_counter()
        for n in range({tasks}):
            noop.enqueue(n)
        print(json.dumps({{"enqueue_seconds": time.perf_counter() - start}}))
    """)
    results = []
    for processes in process_counts:
        out = subprocess.run(
            [str(python), "-c", script], cwd=project, env=env, check=True, capture_output=True, text=True
        ).stdout
        enqueue_seconds = json.loads(out.strip().splitlines()[-1])["enqueue_seconds"]
        command = [str(python), "manage.py", "db_worker", "--batch", "--no-startup-delay", "--interval", "0.1"]
        result = drain(command, processes=processes, env=env, cwd=project, done=lambda: {})
        result["wall_rate_per_s"] = round(tasks / result["wall_seconds"], 1)
        result["enqueue_rate_per_s"] = round(tasks / enqueue_seconds, 1)
        results.append(result)
        print(
            f"django-tasks-db db_worker: drain {tasks:,} no-op tasks, {processes} process(es): "
            f"{result['wall_rate_per_s']:,.0f}/s wall (enqueue {result['enqueue_rate_per_s']:,.0f}/s)"
        )
    return {"drain": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_bench")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--baseline-venv", type=Path, help="venv for django-tasks-db (created when missing)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    name = urlparse(args.database_url).path.lstrip("/")
    mysql_admin(args.database_url, f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    report = {
        "bench": "queue",
        "tasks": args.tasks,
        "cpu_count": os.cpu_count(),
        "packyard": bench_packyard(args.database_url, args.tasks, args.processes),
    }
    if args.baseline_venv:
        baseline_url = with_db(args.database_url, f"{name}_dtdb")
        mysql_admin(args.database_url, f"CREATE DATABASE IF NOT EXISTS `{name}_dtdb` CHARACTER SET utf8mb4")
        report["django_tasks_db"] = bench_baseline(baseline_url, args.baseline_venv, args.tasks, args.processes)
        ours, theirs = report["packyard"], report["django_tasks_db"]

        def by_processes(drains: list[dict]) -> dict[str, float]:
            return {
                str(a["processes"]): round(a["wall_rate_per_s"] / b["wall_rate_per_s"], 1)
                for a, b in zip(drains, theirs["drain"], strict=True)
            }

        report["speedup_vs_db_worker_wall"] = by_processes(ours["drain"])
        report["task_api_speedup_vs_db_worker_wall"] = by_processes(ours["task_api_drain"])
        their_enqueue = max(d["enqueue_rate_per_s"] for d in theirs["drain"])  # their best round
        report["enqueue_vs_django_tasks_db"] = {
            "django_tasks_db_enqueue_per_s": their_enqueue,
            "enqueue_task": round(ours["enqueue_rate_per_s"] / their_enqueue, 2),
            "task_api_enqueue": round(ours["task_api_enqueue_rate_per_s"] / their_enqueue, 2),
            "task_api_enqueue_many": round(ours["task_api_enqueue_many_rate_per_s"] / their_enqueue, 1),
        }
        print(f"speed-up vs db_worker, native no-op (wall, by processes): {report['speedup_vs_db_worker_wall']}")
        print(
            "speed-up vs db_worker, the same @task no-op (wall, by processes): "
            f"{report['task_api_speedup_vs_db_worker_wall']}"
        )
        print(f"enqueue vs django-tasks-db enqueue() (x): {report['enqueue_vs_django_tasks_db']}")
    print(json.dumps(report))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
