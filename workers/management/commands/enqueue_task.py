import json

from django.core.management.base import BaseCommand, CommandError

from workers.services import enqueue_task


def json_object(value: str) -> dict:
    import argparse

    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("the payload must be a JSON object")
    return data


class Command(BaseCommand):
    help = "Enqueue a task; prints its id (or the existing task's id for a live idempotency key)."

    def add_arguments(self, parser):
        parser.add_argument("--task-type", required=True)
        parser.add_argument("--payload", type=json_object, default={})
        parser.add_argument("--idempotency-key")
        parser.add_argument("--priority", type=int, default=0)

    def handle(self, *args, task_type, payload, idempotency_key, priority, **options):
        import uuid

        if not task_type.strip():
            raise CommandError("--task-type must not be empty")
        key = idempotency_key or f"manual:{task_type}:{uuid.uuid4().hex}"
        task, created = enqueue_task(task_type=task_type, idempotency_key=key, payload=payload, priority=priority)
        if not created:
            self.stderr.write(f"a task with idempotency key {key!r} exists already")
        self.stdout.write(str(task.pk))
