"""Generations of cached anonymous pack reads (see catalog.api.cache).

A pack's detail is cached under its current generation; every change that shows in the
detail (an edit, an upload, engagement, a snapshot refresh) moves the generation on commit,
so the next read misses and recomputes instead of waiting for the TTL.
"""

import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

PREFIX = "catalog:packgen:"
GENERATION_TTL_SECONDS = 24 * 3600


def pack_generation(pack_key: str, *, get=None) -> str:
    """The pack's current generation; `get` may read through a local copy (catalog.api.cache)."""
    return (get or cache.get)(PREFIX + pack_key, "0") or "0"


def pack_reads_changed(pack_keys: Iterable[str]) -> None:
    """Move these packs' generations once the current transaction commits."""
    keys = sorted(set(pack_keys))
    if keys:
        transaction.on_commit(
            lambda: cache.set_many({PREFIX + k: uuid.uuid4().hex for k in keys}, GENERATION_TTL_SECONDS)
        )
