from django.core.management.base import BaseCommand

from workers.queue import all_queues, get_queue


class Command(BaseCommand):
    help = "Put dead-lettered tasks/events back on their queue with fresh attempts."

    def add_arguments(self, parser):
        # The queues apps registered at start-up (tasks here; the outbox's and relay's in outbox).
        parser.add_argument("--queue", choices=[*(q.name for q in all_queues()), "all"], default="all")
        parser.add_argument("--ids", type=int, nargs="+", help="dead-letter ids (default: all)")

    def handle(self, *args, queue, ids, **options):
        queues = all_queues() if queue == "all" else [get_queue(queue)]
        for q in queues:
            count = q.requeue_dead_letters(ids)
            self.stdout.write(f"{q.name}: requeued {count}")
