from django.core.management.base import BaseCommand

from catalog.services.demo import demo_catalog_seed


class Command(BaseCommand):
    help = "Create a demo catalog (packs of generated sticker images). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--packs", type=int, default=12, help="number of demo packs (default 12)")

    def handle(self, *args, packs: int, **options):
        created = demo_catalog_seed(packs=packs)
        self.stdout.write(f"demo catalog ready: {packs} packs ({created} created now)")
