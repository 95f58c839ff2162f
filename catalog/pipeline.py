"""Classification, curation and rebuild cycle task types the catalog registers (SPEC §5, §5.1).

The three cycles run every WORKER_<TYPE>_CADENCE_SECONDS in the worker that takes their
group; `classify_asset` (one asset, from STICKER_ASSET_CREATED events or a failed cycle
item) belongs to the classification group, so dedicated classification workers take it.
"""

from catalog.services import classification, curation
from workers.registry import register_task_type


def classification_cycle_task(payload: dict) -> dict:
    return classification.classification_cycle(
        batch_size=payload.get("batch_size"), concurrency=payload.get("concurrency")
    )


def classify_asset_task(payload: dict) -> dict:
    result = classification.classify_asset(int(payload["asset_id"]))
    return {"asset_id": payload["asset_id"], "classified": result is not None}


def curation_cycle_task(payload: dict) -> dict:
    return curation.curation_cycle()


def rebuild_cycle_task(payload: dict) -> dict:
    return curation.rebuild_cycle()


register_task_type(
    "classification_cycle",
    classification_cycle_task,
    cadence_setting="WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS",
    group="classification_cycle",
)
register_task_type("classify_asset", classify_asset_task, group="classification_cycle")
register_task_type(
    "curation_cycle",
    curation_cycle_task,
    cadence_setting="WORKER_CURATION_CYCLE_CADENCE_SECONDS",
    group="curation_cycle",
)
register_task_type(
    "rebuild_cycle", rebuild_cycle_task, cadence_setting="WORKER_REBUILD_CYCLE_CADENCE_SECONDS", group="rebuild_cycle"
)
