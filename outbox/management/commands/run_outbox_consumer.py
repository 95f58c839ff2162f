from django.core.management.base import BaseCommand

from flags.services import is_enabled
from outbox.services import EVENTS, OUTBOX_FLAG, event_dispatch
from workers.commands import add_worker_arguments, worker_options
from workers.runtime import WorkerRuntime


class Command(BaseCommand):
    help = "Dispatch outbox events to their registered handlers."

    def add_arguments(self, parser):
        add_worker_arguments(parser)

    def handle(self, *args, **options):
        opts = worker_options(options, prefix="outbox")
        runtime = WorkerRuntime(
            queue=EVENTS,
            options=opts,
            resolve=lambda item: event_dispatch,
            gate=lambda: is_enabled(OUTBOX_FLAG, subject_key=opts.worker_id, default=True),
        )
        runtime.run()
