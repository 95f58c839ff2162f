import sys
from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from catalog.services.objectsync import Backfill, StoreDown
from workers.commands import positive_int


def since_value(raw: str) -> datetime:
    """YYYY-MM-DD (midnight, UTC) or an ISO datetime."""
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw) if len(raw) == 10 else None
        if day is None:
            raise ValueError(f"not a date: {raw!r}")
        moment = datetime.combine(day, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = (
        "Backfill the object store: upload and verify every asset not yet marked synced (resumes where "
        "a previous run stopped; safe to run twice or in two processes at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", type=positive_int, metavar="ID", help="only assets of this owner id")
        parser.add_argument("--since", type=since_value, metavar="DATE", help="only assets created since")
        parser.add_argument("--dry-run", action="store_true", help="count what would be synced; change nothing")
        parser.add_argument("--batch-size", type=positive_int, default=100, help="assets read per query")

    def handle(self, *args, owner, since, dry_run, batch_size, verbosity, **options):
        bar = None
        backfill = Backfill(owner_id=owner, since=since, batch_size=batch_size, progress=lambda _: bar and bar.update())
        total = backfill.count()
        if dry_run:
            self.stdout.write(f"dry run: {total} assets are not synced")
            return
        bar = tqdm(total=total, unit="obj", desc="sync", file=sys.stderr, disable=verbosity < 1, mininterval=0.5)
        try:
            result = backfill.run()
        except KeyboardInterrupt:
            result = backfill.result
            raise CommandError(
                f"interrupted after {result.done} objects; run it again to resume", returncode=130
            ) from None
        except StoreDown as exc:
            raise CommandError(f"{exc}; {backfill.result.done} objects synced; run it again to resume") from None
        finally:
            bar.close()
        self.stdout.write(
            f"selected {total}: uploaded {result.uploaded}, already in the store {result.present}, "
            f"failed {result.failed}, deleted meanwhile {result.gone}, synced by another run "
            f"{result.synced_elsewhere}, sharing an object synced here {result.shared}; "
            f"{result.rate:.1f} assets/s over {result.seconds:.1f} s"
        )
        for failure in result.failures[:20]:
            self.stderr.write(f"  {failure}")
        if result.failed:
            raise CommandError(f"{result.failed} assets could not be synced (see above); run it again to retry")
