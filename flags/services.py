"""Feature flag evaluation (SPEC §4). Public API: is_enabled(name, *, subject_key="", default=False)."""

import hashlib
import os

from flags.models import FeatureFlag, normalize_flag_name

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


def subject_bucket(subject_key: str) -> int:
    """uint32_be(sha1(subject_key)[0:4]) % 100 — the rollout bucket of a subject."""
    return int.from_bytes(hashlib.sha1(subject_key.encode("utf-8")).digest()[:4], "big") % 100


def _env_default(name: str, default: bool) -> bool:
    raw = os.environ.get(f"FEATURE_{name.upper()}", "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return default


def is_enabled(name: str, *, subject_key: str = "", default: bool = False) -> bool:
    name = normalize_flag_name(name)
    flag = FeatureFlag.objects.filter(name=name).values("is_enabled", "rollout_percent").first()
    if flag is None:
        return _env_default(name, default)
    if not flag["is_enabled"]:
        return False
    if flag["rollout_percent"] >= 100:
        return True
    if flag["rollout_percent"] <= 0:
        return False
    return subject_bucket(subject_key or name) < flag["rollout_percent"]
