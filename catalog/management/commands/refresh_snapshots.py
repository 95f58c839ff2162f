from django.core.management.base import BaseCommand, CommandError

from catalog.models import StickerPack
from catalog.services import snapshots


class Command(BaseCommand):
    help = "Recompute ranking snapshots: every listed pack (--all, a keyset sweep) or one (--pack KEY)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--all", action="store_true", help="sweep every pack")
        group.add_argument("--pack", metavar="KEY", help="one pack by pack_key")

    def handle(self, *args, all: bool, pack: str | None, **options):
        if pack:
            pack_id = StickerPack.objects.filter(pack_key=pack).values_list("id", flat=True).first()
            if pack_id is None:
                raise CommandError(f"no pack {pack!r}")
            result = snapshots.snapshot_refresh([pack_id])
        else:
            result = snapshots.snapshot_sweep()
        self.stdout.write(f"refreshed {result['refreshed']}, removed {result['removed']}")
