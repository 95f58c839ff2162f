"""Public catalog API under load on MariaDB/MySQL behind gunicorn: list and detail latency and
throughput at a given concurrency, and the number of SQL queries per request.

    .venv/bin/python bench/catalog_bench.py [--packs 100000] [--items-per-pack 6]
        [--database-url mysql://root@127.0.0.1:3306/packyard_bench] [--concurrency 200] [--duration 20]
        [--gunicorn-workers 4] [--threads 4] [--client-procs 1] [--skip-build] [--compare 10000 ...]
        [--grow] [--replicate-from BASE] [--sweep-seconds S]
        [--json-out FILE] [--loadtest-out DIR] [--render-cpu ROUNDS] [--no-load]

Builds a synthetic catalog with bulk_create (users, assets, packs with 1..k items, engagement,
classifications, one ranking snapshot per listed pack), starts gunicorn on a free port and
runs closed-loop keep-alive load (bench/httpload.py) against:

    list    GET /api/sticker-packs?sort=ranking|trending|recent|likes&limit=24&offset=0..240
            (plus one cursor continuation per sort when the API returns pagination.next_cursor)
    detail  GET /api/sticker-packs/<pack_key> over 2,000 random listed packs

`--render-cpu ROUNDS` measures the server's CPU per request in-process (Django's test client through
the whole middleware stack, the anonymous read cache off, so every request renders): ROUNDS rounds,
each of a batch of bare `/healthz` requests (the baseline), a batch of list pages and a batch of
details, interleaved so a change in the machine's load hits all three alike. It prints CPU ms per
request (time.process_time of this process: the database server's CPU is not in it) and the
ratios list/healthz and detail/healthz (medians over the rounds). `--no-load` skips gunicorn.

`--loadtest-out DIR` also runs `manage.py loadtest`'s load (ops.loadtest) over lists and details
mixed and writes its JSON and self-contained HTML reports there. `--compare N [N ...]` repeats everything with N-pack catalogs in databases `<name>_<N>`, so
latency can be compared across catalog sizes. `--grow` benches all the sizes in one database
instead, smallest first, growing it between sizes by SQL copies of the smallest (replicate_catalog:
1,000,000 packs x 6 items in minutes; `--replicate-from BASE` picks another base; a database an
earlier run left bigger than the smallest size is emptied and grown again). `--sweep-seconds S`
times the snapshot sweep's refresh pass for S seconds per size (rows/s, projected full sweep). `--skip-build` reuses a catalog whose pack count
already matches, and resumes one that has fewer packs (an interrupted build, or a smaller catalog
of the same seed: pack n is the same pack at every size). The load client and gunicorn share the machine's cores.
"""

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.httpload import run_load, summarize  # noqa: E402
from bench.queue_bench import mysql_admin, with_db  # noqa: E402

SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
LIST_PATH = "/api/sticker-packs"
SORTS = ("ranking", "trending", "recent", "likes")
PAGE_SIZE = 24
MAX_OFFSET = 240
DETAIL_SAMPLE = 2_000
USERS = 300
BATCH_SIZE = 5_000
UNLISTED_SHARE = 0.02
SENSITIVE_SHARE = 0.01
CLASSIFIED_SHARE = 0.4

ADJECTIVES = ["Happy", "Sleepy", "Retro", "Pixel", "Cosmic", "Tiny", "Spicy", "Rainy", "Golden", "Neon", "Lazy"]
NOUNS = ["Cats", "Coffee", "Shapes", "Party", "Days", "Doodles", "Office", "Garden", "Hearts", "Beach", "Nights"]
TAGS = ["cats", "cute", "animals", "coffee", "memes", "love", "party", "space", "work", "nature", "pixel", "retro"]
CATEGORIES = ["animal", "food", "person", "text", "object", "emoji", "scene"]
EMOJIS = ["😺", "☕", "🔷", "🎉", "🌧", "🚀", "💼", "🌱", "❤", "🏖", "🌙", "🌶"]
PUBLISHERS = [f"Studio {n}" for n in range(60)]


# --- environment and Django ------------------------------------------------------------


def django_env(database_url: str, media_root: Path) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PACKYARD_ENV_FILE": "",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        # The bench speaks plain HTTP to its own gunicorn (production redirects to HTTPS).
        "SECURE_SSL_REDIRECT": "false",
    }
    env.pop("DEBUG", None)
    return env


def setup_django(database_url: str, media_root: Path, cache_url: str) -> None:
    os.environ.update(django_env(database_url, media_root))
    os.environ.pop("DEBUG", None)
    if cache_url:
        os.environ["CACHE_URL"] = cache_url
    import django

    django.setup()


def db_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def use_database(url: str) -> None:
    """Point this process's default connection at the database of `url` (same server) and migrate."""
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connections

    mysql_admin(url, f"CREATE DATABASE IF NOT EXISTS `{db_name(url)}` CHARACTER SET utf8mb4")
    connections.close_all()
    connections["default"].settings_dict["NAME"] = db_name(url)
    cache.clear()
    call_command("migrate", verbosity=0)


# --- catalog builder -------------------------------------------------------------------


@dataclass
class Build:
    """Rows of one chunk of packs, in insertion order (a pack's cover and items need its assets)."""

    rows: dict = field(default_factory=dict)

    def add(self, obj) -> None:
        self.rows.setdefault(type(obj), []).append(obj)


def snapshot_copied_fields() -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Denormalised snapshot columns: {snapshot attname: ("pack"|"engagement", source attname)},
    and the names of columns with no source (left at their default). The builder computes the
    scored columns itself (catalog.services.snapshots.SCORED_FIELDS)."""
    from catalog.models import PackEngagement, PackScoreSnapshot, StickerPack
    from catalog.services.snapshots import SCORED_FIELDS

    computed = {"id", "pack", *SCORED_FIELDS}

    sources = {
        "engagement": {f.attname for f in PackEngagement._meta.concrete_fields if f.attname.endswith("_count")},
        "pack": {f.attname for f in StickerPack._meta.concrete_fields if f.attname != "id"},
    }
    copied, unmatched = {}, []
    for f in PackScoreSnapshot._meta.concrete_fields:
        if f.name in computed:
            continue
        candidates = (f.attname, f.attname.removeprefix("pack_"))
        match = next(
            ((source, name) for name in candidates for source in ("engagement", "pack") if name in sources[source]),
            None,
        )
        if match:
            copied[f.attname] = match
        else:
            unmatched.append(f.name)
    return copied, unmatched


@dataclass
class InsertStats:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, table: str, rows: int, seconds: float) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.seconds[table] = self.seconds.get(table, 0.0) + seconds

    def merge(self, other: "InsertStats") -> None:
        for table, rows in other.rows.items():
            self.add(table, rows, other.seconds[table])


_BUILDER = None  # the builder a forked build process works for


def _build_chunk(first: int) -> InsertStats:
    return _BUILDER.build_chunk(first)


class CatalogBuilder:
    """Writes `packs` packs of `items_per_pack` items, in chunks of BATCH_SIZE items, with
    explicit ids (pack n has assets (n-1)*k+1 ..) so chunks are independent and can be built by
    several processes; each chunk has its own seeded random source."""

    def __init__(self, *, packs: int, items_per_pack: int, seed: int, procs: int):
        from django.utils import timezone

        self.packs = packs
        self.k = items_per_pack
        self.seed = seed
        self.procs = max(1, procs)
        self.rng = random.Random(seed)  # reseeded per chunk
        self.now = timezone.now()
        self.snapshot_copied, self.snapshot_unmatched = snapshot_copied_fields()
        self.user_ids: list[int] = []
        self.stats = InsertStats()

    def wipe(self) -> None:
        from django.apps import apps
        from django.contrib.auth import get_user_model
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET FOREIGN_KEY_CHECKS=0")
            for model in apps.get_app_config("catalog").get_models():
                cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(model._meta.db_table)}")
            cursor.execute("SET FOREIGN_KEY_CHECKS=1")
        get_user_model().objects.filter(username__startswith="bench-").delete()

    def create_users(self) -> None:
        from django.contrib.auth import get_user_model

        User = get_user_model()
        self.insert([User(username=f"bench-{n:04d}", password="!bench") for n in range(USERS)], self.stats)
        self.user_ids = list(User.objects.filter(username__startswith="bench-").values_list("id", flat=True))

    @staticmethod
    def insert(objs: list, stats: InsertStats) -> None:
        if not objs:
            return
        start = time.perf_counter()
        type(objs[0]).objects.bulk_create(objs, batch_size=BATCH_SIZE)
        stats.add(objs[0]._meta.db_table, len(objs), time.perf_counter() - start)

    def add_pack(self, build: Build, n: int) -> None:
        """Pack `n` (also its id) with its assets (ids (n-1)*k+1 ..), items, engagement, snapshot."""
        from catalog.models import (
            AssetClassification,
            PackEngagement,
            StickerAsset,
            StickerPack,
            StickerPackItem,
        )
        from catalog.services.assets import asset_storage_key

        rng = self.rng
        owner_id = rng.choice(self.user_ids)
        sensitive = rng.random() < SENSITIVE_SHARE
        published_at = self.now - timedelta(days=rng.uniform(0, 365) ** 1.3 / 365**0.3)
        content_updated_at = published_at + (self.now - published_at) * rng.random() * 0.3
        first_asset_id = (n - 1) * self.k + 1
        for position in range(1, self.k + 1):
            asset_id = first_asset_id + position - 1
            sha256 = hashlib.sha256(f"bench-asset-{asset_id}".encode()).hexdigest()
            build.add(
                StickerAsset(
                    id=asset_id,
                    sha256=sha256,
                    owner_id=owner_id,
                    is_animated=rng.random() < 0.05,
                    width=512,
                    height=512,
                    size_bytes=rng.randrange(8_000, 60_000),
                    storage_key=asset_storage_key(sha256),
                    perceptual_hash=f"{rng.getrandbits(64):016x}",
                    created_at=published_at,
                )
            )
            if rng.random() < CLASSIFIED_SHARE:
                nsfw_score = rng.uniform(0.6, 0.99) if sensitive else rng.uniform(0, 0.2)
                category = rng.choice(CATEGORIES)
                confidence = rng.uniform(0.5, 0.99)
                build.add(
                    AssetClassification(
                        asset_id=asset_id,
                        model_name="bench",
                        category=category,
                        confidence=confidence,
                        nsfw_score=nsfw_score,
                        is_nsfw=nsfw_score > 0.8,
                        all_scores={category: round(confidence, 3)},
                        tags=rng.sample(TAGS, 2),
                        classified_at=published_at,
                    )
                )
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n}"
        pack = StickerPack(
            id=n,
            pack_key=f"bench-{n:07d}",
            owner_id=owner_id,
            name=name,
            publisher=rng.choice(PUBLISHERS),
            description=f"{name}: a synthetic bench pack.",
            tags=rng.sample(TAGS, rng.randint(1, 3)),
            visibility=(
                StickerPack.Visibility.UNLISTED if rng.random() < UNLISTED_SHARE else StickerPack.Visibility.PUBLIC
            ),
            status=StickerPack.Status.PUBLISHED,
            pack_status=StickerPack.PackStatus.READY,
            cover_id=first_asset_id,
            is_sensitive=sensitive,
            created_at=published_at - timedelta(hours=rng.uniform(0, 48)),
            updated_at=content_updated_at,
            content_updated_at=content_updated_at,
            published_at=published_at,
        )
        build.add(pack)
        for position in range(1, self.k + 1):
            build.add(
                StickerPackItem(
                    pack_id=n,
                    asset_id=first_asset_id + position - 1,
                    position=position,
                    emojis=[rng.choice(EMOJIS)],
                    accessibility_label=f"{name} #{position}",
                    created_at=content_updated_at,
                )
            )
        opens = int(rng.lognormvariate(4, 1.6))
        engagement = PackEngagement(
            pack_id=n,
            open_count=opens,
            like_count=int(opens * rng.uniform(0, 0.3)),
            dislike_count=int(opens * rng.uniform(0, 0.03)),
            download_count=int(opens * rng.uniform(0, 0.5)),
            updated_at=self.now,
        )
        build.add(engagement)
        if pack.visibility == StickerPack.Visibility.PUBLIC:
            build.add(self.snapshot(pack, engagement))

    def snapshot(self, pack, engagement):
        from catalog.models import NsfwLevel, PackScoreSnapshot

        rng = self.rng
        age_days = (self.now - pack.content_updated_at).total_seconds() / 86400
        engagement_score = min(
            1.0, math.log1p(engagement.like_count * 3 + engagement.download_count + engagement.open_count * 0.2) / 10
        )
        scores = {
            "quality": rng.uniform(0.3, 0.95),
            "engagement": engagement_score,
            "diversity": rng.uniform(0.2, 0.9),
            "cohesion": rng.uniform(0.3, 0.95),
        }
        pack_score = (
            0.4 * scores["quality"] + 0.4 * scores["engagement"] + 0.1 * scores["diversity"] + 0.1 * scores["cohesion"]
        )
        nsfw_level = NsfwLevel.SAFE
        if pack.is_sensitive:
            nsfw_level = NsfwLevel.EXPLICIT if rng.random() < 0.3 else NsfwLevel.SUGGESTIVE
        snapshot = PackScoreSnapshot(
            pack_id=pack.id,
            ranking_score=pack_score / (1 + age_days / 90),
            pack_score=pack_score,
            trend_score=engagement_score * math.exp(-age_days / 14) + rng.uniform(0, 0.02),
            quality_score=scores["quality"],
            engagement_score=engagement_score,
            diversity_score=scores["diversity"],
            cohesion_score=scores["cohesion"],
            nsfw_level=nsfw_level,
            sensitive_content=pack.is_sensitive,
            sticker_count=self.k,
            tags=pack.tags,
            scores={key: round(value, 4) for key, value in scores.items()},
            source_version=pack.version,
            refreshed_at=self.now,
        )
        sources = {"pack": pack, "engagement": engagement}
        for attname, (source, source_attname) in self.snapshot_copied.items():
            setattr(snapshot, attname, getattr(sources[source], source_attname))
        return snapshot

    @property
    def chunk(self) -> int:
        return max(1, BATCH_SIZE // self.k)

    def build_chunk(self, first: int) -> InsertStats:
        from django.db import transaction

        self.rng = random.Random(f"{self.seed}:{first}")
        build = Build()
        for n in range(first, min(first + self.chunk, self.packs + 1)):
            self.add_pack(build, n)
        stats = InsertStats()
        with transaction.atomic():
            for objs in build.rows.values():
                self.insert(objs, stats)
        return stats

    def chunk_results(self, firsts: list[int]):
        """InsertStats of the chunks starting at `firsts`, as they finish (in forked processes when
        procs > 1)."""
        global _BUILDER
        if self.procs == 1:
            yield from map(self.build_chunk, firsts)
            return
        from django.db import connections

        connections.close_all()  # each process opens its own connection
        _BUILDER = self
        with get_context("fork").Pool(self.procs) as pool:
            yield from pool.imap_unordered(_build_chunk, firsts)

    def build(self, *, resume: bool = False) -> dict:
        """Write the catalog. `resume`: keep what an interrupted build of the same size and seed
        wrote (each chunk is one transaction, so a chunk whose first pack exists is complete) and
        write the rest."""
        from django.contrib.auth import get_user_model
        from django.db import connection

        from catalog.models import StickerPack

        start = time.perf_counter()
        firsts = list(range(1, self.packs + 1, self.chunk))
        users = get_user_model().objects.filter(username__startswith="bench-")
        if resume and users.count() == USERS:
            self.user_ids = list(users.values_list("id", flat=True))
            present = set(StickerPack.objects.filter(id__in=firsts).values_list("id", flat=True))
            firsts = [first for first in firsts if first not in present]
            print(f"  resuming: {len(present):,} chunks present, {len(firsts):,} to write", flush=True)
        else:
            self.wipe()
            self.create_users()
        pack_table = StickerPack._meta.db_table
        done = 0
        for stats in self.chunk_results(firsts):
            self.stats.merge(stats)
            done += stats.rows[pack_table]
            if done % (self.chunk * 10) < self.chunk or done == self.packs:
                print(f"  built {done:,}/{self.packs:,} packs ({time.perf_counter() - start:.0f} s)", flush=True)
        with connection.cursor() as cursor:
            for table in self.stats.rows:
                cursor.execute(f"ANALYZE TABLE {connection.ops.quote_name(table)}")
                cursor.fetchall()
        return {
            "seconds": round(time.perf_counter() - start, 1),
            "processes": self.procs,
            "rows": self.stats.rows,
            "insert_seconds": {table: round(s, 1) for table, s in self.stats.seconds.items()},
            "snapshot_copied_fields": {name: ".".join(source) for name, source in self.snapshot_copied.items()},
            "snapshot_default_fields": self.snapshot_unmatched,
        }


def replicate_catalog(*, base: int, packs: int, items_per_pack: int) -> dict:
    """Grow a catalog whose first `base` packs were built by CatalogBuilder to `packs` packs, in
    SQL: block b (1, 2, ...) is one INSERT ... SELECT per table copying packs 1..base (with their
    assets, classifications, items, engagement and snapshot) to ids shifted by b x base (assets by
    b x base x k), with new unique keys (pack_key bench-NNNNNNN, sha256 and storage key of the new
    asset id). Pack n + b x base is pack n's copy: the seeded base's distribution, at any size, in
    minutes (the database does the work). One transaction per block; a block whose first pack
    exists is skipped, so an interrupted run resumes."""
    from django.db import connection, transaction

    from catalog.models import (
        AssetClassification,
        PackEngagement,
        PackScoreSnapshot,
        StickerAsset,
        StickerPack,
        StickerPackItem,
    )

    if packs % base:
        raise BenchError(f"--packs {packs} is not a multiple of the replicated base {base}")
    qn = connection.ops.quote_name
    k = items_per_pack
    sha = "SHA2(CONCAT('bench-asset-', id + {ao}), 256)"
    overrides = {
        StickerAsset: {
            "sha256": sha,
            "storage_key": f"CONCAT('stickers/', LEFT({sha}, 2), '/', {sha}, '.webp')",
        },
        StickerPack: {"pack_key": "CONCAT('bench-', LPAD(id + {po}, 7, '0'))"},
    }
    where = {
        StickerAsset: f"id <= {base * k}",
        AssetClassification: f"asset_id <= {base * k}",
        StickerPack: f"id <= {base}",
        StickerPackItem: f"pack_id <= {base}",
        PackEngagement: f"pack_id <= {base}",
        PackScoreSnapshot: f"pack_id <= {base}",
    }
    statements = []
    for model, condition in where.items():
        columns, exprs = [], []
        for f in model._meta.concrete_fields:
            if f.primary_key and model not in (StickerAsset, StickerPack):
                continue  # a new auto id
            expr = overrides.get(model, {}).get(f.attname, qn(f.column))
            if f.primary_key:
                expr = f"id + {{{'ao' if model is StickerAsset else 'po'}}}"
            elif f.related_model is StickerPack:
                expr = f"{qn(f.column)} + {{po}}"
            elif f.related_model is StickerAsset:
                expr = f"{qn(f.column)} + {{ao}}"
            columns.append(qn(f.column))
            exprs.append(expr)
        table = qn(model._meta.db_table)
        statements.append(
            (
                table,
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM {table} WHERE {condition}",
            )
        )
    start = time.perf_counter()
    blocks = range(1, packs // base)
    present = set(StickerPack.objects.filter(id__in=[b * base + 1 for b in blocks]).values_list("id", flat=True))
    todo = [b for b in blocks if b * base + 1 not in present]
    print(f"  replicating {base:,} packs: {len(todo):,} of {len(blocks):,} blocks to write", flush=True)
    for done, b in enumerate(todo, 1):
        with transaction.atomic(), connection.cursor() as cursor:
            for _, sql in statements:
                cursor.execute(sql.format(po=b * base, ao=b * base * k))
        if done % 10 == 0 or done == len(todo):
            print(f"  replicated {done:,}/{len(todo):,} blocks ({time.perf_counter() - start:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        for table, _ in statements:
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    return {"base": base, "blocks_written": len(todo), "seconds": round(time.perf_counter() - start, 1)}


def resync_snapshot_columns() -> dict[str, str]:
    """Bring a reused catalog's snapshots up to date: copy the denormalised columns again (it may
    predate them) and mark them fresh, as the periodic sweep keeps them in production
    (SNAPSHOT_SWEEP_CADENCE_SECONDS 600 < SNAPSHOT_MAX_STALENESS_SECONDS 900). Stale snapshots
    would send every detail request down the live-computation path."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import PackEngagement, PackScoreSnapshot, StickerPack

    copied, _ = snapshot_copied_fields()
    qn = connection.ops.quote_name
    tables = {"pack": StickerPack._meta.db_table, "engagement": PackEngagement._meta.db_table}
    assignments = [f"s.{qn(name)} = {source[0]}.{qn(source[1])}" for name, source in copied.items()]
    assignments += ["s.refreshed_at = %s", "s.source_version = pack.version"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(PackScoreSnapshot._meta.db_table)} s "
            f"JOIN {qn(tables['pack'])} pack ON pack.id = s.pack_id "
            f"JOIN {qn(tables['engagement'])} engagement ON engagement.pack_id = s.pack_id "
            f"SET {', '.join(assignments)}",
            [timezone.now()],
        )
    return {name: ".".join(source) for name, source in copied.items()}


def prepare_catalog(
    url: str, *, packs: int, items_per_pack: int, skip_build: bool, seed: int, build_procs: int, replicate: int = 0
) -> dict:
    """The catalog of `packs` packs in the database of `url`: reused (--skip-build, same count),
    resumed, or built; with `replicate` (a base size dividing `packs`), the base is built and the
    rest copied from it in SQL (replicate_catalog)."""
    from django.db import connections

    from catalog.models import StickerPack

    use_database(url)
    existing = StickerPack.objects.count()
    if skip_build and existing > packs and replicate:
        # A grown run left it bigger than this (the smallest) size: a bench database, start it again.
        print(f"catalog: {db_name(url)} holds {existing:,} packs (> {packs:,}): emptied to grow it again", flush=True)
        connections.close_all()
        mysql_admin(url, f"DROP DATABASE `{db_name(url)}`")
        use_database(url)
        existing = 0
    if replicate and replicate < packs:
        base = (
            {"reused": True}
            if skip_build and existing >= replicate
            else prepare_catalog(
                url,
                packs=replicate,
                items_per_pack=items_per_pack,
                skip_build=skip_build,
                seed=seed,
                build_procs=build_procs,
            )
        )
        copied = replicate_catalog(base=replicate, packs=packs, items_per_pack=items_per_pack)
        resync_snapshot_columns()
        print(f"catalog: {StickerPack.objects.count():,} packs in {db_name(url)} ({copied})", flush=True)
        return {"reused": False, "base": base, "replicated": copied}
    if skip_build and existing == packs:
        copied = resync_snapshot_columns()
        print(f"catalog: reusing {existing:,} packs in {db_name(url)}" + (f", re-copied {copied}" if copied else ""))
        return {"reused": True, "seconds": 0.0, "snapshot_copied_fields": copied}
    print(f"catalog: building {packs:,} packs x {items_per_pack} items in {db_name(url)}", flush=True)
    builder = CatalogBuilder(packs=packs, items_per_pack=items_per_pack, seed=seed, procs=build_procs)
    # A smaller catalog of the same shape is the start of a bigger one (pack n is the same pack).
    result = builder.build(resume=skip_build and 0 < existing <= packs)
    rows = ", ".join(f"{table} {count:,}" for table, count in result["rows"].items())
    print(f"catalog: built in {result['seconds']:.1f} s ({rows})")
    if result["snapshot_copied_fields"]:
        print(f"  snapshot columns copied from pack/engagement: {result['snapshot_copied_fields']}")
    if result["snapshot_default_fields"]:
        print(f"  snapshot columns left at their default: {result['snapshot_default_fields']}")
    return {"reused": False, **result}


def sweep_cost(*, seconds: float) -> dict:
    """The snapshot sweep's refresh pass (snapshot_refresh over the listed packs by id, in the
    sweep's batches) run for `seconds`: rows/s, the full sweep's projected duration at this size,
    and the staleness that leaves at worst. Each batch is stamped when it is computed, and a sweep
    is queued every SNAPSHOT_SWEEP_CADENCE_SECONDS (one after the other when one outlasts that), so a
    snapshot waits for the next sweep to reach it: max(cadence, full sweep) plus one batch."""
    from django.conf import settings

    from catalog.selectors import pack_listed_queryset
    from catalog.services.snapshots import SWEEP_BATCH_SIZE, snapshot_refresh

    listed = pack_listed_queryset().count()
    start = time.perf_counter()
    last_id, rows = 0, 0
    while time.perf_counter() - start < seconds:
        ids = list(
            pack_listed_queryset().filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[:SWEEP_BATCH_SIZE]
        )
        if not ids:
            break
        rows += snapshot_refresh(ids)["refreshed"]
        last_id = ids[-1]
    elapsed = time.perf_counter() - start
    rate = rows / elapsed if elapsed else 0.0
    full = listed / rate if rate else None
    result = {
        "listed_packs": listed,
        "rows_refreshed": rows,
        "seconds": round(elapsed, 1),
        "rows_per_second": round(rate, 1),
        "projected_full_sweep_seconds": round(full, 1) if full else None,
        "worst_staleness_seconds": (
            round(max(full, settings.SNAPSHOT_SWEEP_CADENCE_SECONDS) + SWEEP_BATCH_SIZE / rate, 1) if full else None
        ),
        "max_staleness_setting_seconds": settings.SNAPSHOT_MAX_STALENESS_SECONDS,
    }
    print(
        f"snapshot sweep: {rows:,} rows in {elapsed:.1f} s = {rate:,.0f} rows/s; full sweep of {listed:,} listed "
        f"packs ~{full or 0:,.0f} s, worst staleness ~{result['worst_staleness_seconds']} s "
        f"(SNAPSHOT_MAX_STALENESS_SECONDS {settings.SNAPSHOT_MAX_STALENESS_SECONDS})",
        flush=True,
    )
    return result


def webp_bytes() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((40, 40, 472, 472), fill=(250, 180, 40, 255), outline=(40, 40, 40, 255), width=14)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=80)
    return out.getvalue()


def write_media(media_root: Path, count: int) -> int:
    """One real 512x512 WebP under the storage keys of the first `count` assets."""
    from catalog.models import StickerAsset

    data = webp_bytes()
    keys = StickerAsset.objects.order_by("id").values_list("storage_key", flat=True)[:count]
    for key in keys:
        path = media_root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(keys)


def sample_pack_keys(count: int, seed: int) -> list[str]:
    from catalog.selectors import pack_listed_queryset

    keys = list(pack_listed_queryset().order_by("pack_key").values_list("pack_key", flat=True))
    return random.Random(seed).sample(keys, min(count, len(keys)))


# --- queries per request ---------------------------------------------------------------


def short_sql(sql: str) -> str:
    """The statement with its leading column list elided, at most 1,500 characters."""
    return re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", sql, count=1, flags=re.S)[:1500]


def query_counts(pack_key: str) -> dict:
    """SQL queries of one warm request (the same request is made once before, to warm caches),
    with the anonymous read cache off: these are the queries of a request that misses it."""
    from django.test import override_settings

    with override_settings(API_ANONYMOUS_CACHE_SECONDS=0):
        return _query_counts(pack_key)


def _query_counts(pack_key: str) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    cases = {
        "list_limit_24": f"{LIST_PATH}?sort=ranking&limit=24&offset=0",
        "list_limit_60": f"{LIST_PATH}?sort=ranking&limit=60&offset=0",
        "detail": f"{LIST_PATH}/{pack_key}",
    }
    counts = {}
    for label, path in cases.items():
        try:
            client.get(path)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
        except Exception as exc:  # the API may not be importable yet; report instead of failing
            counts[label] = {"path": path, "status": None, "queries": None, "error": f"{type(exc).__name__}: {exc}"}
            continue
        counts[label] = {"path": path, "status": response.status_code, "queries": len(captured)}
        if response.status_code == 200 and label.startswith("list"):
            counts[label]["items"] = len(response.json().get("data", []))
        counts[label]["sql"] = [short_sql(q["sql"]) for q in captured.captured_queries]
    return counts


# --- server CPU per request, in-process ------------------------------------------------


def render_cpu(keys: list[str], *, rounds: int, batch: int = 50) -> dict:
    """CPU ms per request of /healthz, list pages and details through Django's test client (the
    whole middleware stack in this process, the anonymous read cache off), over `rounds`
    interleaved rounds of `batch` requests each; medians of the per-round figures and ratios."""
    from django.test import override_settings

    with override_settings(API_ANONYMOUS_CACHE_SECONDS=0, API_ANONYMOUS_LOCAL_SECONDS=0):
        return _render_cpu(keys, rounds=rounds, batch=batch)


def _render_cpu(keys: list[str], *, rounds: int, batch: int) -> dict:
    import statistics

    from django.test import Client

    client = Client(raise_request_exception=True)
    lists = [f"{LIST_PATH}?sort={sort}&limit={PAGE_SIZE}&offset={offset}" for offset in (0, 24, 48) for sort in SORTS]
    cases = {
        "healthz": ["/healthz"],
        "list": lists,
        "detail": [f"{LIST_PATH}/{key}" for key in keys[:200]],
    }
    for paths in cases.values():  # warm: imports, flag cache, prepared statements, the OS page cache
        for path in paths[:20]:
            assert client.get(path).status_code == 200, path
    per_round: dict[str, list[float]] = {name: [] for name in cases}
    wall: dict[str, list[float]] = {name: [] for name in cases}
    position = 0
    for _ in range(rounds):
        for name, paths in cases.items():
            chosen = [paths[(position + i) % len(paths)] for i in range(batch)]
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for path in chosen:
                response = client.get(path)
                if response.status_code != 200:
                    raise BenchError(f"{path}: HTTP {response.status_code}")
            per_round[name].append((time.process_time() - cpu_start) * 1000 / batch)
            wall[name].append((time.perf_counter() - wall_start) * 1000 / batch)
        position += batch
    result = {
        "rounds": rounds,
        "batch": batch,
        "cpu_ms": {name: round(statistics.median(values), 3) for name, values in per_round.items()},
        "wall_ms": {name: round(statistics.median(values), 3) for name, values in wall.items()},
    }
    for name in ("list", "detail"):
        ratios = [v / h for v, h in zip(per_round[name], per_round["healthz"], strict=True) if h > 0]
        result[f"{name}_over_healthz"] = round(statistics.median(ratios), 2) if ratios else None
    cpu = result["cpu_ms"]
    print(
        f"server CPU per request (in-process, {rounds} rounds x {batch}): healthz {cpu['healthz']:.3f} ms, "
        f"list {cpu['list']:.3f} ms ({result['list_over_healthz']}x healthz), "
        f"detail {cpu['detail']:.3f} ms ({result['detail_over_healthz']}x healthz)",
        flush=True,
    )
    return result


# --- gunicorn --------------------------------------------------------------------------


class BenchError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            if http_get(port, "/healthz", timeout=2)[0] == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def gunicorn(
    url: str,
    media_root: Path,
    *,
    workers: int,
    threads: int,
    cache_url: str,
    log_path: Path,
    tree: Path = ROOT,
    app: str = "config.wsgi",
    extra_env: dict | None = None,
):
    """gunicorn serving `app` of the source tree `tree` (this checkout by default) with its
    config/gunicorn.py; yields the port once /healthz answers."""
    port = free_port()
    env = {
        **django_env(url, media_root),
        "PYTHONPATH": str(tree),
        "ALLOWED_HOSTS": "127.0.0.1",
        # config/gunicorn.py, as in production (metrics in multiprocess mode included).
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_KEEPALIVE": "10",
        "GUNICORN_TIMEOUT": "60",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
        "PROMETHEUS_MULTIPROC_DIR": (metrics_dir := tempfile.mkdtemp(prefix="catalog-bench-prometheus-")),
    }
    if cache_url:
        env["CACHE_URL"] = cache_url
    env.update(extra_env or {})
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.py", app]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, proc, log_path)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(metrics_dir, ignore_errors=True)


# --- scenarios -------------------------------------------------------------------------


def list_paths(port: int) -> tuple[list[str], dict]:
    """Every sort at offsets 0..240, plus one cursor continuation per sort when the API has one."""
    paths = [
        f"{LIST_PATH}?sort={sort}&limit={PAGE_SIZE}&offset={offset}"
        for offset in range(0, MAX_OFFSET + 1, PAGE_SIZE)
        for sort in SORTS
    ]
    first_pages = {}
    for sort in SORTS:
        status, body = http_get(port, f"{LIST_PATH}?sort={sort}&limit={PAGE_SIZE}")
        first_pages[sort] = status
        if status != 200:
            continue
        cursor = (json.loads(body).get("pagination") or {}).get("next_cursor")
        if isinstance(cursor, str):
            paths.append(f"{LIST_PATH}?sort={sort}&limit={PAGE_SIZE}&cursor={quote(cursor, safe='')}")
    return paths, first_pages


def run_scenario(name: str, port: int, paths: list[str], args) -> dict:
    result = summarize(
        run_load(
            "127.0.0.1",
            port,
            paths,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            procs=args.client_procs,
        )
    )
    print(
        f"  {name:<8} {result['requests']:>8,} req  {result['errors']:>6,} err  {result['rps']:>8,.1f} rps  "
        f"p50 {result['p50_ms']:>7.1f}  p95 {result['p95_ms']:>7.1f}  p99 {result['p99_ms']:>7.1f}  "
        f"max {result['max_ms']:>7.1f} ms" + (f"  errors: {result['error_detail']}" if result["errors"] else ""),
        flush=True,
    )
    return {"paths": len(paths), **result}


def run_loadtest_command(port: int, paths: list[str], keys: list[str], packs: int, args) -> dict:
    """`manage.py loadtest` (ops.loadtest) over lists and details mixed: JSON and HTML reports."""
    from django.conf import settings

    from ops.loadtest import LoadtestOptions, render_html, run_loadtest

    # Half lists (every sort and offset in turn), half details of random listed packs.
    mixed = [path for i, key in enumerate(keys) for path in (paths[i % len(paths)], f"{LIST_PATH}/{key}")]
    report = run_loadtest(
        LoadtestOptions(
            base_url=f"http://127.0.0.1:{port}",
            paths=mixed,
            duration_seconds=args.duration,
            concurrency=args.concurrency,
            timeout_ms=10_000,
            slo_ms=settings.HTTP_SLO_TARGET_MS,
        )
    )
    args.loadtest_out.mkdir(parents=True, exist_ok=True)
    stem = args.loadtest_out / f"loadtest-{packs}-packs"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    stem.with_suffix(".html").write_text(render_html(report))
    latency = report["latency_ms"]
    print(
        f"  loadtest {report['requests_total']:>8,} req  {report['requests_error']:>6,} err  "
        f"{report['throughput_rps']:>8,.1f} rps  p50 {latency['p50']:>7.1f}  p95 {latency['p95']:>7.1f}  "
        f"p99 {latency['p99']:>7.1f}  max {latency['max']:>7.1f} ms  exit {report['exit_code']}  "
        f"-> {stem}.html",
        flush=True,
    )
    return {key: report[key] for key in report if key not in ("timeline", "histogram")}


def bench_catalog(url: str, packs: int, args, media_root: Path, log_path: Path) -> dict:
    report = {
        "packs": packs,
        "database": db_name(url),
        "build": prepare_catalog(
            url,
            packs=packs,
            items_per_pack=args.items_per_pack,
            skip_build=args.skip_build,
            seed=args.seed,
            build_procs=args.build_procs,
            replicate=args.replicate_from if packs > args.replicate_from else 0,
        ),
    }
    if args.sweep_seconds:
        report["sweep"] = sweep_cost(seconds=args.sweep_seconds)
    report["media_files"] = write_media(media_root, args.media_files)
    keys = sample_pack_keys(DETAIL_SAMPLE, args.seed)
    report["query_counts"] = query_counts(keys[0]) if keys else {}
    print(
        "queries per request: "
        + ", ".join(
            f"{label} {c['queries']} (HTTP {c['status']})" if "error" not in c else f"{label} failed: {c['error']}"
            for label, c in report["query_counts"].items()
        )
    )
    if args.render_cpu:
        report["render_cpu"] = render_cpu(keys, rounds=args.render_cpu)
    from django.db import connections

    connections.close_all()
    scenarios = {}
    if args.no_load:
        report["scenarios"] = scenarios
        return report
    with gunicorn(
        url,
        media_root,
        workers=args.gunicorn_workers,
        threads=args.threads,
        cache_url=args.cache_url,
        log_path=log_path,
    ) as port:
        paths, first_pages = list_paths(port)
        report["list_first_page_status"] = first_pages
        report["api_available"] = all(status == 200 for status in first_pages.values())
        print(
            f"gunicorn on :{port} ({args.gunicorn_workers} workers x {args.threads} threads); "
            f"client {args.concurrency} connections in {args.client_procs} process(es), "
            f"{args.duration:g} s per scenario after {args.warmup:g} s warm-up"
        )
        if args.paths:
            scenarios["custom"] = run_scenario("custom", port, args.paths, args)
        if report["api_available"]:
            scenarios["list"] = run_scenario("list", port, paths, args)
            scenarios["detail"] = run_scenario("detail", port, [f"{LIST_PATH}/{key}" for key in keys], args)
            if args.loadtest_out:
                report["loadtest"] = run_loadtest_command(port, paths, keys, packs, args)
        else:
            print(f"  catalog API not answering (first-page status {first_pages}): list/detail load skipped")
    report["scenarios"] = scenarios
    return report


def print_table(catalogs: list[dict]) -> None:
    header = (
        f"{'scenario':<8} {'packs':>9} {'requests':>9} {'errors':>7} {'rps':>8} "
        f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>8}  queries/request"
    )
    print(header)
    print("-" * len(header))
    for catalog in catalogs:
        if "error" in catalog:
            print(f"{'-':<8} {catalog['packs']:>9,} failed: {catalog['error'].splitlines()[0]}")
            continue
        counts = catalog["query_counts"]
        queries = {
            "list": f"limit 24: {counts['list_limit_24']['queries']}, limit 60: {counts['list_limit_60']['queries']}"
            if counts
            else "",
            "detail": str(counts["detail"]["queries"]) if counts else "",
        }
        for name, s in catalog["scenarios"].items():
            print(
                f"{name:<8} {catalog['packs']:>9,} {s['requests']:>9,} {s['errors']:>7,} {s['rps']:>8,.1f} "
                f"{s['p50_ms']:>7.1f} {s['p95_ms']:>7.1f} {s['p99_ms']:>7.1f} {s['max_ms']:>8.1f}  "
                f"{queries.get(name, '')}"
            )
    print("(latencies in ms)")


def exit_on_sigterm() -> None:
    """SIGTERM (a killed bench) unwinds like Ctrl-C, so the gunicorns it started are stopped too."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packs", type=int, default=100_000)
    parser.add_argument("--items-per-pack", type=int, default=6)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_bench")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, default=20, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before measuring")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread when > 1, else sync)")
    parser.add_argument("--client-procs", type=int, default=1, help="load-client processes")
    parser.add_argument("--skip-build", action="store_true", help="reuse a catalog whose pack count matches")
    parser.add_argument(
        "--compare", type=int, nargs="+", default=[], metavar="PACKS", help="also bench catalogs of these sizes"
    )
    parser.add_argument(
        "--replicate-from",
        type=int,
        default=0,
        metavar="BASE",
        help="build BASE packs, copy them in SQL up to each size (sizes multiples of BASE)",
    )
    parser.add_argument(
        "--grow",
        action="store_true",
        help="bench --packs and --compare sizes in one database, smallest first, growing it by replication",
    )
    parser.add_argument(
        "--sweep-seconds",
        type=float,
        default=0,
        help="also time the snapshot sweep over each catalog for this long (rows/s, projected full sweep)",
    )
    parser.add_argument("--cache-url", default="", help="CACHE_URL for the server (default: local memory)")
    parser.add_argument("--media-files", type=int, default=64, help="assets given a real WebP file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-procs", type=int, default=os.cpu_count() or 1, help="processes building the catalog")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument(
        "--loadtest-out",
        type=Path,
        metavar="DIR",
        help="also run manage.py loadtest (lists + details): JSON + HTML here",
    )
    parser.add_argument(
        "--render-cpu",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also measure server CPU per request in-process (healthz, list, detail; ROUNDS rounds)",
    )
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn load scenarios")
    parser.add_argument("--paths", nargs="+", help=argparse.SUPPRESS)  # load arbitrary paths too
    args = parser.parse_args()
    if not 1 <= args.items_per_pack <= 30:
        parser.error("--items-per-pack must be 1..30")

    media_root = Path(tempfile.mkdtemp(prefix="catalog-bench-media-"))
    log_path = media_root.parent / f"{media_root.name}-gunicorn.log"
    mysql_admin(
        args.database_url, f"CREATE DATABASE IF NOT EXISTS `{db_name(args.database_url)}` CHARACTER SET utf8mb4"
    )
    setup_django(args.database_url, media_root, args.cache_url)
    runs = [(args.database_url, args.packs)]
    for size in args.compare:
        runs.append((with_db(args.database_url, f"{db_name(args.database_url)}_{size}"), size))
    if args.grow:  # one database, grown from the smallest size by SQL copies (replicate_catalog)
        sizes = sorted({args.packs, *args.compare})
        runs = [(args.database_url, size) for size in sizes]
        args.replicate_from = args.replicate_from or sizes[0]
        args.skip_build = True
    catalogs = []
    try:
        for url, packs in runs:
            try:
                catalogs.append(bench_catalog(url, packs, args, media_root, log_path))
            except Exception as exc:  # keep the other catalog's figures
                print(f"catalog of {packs:,} packs failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                catalogs.append({"packs": packs, "database": db_name(url), "error": f"{type(exc).__name__}: {exc}"})
    finally:
        shutil.rmtree(media_root, ignore_errors=True)
    print()
    print_table(catalogs)
    report = {
        "bench": "catalog",
        "cpu_count": os.cpu_count(),
        "items_per_pack": args.items_per_pack,
        "concurrency": args.concurrency,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "client_procs": args.client_procs,
        "gunicorn": {
            "workers": args.gunicorn_workers,
            "threads": args.threads,
            "worker_class": "gthread" if args.threads > 1 else "sync",
        },
        "gunicorn_log": str(log_path),
        "catalogs": catalogs,
    }
    print(json.dumps(report))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
