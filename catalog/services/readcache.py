"""Generations of cached anonymous pack reads (see catalog.api.cache).

A pack's detail is cached with the generation it was made under; every change that shows in the
detail (an edit, an upload, engagement, a snapshot refresh) moves the generation on commit,
so the next read misses and recomputes instead of waiting for the TTL.
"""

import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

PREFIX = "catalog:packgen:"
GENERATION_TTL_SECONDS = 24 * 3600


def generation_key(pack_key: str) -> str:
    """The cache key holding the pack's current generation (absent: "0")."""
    return PREFIX + pack_key


def pack_reads_changed(pack_keys: Iterable[str]) -> None:
    """Move these packs' generations once the current transaction commits."""
    keys = sorted(set(pack_keys))
    if keys:
        transaction.on_commit(
            lambda: cache.set_many({generation_key(k): uuid.uuid4().hex for k in keys}, GENERATION_TTL_SECONDS)
        )
