import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outbox.relay import OutboxRelay
from workers.commands import add_worker_arguments, positive_float, worker_options


class Command(BaseCommand):
    help = "Publish committed outbox events to RabbitMQ with publisher confirms (off unless OUTBOX_RELAY_URL is set)."

    def add_arguments(self, parser):
        add_worker_arguments(parser)
        # Bigger batches than the task workers' (one claim, a few publish rounds and one completion per
        # batch), and two executors, so one batch's database work overlaps the other's broker confirms.
        parser.set_defaults(batch_size=200, concurrency=2)
        parser.add_argument(
            "--connect-timeout",
            type=positive_float,
            default=30.0,
            help="with --once: how long to wait for the broker before giving up (s)",
        )

    def handle(self, *args, **options):
        if not settings.OUTBOX_RELAY_URL:
            # Off is a configuration, not a failure: exit 0 so a supervisor does not restart it.
            self.stderr.write("OUTBOX_RELAY_URL is not set: the outbox relay is off.")
            return
        opts = worker_options(options, prefix="relay")
        if options["verbosity"] < 3:  # pika narrates every connection step at INFO
            logging.getLogger("pika").setLevel(logging.WARNING)
        if OutboxRelay(options=opts).run(connect_timeout=options["connect_timeout"]):
            raise CommandError("the outbox relay could not reach the broker")
