from django.core.management.base import BaseCommand, CommandError

from workers import conf, registry
from workers.commands import add_worker_arguments, import_extra_modules, worker_options
from workers.runtime import WorkerRuntime
from workers.services import TASKS, cycle_enqueue_due, routing_filter, task_runner


class Command(BaseCommand):
    help = "Run a task worker: a dedicated one (--task-type <type>) or the combined one (--task-type all)."

    def add_arguments(self, parser):
        parser.add_argument("--task-type", required=True, help="a registered task type or group, or 'all'")
        add_worker_arguments(parser)

    def handle(self, *args, task_type: str, **options):
        from workers.backends import discover

        import_extra_modules()
        discover()  # installed apps' `tasks` modules (their @task functions) and PERIODIC tasks
        types = registry.registered_task_types()
        groups = {t.worker_group for t in types.values()}
        if task_type != "all" and task_type not in groups:
            raise CommandError(f"unknown task type {task_type!r}; registered: {', '.join(sorted(groups)) or 'none'}")
        opts = worker_options(options, prefix=f"worker-{task_type}")
        conf.set_process_concurrency(opts.concurrency)
        last_buckets: dict[str, int] = {}
        cycle_types = [t.name for t in types.values() if task_type in ("all", t.worker_group)]

        runtime = WorkerRuntime(
            queue=TASKS,
            options=opts,
            resolve=lambda item: task_runner(item, worker_id=opts.worker_id),
            scope=lambda: routing_filter(task_type),
            on_pass=lambda: cycle_enqueue_due(task_types=cycle_types, last_buckets=last_buckets),
        )
        runtime.run()
