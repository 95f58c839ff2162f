"""Classification and curation throughput on MariaDB/MySQL.

    .venv/bin/python bench/classification_bench.py [--assets 3000] [--curation-assets 10000]
        [--concurrency 1 2] [--database-url mysql://root@127.0.0.1:3306/packyard_bench_class] [--json-out FILE]

1. Classifier alone: the built-in provider on real 512x512 sticker WebPs (static and animated),
   one thread — classifications per minute per core.
2. The classification cycle end to end (read bytes from storage, classify, write the row and
   its STICKER_CLASSIFIED event in one transaction) over --assets unclassified assets, with each
   --concurrency value (threads, like `run_worker --concurrency`): assets per minute.
3. Curation over --curation-assets classified public stickers (12 themes, some NSFW, 1 % near
   duplicates): the duration of one curation cycle that builds every volume, of a second one
   that finds nothing to add, and of a rebuild cycle.
"""

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_bench import setup_django, use_database  # noqa: E402

THEMES = ["animals", "food", "love", "party", "funny", "weather", "sports", "music", "travel", "work", "space", "text"]


def sticker_images(count: int) -> list[bytes]:
    """Real stickers made by the upload converter: shapes, gradients, text, some animated."""
    from PIL import Image, ImageDraw

    from catalog.services.images import convert_upload

    rng = random.Random(1)
    out = []
    for index in range(count):
        frames = []
        for frame in range(3 if index % 5 == 0 else 1):
            image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
            draw = ImageDraw.Draw(image)
            colour = tuple(rng.randrange(256) for _ in range(3)) + (255,)
            draw.ellipse((20 + frame * 10, 20, 260, 280), fill=colour)
            if index % 3 == 0:
                draw.text((30, 120), f"Hello {index}", fill=(0, 0, 0, 255))
            frames.append(image)
        buffer = io.BytesIO()
        if len(frames) > 1:
            frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
        else:
            frames[0].save(buffer, "PNG")
        out.append(convert_upload(buffer.getvalue()).data)
    return out


def bench_classifier(images: list[bytes], seconds: float = 10.0) -> dict:
    from catalog.classifiers import get_classifier
    from catalog.classifiers.base import ClassifierInput

    classifier = get_classifier("builtin")
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        classifier.classify(ClassifierInput(data=images[done % len(images)], emojis=("😺",), tags=("cats",)))
        done += 1
    elapsed = time.perf_counter() - started
    return {"classifications": done, "seconds": round(elapsed, 2), "per_minute": round(done / elapsed * 60)}


def make_assets(images: list[bytes], count: int, *, tag: str) -> None:
    """`count` unclassified assets, each with its own stored file (images reused round-robin)."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from catalog.models import StickerAsset

    rows = []
    for index in range(count):
        data = images[index % len(images)]
        sha = hashlib.sha256(f"{tag}-{index}".encode()).hexdigest()
        key = f"stickers/bench/{sha}.webp"
        default_storage.save(key, ContentFile(data))
        rows.append(StickerAsset(sha256=sha, storage_key=key, size_bytes=len(data), width=512, height=512))
    StickerAsset.objects.bulk_create(rows, batch_size=2000)


def bench_cycle(images: list[bytes], assets: int, concurrency: int) -> dict:
    from catalog.models import AssetClassification, StickerAsset, StickerPack
    from catalog.services.classification import classification_cycle

    StickerPack.objects.all().delete()  # items protect their assets
    StickerAsset.objects.all().delete()
    make_assets(images, assets, tag=f"cycle-{concurrency}")
    started = time.perf_counter()
    result = classification_cycle(batch_size=assets, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    assert AssetClassification.objects.count() == assets, result
    return {
        "concurrency": concurrency,
        "assets": assets,
        "seconds": round(elapsed, 2),
        "per_minute": round(assets / elapsed * 60),
        "failed": result["failed"],
    }


def bench_curation(count: int) -> dict:
    from catalog.models import AssetClassification, StickerAsset, StickerPack, StickerPackItem
    from catalog.services import curation

    StickerPack.objects.all().delete()
    StickerAsset.objects.all().delete()
    rng = random.Random(2)
    hashes = [rng.getrandbits(64) for _ in range(count)]
    step = len(THEMES)  # i and i - step share a theme: 1 % are near-duplicates of an earlier one
    for index in range(step * 100 + 1, count, 100):  # (+1: not the NSFW ones, every 50th)
        hashes[index] = hashes[index - step] ^ 0b11
    assets = StickerAsset.objects.bulk_create(
        [
            StickerAsset(
                sha256=f"{i:064x}",
                storage_key=f"stickers/c/{i}.webp",
                perceptual_hash=f"{h:016x}",
                width=512,
                height=512,
                size_bytes=20000,
            )
            for i, h in enumerate(hashes)
        ],  # fmt: skip
        batch_size=2000,
    )
    AssetClassification.objects.bulk_create(
        [
            AssetClassification(
                asset=a,
                category=THEMES[i % len(THEMES)],
                confidence=0.8,
                is_nsfw=i % 50 == 0,
                nsfw_score=0.9 if i % 50 == 0 else 0.0,
            )
            for i, a in enumerate(assets)
        ],  # fmt: skip
        batch_size=2000,
    )
    packs = StickerPack.objects.bulk_create(
        [
            StickerPack(pack_key=f"user-{p}", name=f"user pack {p}", visibility="public", status="published")
            for p in range((count + 29) // 30)
        ],  # fmt: skip
        batch_size=2000,
    )
    StickerPackItem.objects.bulk_create(
        [StickerPackItem(pack=packs[i // 30], asset=a, position=i % 30 + 1) for i, a in enumerate(assets)],
        batch_size=2000,
    )
    timings = {}
    for name, cycle in (("curation_first", curation.curation_cycle), ("curation_again", curation.curation_cycle),
                        ("rebuild", curation.rebuild_cycle)):  # fmt: skip
        started = time.perf_counter()
        result = cycle()
        timings[name] = {"seconds": round(time.perf_counter() - started, 2), "result": result}
    auto = StickerPack.objects.filter(is_auto_pack=True)
    timings["auto_packs"] = auto.count()
    timings["auto_items"] = StickerPackItem.objects.filter(pack__in=auto).count()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--curation-assets", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_bench_class")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    media = Path(tempfile.mkdtemp(prefix="packyard-classbench-"))
    os.environ["CURATION_ADD_BUDGET"] = str(args.curation_assets * 2)
    os.environ["REBUILD_REMOVE_BUDGET"] = str(args.curation_assets * 2)
    os.environ["LOG_LEVEL"] = "WARNING"
    setup_django(args.database_url, media, "")
    use_database(args.database_url)

    images = sticker_images(60)
    report = {"bench": "classification", "database": args.database_url.rsplit("@", 1)[-1], "cores": os.cpu_count()}
    report["classifier_one_thread"] = bench_classifier(images)
    print(f"built-in classifier, one thread: {report['classifier_one_thread']['per_minute']:,}/min")
    report["cycle"] = []
    for concurrency in args.concurrency:
        row = bench_cycle(images, args.assets, concurrency)
        report["cycle"].append(row)
        print(f"classification cycle, {row['assets']} assets, concurrency {concurrency}: "
              f"{row['per_minute']:,}/min ({row['seconds']} s, {row['failed']} failed)")  # fmt: skip
    report["curation"] = bench_curation(args.curation_assets)
    c = report["curation"]
    print(f"curation over {args.curation_assets:,} classified stickers: first {c['curation_first']['seconds']} s "
          f"({c['auto_packs']} auto packs, {c['auto_items']:,} items), again {c['curation_again']['seconds']} s, "
          f"rebuild {c['rebuild']['seconds']} s")  # fmt: skip
    line = json.dumps(report, default=str)
    print(line)
    if args.json_out:
        Path(args.json_out).write_text(line + "\n")


if __name__ == "__main__":
    main()
