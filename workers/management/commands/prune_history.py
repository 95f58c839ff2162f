from django.core.management.base import BaseCommand

from workers.commands import positive_int
from workers.services import history_prune


class Command(BaseCommand):
    help = "Delete completed queue rows, task-run history and registered histories older than --days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=positive_int, help="default TASK_RUN_RETENTION_DAYS (90)")

    def handle(self, *args, days, **options):
        for name, count in history_prune(days=days).items():
            self.stdout.write(f"{name}: {count}")
