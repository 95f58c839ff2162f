"""Object storage (SPEC §7) against the loopback S3 server (tests/s3server, `make s3server`):

    .venv/bin/python bench/object_storage_bench.py [--concurrency 50] [--duration 15]
        [--gunicorn-workers 2] [--threads 4] [--assets 5000] [--database-url sqlite:///... | mysql://...]
        [--json-out FILE]

1. Delivery latency of GET /api/sticker-packs/{key}/stickers/{id} behind gunicorn, closed loop at
   `--concurrency` keep-alive connections (bench/httpload.py), for the same kind of sticker
   served as local bytes (baseline: not synced) and as a 302 to a presigned URL (synced, owner
   admitted), in interleaved rounds. The redirect is not followed (the client would fetch the
   bytes from the store); a sequential sample of redirect-then-fetch is reported beside it.
2. Backfill rate: `sync_object_storage` over `--assets` assets (HEAD, PUT, HEAD-verify, mark), and
   as a baseline in the same run, bare PUTs of the same bytes with boto3 (no verification, no
   database).

The load client, gunicorn, the S3 server and the database share this machine's cores (and
other developers may be using them): compare the ratios, not the absolute figures.
"""

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog_bench import gunicorn, setup_django  # noqa: E402
from bench.httpload import ShardResult, run_load, summarize  # noqa: E402
from tests.s3server.launcher import ACCESS_KEY, REGION, SECRET_KEY, S3Server  # noqa: E402

BUCKET = "packyard-bench"
STICKERS_PER_SCENARIO = 30
ROUNDS = 3


def webp(n: int) -> bytes:
    """A sticker-like image (shapes on a transparent 512x512 canvas, lossy WebP, ~10-30 KB),
    different for every n."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(n)
    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(0, 448), rng.randrange(0, 448)
        w, h = rng.randrange(24, 200), rng.randrange(24, 200)
        draw.ellipse((x, y, x + w, y + h), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256), 255))
    draw.text((rng.randrange(20, 400), rng.randrange(20, 480)), f"#{n}", fill=(0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def make_assets(count: int, *, owner, offset: int) -> list:
    """`count` assets with distinct bytes in local storage, bulk-inserted."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from catalog.models import StickerAsset
    from catalog.services.assets import asset_storage_key

    rows = []
    for n in range(offset, offset + count):
        data = webp(n)
        sha = hashlib.sha256(data).hexdigest()
        key = asset_storage_key(sha)
        default_storage.save(key, ContentFile(data))
        rows.append(StickerAsset(sha256=sha, storage_key=key, size_bytes=len(data), owner=owner, width=512, height=512))
    return StickerAsset.objects.bulk_create(rows, batch_size=1000)


def make_pack(owner, asset_list, name: str):
    from catalog.models import AssetClassification, StickerPack, StickerPackItem

    pack = StickerPack.objects.create(
        pack_key=name, name=name, owner=owner, status="published", visibility="public", pack_status="ready"
    )
    StickerPackItem.objects.bulk_create(
        [StickerPackItem(pack=pack, asset=asset, position=i) for i, asset in enumerate(asset_list, start=1)]
    )
    AssetClassification.objects.bulk_create(
        [AssetClassification(asset=a, category="shapes", confidence=0.9, is_nsfw=False) for a in asset_list]
    )
    return pack


def delivery(args, db_url: str, media_root: Path, log_path: Path) -> dict:
    from django.contrib.auth import get_user_model

    from catalog.services.assets import asset_object_sync
    from flags.services import flag_set

    owner = get_user_model().objects.create_user(username="bench-owner", password="bench-password-123")
    flag_set(name="enable_object_storage_delivery", is_enabled=True, rollout_percent=100)
    local_assets = make_assets(STICKERS_PER_SCENARIO, owner=owner, offset=1_000_000)
    signed_assets = make_assets(STICKERS_PER_SCENARIO, owner=owner, offset=2_000_000)
    for asset in signed_assets:
        asset_object_sync(asset)
    local_pack = make_pack(owner, local_assets, "bench-local")
    signed_pack = make_pack(owner, signed_assets, "bench-signed")
    paths = {
        "local": [f"/api/sticker-packs/{local_pack.pack_key}/stickers/{a.id}.webp" for a in local_assets],
        "redirect": [f"/api/sticker-packs/{signed_pack.pack_key}/stickers/{a.id}.webp" for a in signed_assets],
    }
    results = {}
    with gunicorn(
        db_url, media_root, workers=args.gunicorn_workers, threads=args.threads, cache_url="", log_path=log_path
    ) as port:
        merged = {"local": ShardResult(), "redirect": ShardResult()}
        for _ in range(ROUNDS):  # interleaved, so a burst of load from elsewhere hits both alike
            for name in merged:
                result = run_load(
                    "127.0.0.1", port, paths[name], concurrency=args.concurrency, duration=args.duration / ROUNDS
                )
                window = merged[name].window_seconds + result.window_seconds
                merged[name].merge(result)
                merged[name].window_seconds = window
        for name, expected in (("local", 200), ("redirect", 302)):
            result = merged[name]
            summary = summarize(result)
            summary["statuses"] = {str(k): v for k, v in result.statuses.items()}
            summary["unexpected"] = sum(v for k, v in result.statuses.items() if k != expected) + sum(
                result.exceptions.values()
            )
            del summary["errors"], summary["error_detail"]
            results[name] = summary
        results["redirect_then_fetch_sequential"] = follow_sample(port, paths["redirect"])
    results["redirect_vs_local_p50"] = round(results["redirect"]["p50_ms"] / max(results["local"]["p50_ms"], 0.01), 2)
    results["redirect_vs_local_p95"] = round(results["redirect"]["p95_ms"] / max(results["local"]["p95_ms"], 0.01), 2)
    return results


def follow_sample(port: int, paths: list[str], rounds: int = 5) -> dict:
    """One client, sequential: our 302, then the bytes from the store (what a browser does)."""
    latencies = []
    for _ in range(rounds):
        for path in paths:
            started = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
                response.read()
                assert response.status == 200
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
    }


def backfill(args) -> dict:
    import boto3
    from botocore.config import Config
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from catalog.models import StickerAsset
    from catalog.services import objectstore

    owner = get_user_model().objects.create_user(username="bench-backfill", password="bench-password-123")
    started = time.perf_counter()
    made = make_assets(args.assets, owner=owner, offset=0)
    build_seconds = time.perf_counter() - started

    client = boto3.client(
        "s3",
        endpoint_url=os.environ["OBJECT_STORAGE_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    from django.core.files.storage import default_storage

    started = time.perf_counter()
    for asset in made:
        with default_storage.open(asset.storage_key, "rb") as handle:
            client.put_object(Bucket=BUCKET, Key=f"baseline/{asset.sha256}.webp", Body=handle.read())
    raw_seconds = time.perf_counter() - started

    stdout = io.StringIO()
    started = time.perf_counter()
    call_command("sync_object_storage", "--batch-size", "200", stdout=stdout, verbosity=0)
    sync_seconds = time.perf_counter() - started
    remaining = StickerAsset.objects.filter(owner=owner, object_storage_synced_at__isnull=True).count()
    assert remaining == 0, stdout.getvalue()
    checked = objectstore.head(made[-1].storage_key)
    assert checked is not None and checked.size == made[-1].size_bytes

    started = time.perf_counter()
    call_command("sync_object_storage", stdout=io.StringIO(), verbosity=0)
    second_seconds = time.perf_counter() - started
    return {
        "assets": len(made),
        "build_seconds": round(build_seconds, 1),
        "sync_seconds": round(sync_seconds, 2),
        "sync_objects_per_second": round(len(made) / sync_seconds, 1),
        "baseline_bare_put_objects_per_second": round(len(made) / raw_seconds, 1),
        "sync_vs_bare_put": round((len(made) / sync_seconds) / (len(made) / raw_seconds), 2),
        "second_run_seconds": round(second_seconds, 2),
        "summary": stdout.getvalue().strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--assets", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="packyard-object-bench-"))
    media_root = work / "media"
    db_url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    server = S3Server(work / "s3", buckets=[BUCKET]).start()
    try:
        os.environ.update(
            {
                "OBJECT_STORAGE_BUCKET": BUCKET,
                "OBJECT_STORAGE_ENDPOINT_URL": server.endpoint_url,
                "OBJECT_STORAGE_ACCESS_KEY_ID": ACCESS_KEY,
                "OBJECT_STORAGE_SECRET_ACCESS_KEY": SECRET_KEY,
                "OBJECT_STORAGE_REGION": REGION,
                "OBJECT_STORAGE_PATH_STYLE": "true",
                "OBJECT_STORAGE_SYNC_SWEEP_CADENCE_SECONDS": "0",
            }
        )
        setup_django(db_url, media_root, "")
        from django.core.management import call_command

        if db_url.startswith("mysql"):
            from bench.catalog_bench import use_database

            use_database(db_url)
        else:
            call_command("migrate", verbosity=0)
        report = {
            "machine": f"{os.cpu_count()} cores shared by the load client, gunicorn, the S3 server and the "
            "database, and by other developers' work at the same time",
            "database": db_url.split(":", 1)[0],
            "concurrency": args.concurrency,
            "gunicorn": {"workers": args.gunicorn_workers, "threads": args.threads},
            "delivery": delivery(args, db_url, media_root, work / "gunicorn.log"),
            "backfill": backfill(args),
        }
    finally:
        server.stop()
    d, b = report["delivery"], report["backfill"]
    print(f"== object storage bench ({report['machine']}) ==")
    for name in ("local", "redirect"):
        row = d[name]
        print(
            f"  {name:8s} c={args.concurrency}: p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  "
            f"{row['rps']} req/s  unexpected {row['unexpected']}  statuses {row['statuses']}"
        )
    print(f"  redirect/local: p50 x{d['redirect_vs_local_p50']}  p95 x{d['redirect_vs_local_p95']}")
    seq = d["redirect_then_fetch_sequential"]
    print(f"  redirect + fetch from the store, one client: p50 {seq['p50_ms']} ms  p95 {seq['p95_ms']} ms")
    print(
        f"  backfill {b['assets']} assets: {b['sync_objects_per_second']} objects/s ({b['sync_seconds']} s); "
        f"bare PUT baseline {b['baseline_bare_put_objects_per_second']} objects/s; ratio x{b['sync_vs_bare_put']}; "
        f"second run {b['second_run_seconds']} s"
    )
    print(json.dumps(report, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
