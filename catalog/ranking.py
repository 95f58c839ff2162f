"""Pack ranking signals (SPEC §2.2): pure functions of a pack's items, classifications,
engagement counters and interaction windows. No database access here; the snapshot
service gathers the inputs and stores the result.
"""

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import combinations

# The score columns of a snapshot and the `signals` of the API, in this order.
SCORE_FIELDS = (
    "ranking_score",
    "pack_score",
    "trend_score",
    "quality_score",
    "engagement_score",
    "diversity_score",
    "cohesion_score",
)
DEFAULT_WEIGHTS = {"confidence": 0.4, "engagement": 0.3, "quality": 0.2, "diversity": 0.1, "duplicate": 0.25}
# Labels of `all_scores` that describe image quality, not theme: used for the quality
# penalty, left out of the theme vectors that cohesion, diversity and duplicates compare.
QUALITY_LABELS = frozenset({"blurry", "low_quality"})
TRENDING_THRESHOLD = 1.4
DUPLICATE_COSINE = 0.985
AGE_DECAY_DAYS = 45.0
STICKER_AREA = 512 * 512
SIZE_REFERENCE_BYTES = 18 * 1024


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


@dataclass(frozen=True)
class ItemInput:
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    # None when the asset has no classification yet.
    classified: bool = False
    confidence: float = 0.0
    nsfw_score: float = 0.0
    is_nsfw: bool = False
    all_scores: dict = field(default_factory=dict)
    tags: tuple = ()


@dataclass(frozen=True)
class PackInput:
    items: tuple[ItemInput, ...]
    tags: tuple[str, ...]
    is_sensitive: bool
    content_updated_at: datetime
    open_count: int = 0
    like_count: int = 0
    dislike_count: int = 0
    download_count: int = 0
    opens_last_24h: int = 0
    opens_last_7d: int = 0


@dataclass(frozen=True)
class PackScores:
    ranking_score: float
    pack_score: float
    trend_score: float
    quality_score: float
    engagement_score: float
    diversity_score: float
    cohesion_score: float
    confidence_score: float
    duplicate_penalty: float
    nsfw_level: str
    sensitive_content: bool
    trending_now: bool
    sticker_count: int
    tags: tuple[str, ...]
    age_days: float

    def as_dict(self) -> dict:
        """Every signal (what a snapshot keeps in `scores`); the count and tags have columns."""
        return {k: v for k, v in asdict(self).items() if k not in ("sticker_count", "tags")}


def engagement_score(*, opens: int, likes: int, dislikes: int, downloads: int = 0) -> float:
    if not (opens or likes or dislikes or downloads):
        return 0.0
    return clamp((likes * 2 + opens * 0.15 - dislikes * 1.25) / 100, 0.0, 1.2)


def trend_score(*, opens_last_24h: int, opens_last_7d: int) -> float:
    return clamp(opens_last_24h / max(0.5, opens_last_7d / 7), 0.0, 20.0)


def item_quality(item: ItemInput) -> float:
    if item.width and item.height:
        area = clamp(item.width * item.height / STICKER_AREA, 0.2, 1.0)
    else:
        area = 0.45
    size = clamp(item.size_bytes / SIZE_REFERENCE_BYTES, 0.25, 1.0) if item.size_bytes else 0.5
    return 0.65 * area + 0.35 * size


def quality_score(items: tuple[ItemInput, ...]) -> float:
    if not items:
        return 0.0
    mean = sum(item_quality(i) for i in items) / len(items)
    classified = [i for i in items if i.classified]
    penalty = 0.0
    if classified:
        penalty = sum(
            float(i.all_scores.get("blurry", 0.0)) * 0.3 + float(i.all_scores.get("low_quality", 0.0)) * 0.35
            for i in classified
        ) / len(classified)
    return clamp(mean - penalty, 0.0, 1.0)


def theme_vector(item: ItemInput) -> dict[str, float]:
    return {k: float(v) for k, v in item.all_scores.items() if k not in QUALITY_LABELS}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    if na == 0 or nb == 0:
        return 0.0
    return dot / (na * nb)


def pairwise_cosines(items: list[ItemInput]) -> list[float]:
    vectors = [theme_vector(i) for i in items]
    return [cosine(a, b) for a, b in combinations(vectors, 2)]


def nsfw_level(items: tuple[ItemInput, ...], *, is_sensitive: bool) -> str:
    classified = [i for i in items if i.classified]
    level = "safe"
    if classified:
        scores = [i.nsfw_score for i in classified]
        worst = max(max(scores), sum(scores) / len(scores))
        if worst >= 0.78:
            level = "explicit"
        elif worst >= 0.40 or any(i.is_nsfw for i in classified):
            level = "suggestive"
    if level == "safe" and is_sensitive:
        level = "suggestive"  # a pack marked sensitive is at least suggestive
    return level


def pack_tags(pack: PackInput) -> tuple[str, ...]:
    """The pack's manual tags, then the classified items' tags, without repeats."""
    seen: dict[str, None] = {}
    for tag in pack.tags:
        seen.setdefault(str(tag).lower(), None)
    for item in pack.items:
        for tag in item.tags:
            seen.setdefault(str(tag).lower(), None)
    return tuple(seen)


def score_pack(pack: PackInput, *, now: datetime, weights: dict | None = None) -> PackScores:
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    items = pack.items
    classified = [i for i in items if i.classified]
    tags = pack_tags(pack)

    engagement = engagement_score(
        opens=pack.open_count, likes=pack.like_count, dislikes=pack.dislike_count, downloads=pack.download_count
    )
    trend = trend_score(opens_last_24h=pack.opens_last_24h, opens_last_7d=pack.opens_last_7d)
    quality = quality_score(items)
    confidence = sum(i.confidence for i in classified) / len(classified) if classified else 0.0

    cosines = pairwise_cosines(classified) if len(classified) > 1 else []
    mean_cos = sum(cosines) / len(cosines) if cosines else 0.0
    cohesion = clamp(mean_cos, 0.0, 1.0) if cosines else 1.0
    if not classified:
        diversity = 0.45 if tags else 0.25
    else:
        tag_share = clamp(len(tags) / max(3, min(12, len(items))), 0.0, 1.0)
        diversity = 0.7 * clamp(1 - mean_cos, 0.0, 1.0) + 0.3 * tag_share
    duplicate_share = sum(1 for c in cosines if c >= DUPLICATE_COSINE) / len(cosines) if cosines else 0.0
    duplicate_penalty = clamp(duplicate_share * 0.7, 0.0, 1.0)

    pack_score = clamp(
        confidence * w["confidence"]
        + engagement * w["engagement"]
        + quality * w["quality"]
        + diversity * w["diversity"]
        - duplicate_penalty * w["duplicate"],
        0.0,
        1.5,
    )
    age_days = max(0.0, (now - pack.content_updated_at).total_seconds() / 86400)
    ranking = pack_score * math.exp(-age_days / AGE_DECAY_DAYS) + trend * 0.08 + cohesion * 0.05
    level = nsfw_level(items, is_sensitive=pack.is_sensitive)
    return PackScores(
        ranking_score=ranking,
        pack_score=pack_score,
        trend_score=trend,
        quality_score=quality,
        engagement_score=engagement,
        diversity_score=diversity,
        cohesion_score=cohesion,
        confidence_score=confidence,
        duplicate_penalty=duplicate_penalty,
        nsfw_level=level,
        sensitive_content=level != "safe",
        trending_now=trend >= TRENDING_THRESHOLD,
        sticker_count=len(items),
        tags=tags,
        age_days=age_days,
    )
