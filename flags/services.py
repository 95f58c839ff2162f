"""Feature flags (SPEC §4).

Reads: `is_enabled(name, *, subject_key="", default=False)`, served from a per-process cache of
every flag. Writes: `flag_set(...)` / `flag_delete(...)`, the only way flags change; each change
writes a FlagChange audit row and invalidates the cache when its transaction commits.
"""

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db import DatabaseError, transaction
from prometheus_client import Counter

from flags.models import FeatureFlag, FlagChange, normalize_flag_name

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}
PREVIEW_SAMPLE_SIZE = 10_000
# Other processes learn of a change through this shared-cache counter (when the cache is shared,
# e.g. Redis), checked at most once per GENERATION_CHECK_SECONDS; otherwise within the TTL.
GENERATION_KEY = "packyard:flags:generation"
GENERATION_CHECK_SECONDS = 1.0
FLAG_EVALUATIONS = Counter(
    "packyard_flag_evaluations", "Feature-flag evaluations, by flag and result", ["flag", "result"]
)
_evaluation_counters: dict[tuple[str, bool], Counter] = {}


class FlagError(Exception):
    code = "INVALID_INPUT"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class FlagNotFound(FlagError):
    code = "FLAG_NOT_FOUND"


# --- evaluation ------------------------------------------------------------------------------


def subject_bucket(subject_key: str) -> int:
    """uint32_be(sha1(subject_key)[0:4]) % 100: the rollout bucket of a subject."""
    return int.from_bytes(hashlib.sha1(subject_key.encode("utf-8")).digest()[:4], "big") % 100


def parse_bool(raw: str | None) -> bool | None:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def evaluate(*, is_enabled: bool, rollout_percent: int, subject_key: str | Callable[[], str], name: str) -> bool:
    """`subject_key` may be a function computing it: it is called only for a partial rollout."""
    if not is_enabled:
        return False
    if rollout_percent >= 100:
        return True
    if rollout_percent <= 0:
        return False
    if callable(subject_key):
        subject_key = subject_key()
    return subject_bucket(subject_key or name) < rollout_percent


class FlagCache:
    """Every flag's (is_enabled, rollout_percent), refreshed at most once per TTL.

    A warm read makes no query. One thread refreshes at a time; while it does, the others keep
    serving the values they have (or wait, on a cold cache). A database error keeps the last
    known values (an empty map when none were ever loaded: env and defaults then apply) until
    the next TTL, so a missing table is not queried on every check.
    """

    def __init__(self) -> None:
        self._values: Mapping[str, tuple[bool, int]] | None = None
        self._expires_at = 0.0
        self._next_generation_check = 0.0
        self._generation: object = None
        self._lock = threading.Lock()
        self.refresh_count = 0

    @staticmethod
    def ttl() -> float:
        return float(max(5, settings.FEATURE_FLAG_CACHE_TTL_SECONDS))

    def values(self) -> Mapping[str, tuple[bool, int]]:
        now = time.monotonic()
        values = self._values
        if values is not None and now < self._expires_at:
            if now < self._next_generation_check:
                return values
            if not self._generation_changed(now):
                return values
        # Stale or cold: one refresher; others serve stale values rather than queue behind it.
        if not self._lock.acquire(blocking=values is None):
            return values  # type: ignore[return-value]
        try:
            if self._values is not None and time.monotonic() < self._expires_at:
                return self._values
            return self._refresh()
        finally:
            self._lock.release()

    @staticmethod
    def _shared_generation() -> object:
        try:
            return shared_cache.get(GENERATION_KEY)
        except Exception:  # a shared-cache outage must not break flag reads
            logger.warning("flags: shared cache unreachable; relying on the TTL", exc_info=True)
            return None

    def _generation_changed(self, now: float) -> bool:
        self._next_generation_check = now + GENERATION_CHECK_SECONDS
        generation = self._shared_generation()
        if generation is None or generation == self._generation:
            return False
        self._expires_at = 0.0
        return True

    def _refresh(self) -> Mapping[str, tuple[bool, int]]:
        self.refresh_count += 1
        # Read the generation before the rows: a change committed meanwhile triggers a reload.
        self._generation = self._shared_generation()
        self._next_generation_check = time.monotonic() + GENERATION_CHECK_SECONDS
        try:
            rows = FeatureFlag.objects.values_list("name", "is_enabled", "rollout_percent")
            fresh = {name: (enabled, percent) for name, enabled, percent in rows}
        except DatabaseError as exc:
            logger.warning("flags: database unavailable (%s); serving last known values", exc)
            fresh = dict(self._values or {})
        self._values = fresh
        self._expires_at = time.monotonic() + self.ttl()
        return fresh

    def invalidate(self) -> None:
        self._expires_at = 0.0
        try:
            try:
                shared_cache.incr(GENERATION_KEY)
            except ValueError:
                shared_cache.set(GENERATION_KEY, 1, None)
        except Exception:
            logger.warning("flags: could not bump the shared generation", exc_info=True)


flag_cache = FlagCache()
# Set by flags.testing.override_flag: forced results for this process.
_overrides: dict[str, bool] = {}


def is_enabled(name: str, *, subject_key: str | Callable[[], str] = "", default: bool = False) -> bool:
    """The flag for this subject. `subject_key` may be a function computing the key (a hash of
    the viewer, say): it runs only when a partial rollout has to place the subject."""
    name = normalize_flag_name(name)
    result = _evaluated(name, subject_key=subject_key, default=default)
    counter = _evaluation_counters.get((name, result))
    if counter is None:  # labels() validates and locks: done once per (flag, result)
        counter = _evaluation_counters[(name, result)] = FLAG_EVALUATIONS.labels(name, "on" if result else "off")
    counter.inc()
    return result


def _evaluated(name: str, *, subject_key: str | Callable[[], str], default: bool) -> bool:
    if _overrides and name in _overrides:
        return _overrides[name]
    row = flag_cache.values().get(name)
    if row is None:
        return _env_fallback(name, default=default)
    return evaluate(is_enabled=row[0], rollout_percent=row[1], subject_key=subject_key, name=name)


def _env_fallback(name: str, *, default: bool) -> bool:
    """A flag with no row: FEATURE_<NAME> from the environment, else `default`."""
    env_value = parse_bool(os.environ.get(f"FEATURE_{name.upper()}"))
    return default if env_value is None else env_value


def rollout_percent(name: str, *, default: bool = False) -> int:
    """The share of subject buckets (0..100) the flag admits now: its percent when enabled, 0 when
    disabled; a flag with no row admits all or none, by FEATURE_<NAME> (else `default`)."""
    name = normalize_flag_name(name)
    if _overrides and name in _overrides:
        return 100 if _overrides[name] else 0
    row = flag_cache.values().get(name)
    if row is None:
        return 100 if _env_fallback(name, default=default) else 0
    enabled, percent = row
    return max(0, min(100, percent)) if enabled else 0


@lru_cache(maxsize=128)
def rollout_preview(percent: int, sample_size: int = PREVIEW_SAMPLE_SIZE) -> int:
    """How many of `sample_size` sample subjects a rollout percent admits."""
    return sum(1 for i in range(sample_size) if subject_bucket(f"subject-{i}") < percent)


# --- writes ----------------------------------------------------------------------------------


def _snapshot(flag: FeatureFlag) -> dict:
    return {
        "is_enabled": flag.is_enabled,
        "rollout_percent": flag.rollout_percent,
        "description": flag.description,
    }


def _validated_name(name: str) -> str:
    normalized = normalize_flag_name(name)
    if not normalized:
        raise FlagError(f"invalid flag name {name!r}: use letters, digits, '_', ':' or '-'")
    return normalized


@transaction.atomic
def flag_set(
    *,
    name: str,
    is_enabled: bool | None = None,
    rollout_percent: int | None = None,
    description: str | None = None,
    updated_by=None,
    source: str = "service",
    create: bool = False,
) -> FeatureFlag:
    """Change a flag (creating it only with create=True); writes one FlagChange audit row."""
    name = _validated_name(name)
    if rollout_percent is not None and not 0 <= int(rollout_percent) <= 100:
        raise FlagError(f"rollout percent must be within 0..100, got {rollout_percent}")
    flag = FeatureFlag.objects.select_for_update().filter(name=name).first()
    if flag is None:
        if not create:
            raise FlagNotFound(f"unknown flag {name!r}")
        flag = FeatureFlag(name=name)
        before = None
    else:
        before = _snapshot(flag)
    if is_enabled is not None:
        flag.is_enabled = bool(is_enabled)
    if rollout_percent is not None:
        flag.rollout_percent = int(rollout_percent)
    if description is not None:
        flag.description = description
    after = _snapshot(flag)
    if before == after:
        return flag
    flag.updated_by = updated_by if updated_by is not None and updated_by.is_authenticated else None
    flag.save()
    FlagChange.objects.create(
        flag=flag, flag_name=name, changed_by=flag.updated_by, source=source, before=before, after=after
    )
    transaction.on_commit(flag_cache.invalidate)
    return flag


@transaction.atomic
def flag_delete(*, name: str, deleted_by=None, source: str = "service") -> None:
    name = _validated_name(name)
    flag = FeatureFlag.objects.select_for_update().filter(name=name).first()
    if flag is None:
        raise FlagNotFound(f"unknown flag {name!r}")
    FlagChange.objects.create(
        flag=None,
        flag_name=name,
        changed_by=deleted_by if deleted_by is not None and deleted_by.is_authenticated else None,
        source=source,
        before=_snapshot(flag),
        after=None,
    )
    flag.delete()
    transaction.on_commit(flag_cache.invalidate)
