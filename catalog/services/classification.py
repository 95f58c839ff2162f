"""Classifying stickers (SPEC §5.1): one code path for the periodic cycle and the per-asset
tasks that STICKER_ASSET_CREATED events create.

The classifier runs outside any transaction (it may call a remote service); the result and
its STICKER_CLASSIFIED event are written in one transaction. An asset that fails is handed
to a per-asset `classify_asset` task, so the queue's retries, backoff and dead letters apply
to it — nothing is silently skipped.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.classifiers import current_version, get_classifier
from catalog.classifiers.base import ClassificationResult, ClassifierError, ClassifierInput
from catalog.models import AssetClassification, StickerAsset, StickerPackItem
from catalog.names import EventType, TaskName
from catalog.selectors import listed_packs_q
from catalog.services.enqueue import classify_enqueue
from outbox.services import publish
from workers import conf as worker_conf
from workers.metrics import cycle_measured

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifyOutcome:
    asset_id: int
    ok: bool
    error: str = ""


def hint_items(asset: StickerAsset):
    """The items whose emojis and pack tags may describe the image: the asset owner's own, in
    packs listed now. Nobody else's packs, and nothing private, reach a classification (whose
    tags and category every pack holding the asset shows)."""
    if asset.owner_id is None:
        return StickerPackItem.objects.none()
    return StickerPackItem.objects.filter(
        listed_packs_q("pack__"), asset=asset, pack__owner_id=asset.owner_id
    ).select_related("pack")


def classifier_input(asset: StickerAsset) -> ClassifierInput:
    """The image bytes plus what its owner said about it in their listed packs (emojis, tags)."""
    try:
        with default_storage.open(asset.storage_key, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ClassifierError(f"sticker bytes unavailable: {exc}") from exc
    emojis: list[str] = []
    tags: list[str] = []
    for item in hint_items(asset):
        emojis += [str(e) for e in item.emojis or []]
        tags += [str(t) for t in item.pack.tags or []]
    return ClassifierInput(data=data, emojis=tuple(dict.fromkeys(emojis)), tags=tuple(dict.fromkeys(tags)))


def classification_store(asset: StickerAsset, result: ClassificationResult) -> AssetClassification:
    """Write the classification and publish STICKER_CLASSIFIED in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        classification, _ = AssetClassification.objects.update_or_create(
            asset=asset,
            defaults={
                "provider": result.provider,
                "model_name": result.model_name[:128],
                "classification_version": result.classification_version[:32],
                "category": result.category[:64],
                "confidence": float(result.confidence),
                "nsfw_score": float(result.nsfw_score),
                "is_nsfw": bool(result.is_nsfw),
                "all_scores": {str(k): float(v) for k, v in result.all_scores.items()},
                "tags": [str(t) for t in result.tags][:32],
                "classified_at": now,
            },
        )
        publish(
            event_type=EventType.STICKER_CLASSIFIED,
            aggregate_type="asset",
            aggregate_id=asset.id,
            payload={"asset_id": asset.id, "category": classification.category, "is_nsfw": classification.is_nsfw},
            idempotency_key=f"classified:{asset.id}:{classification.classification_version}:{now.timestamp():.6f}",
        )
    return classification


def classify_asset(asset_id: int, *, classifier=None) -> AssetClassification | None:
    """Classify one asset now (None when it no longer exists). Raises on failure."""
    asset = StickerAsset.objects.filter(pk=asset_id).first()
    if asset is None:
        return None
    classifier = classifier or get_classifier()
    result = classifier.classify(classifier_input(asset))
    return classification_store(asset, result)


def needs_classification_q(version: str) -> Q:
    return Q(classification__isnull=True) | ~Q(classification__classification_version=version)


def assets_needing_classification(*, version: str, limit: int) -> list[int]:
    return list(
        StickerAsset.objects.filter(needs_classification_q(version)).order_by("id").values_list("id", flat=True)[:limit]
    )


def _classify_quietly(asset_id: int, classifier) -> ClassifyOutcome:
    try:
        classify_asset(asset_id, classifier=classifier)
    except Exception as exc:  # reported and handed to a retrying task below
        logger.warning("classification of asset %s failed: %s", asset_id, exc)
        return ClassifyOutcome(asset_id=asset_id, ok=False, error=f"{type(exc).__name__}: {exc}")
    return ClassifyOutcome(asset_id=asset_id, ok=True)


def _in_thread(asset_id: int, classifier) -> ClassifyOutcome:
    try:
        return _classify_quietly(asset_id, classifier)
    finally:
        connection.close()  # each pool thread has its own connection


def classification_cycle(*, batch_size: int | None = None, concurrency: int | None = None) -> dict:
    """Classify a bounded batch of assets that have no classification or an older version.

    `concurrency` threads (default: the worker's --concurrency) classify in parallel. Failed
    assets become `classify_asset` tasks (retried with backoff, then dead-lettered); the
    cycle itself fails only when every asset of a non-empty batch failed.
    """
    batch_size = batch_size or settings.CLASSIFICATION_BATCH_SIZE
    concurrency = max(1, concurrency or worker_conf.process_concurrency())
    classifier = get_classifier()
    version = current_version()
    with cycle_measured(TaskName.CLASSIFICATION_CYCLE) as counts:
        ids = assets_needing_classification(version=version, limit=batch_size)
        if concurrency == 1 or len(ids) <= 1:
            outcomes = [_classify_quietly(i, classifier) for i in ids]
        else:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="classify") as pool:
                outcomes = list(pool.map(lambda i: _in_thread(i, classifier), ids))
        failed = [o for o in outcomes if not o.ok]
        for outcome in failed:
            classify_enqueue(
                outcome.asset_id, idempotency_key=f"classify:{outcome.asset_id}:{version}:retry", error=outcome.error
            )
        counts.update(processed=len(ids), classified=len(ids) - len(failed), failed=len(failed))
        if ids and len(failed) == len(ids):
            raise ClassifierError(f"all {len(ids)} assets failed; first error: {failed[0].error}")
    return {**counts, "version": version, "concurrency": concurrency}
