"""Scores match values computed by hand from the SPEC §2.2 formulas."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from catalog import ranking
from catalog.ranking import ItemInput, PackInput

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Item A: 512x512, 18 KiB → area 1, size 1 → item 1.0
ITEM_A = ItemInput(
    width=512,
    height=512,
    size_bytes=18432,
    classified=True,
    confidence=0.8,
    nsfw_score=0.1,
    all_scores={"cat": 0.8, "dog": 0.2, "blurry": 0.5, "low_quality": 0.0},
    tags=("cat",),
)
# Item B: 256x256 (area 0.25), 9 KiB (size 0.5) → 0.65*0.25 + 0.35*0.5 = 0.3375
ITEM_B = ItemInput(
    width=256,
    height=256,
    size_bytes=9216,
    classified=True,
    confidence=0.6,
    nsfw_score=0.3,
    all_scores={"cat": 0.6, "dog": 0.8, "low_quality": 0.2},
    tags=("dog",),
)
# Item C: unknown size, unclassified → 0.65*0.45 + 0.35*0.5 = 0.4675
ITEM_C = ItemInput()

FIXTURE = PackInput(
    items=(ITEM_A, ITEM_B, ITEM_C),
    tags=("funny",),
    is_sensitive=False,
    content_updated_at=NOW - timedelta(days=9),
    open_count=100,
    like_count=10,
    dislike_count=4,
    download_count=7,
    opens_last_24h=6,
    opens_last_7d=14,
)

# Hand computation (SPEC §2.2):
#   quality   = (1.0 + 0.3375 + 0.4675)/3 - mean(0.5*0.3 + 0, 0 + 0.2*0.35) = 0.6016667 - 0.11 = 0.4916667
#   confidence= (0.8 + 0.6)/2 = 0.7
#   cos(A,B)  = (0.8*0.6 + 0.2*0.8) / (sqrt(0.68) * 1) = 0.64 / 0.8246211 = 0.7761140
#   cohesion  = 0.7761140
#   tags      = funny, cat, dog → 3 / max(3, min(12, 3)) = 1.0
#   diversity = 0.7*(1 - 0.7761140) + 0.3*1.0 = 0.4567202
#   engagement= (10*2 + 100*0.15 - 4*1.25)/100 = 0.30
#   trend     = 6 / max(0.5, 14/7) = 3.0 → trending
#   pack      = 0.7*0.4 + 0.30*0.3 + 0.4916667*0.2 + 0.4567202*0.1 = 0.5140054
#   ranking   = 0.5140054*exp(-9/45) + 3.0*0.08 + 0.7761140*0.05 = 0.4208322 + 0.24 + 0.0388057 = 0.6996379
EXPECTED = {
    "quality_score": 0.4916667,
    "cohesion_score": 0.7761140,
    "diversity_score": 0.4567202,
    "engagement_score": 0.30,
    "trend_score": 3.0,
    "pack_score": 0.5140054,
    "ranking_score": 0.6996379,
}


def test_fixture_pack_scores_match_hand_computed_values():
    scores = ranking.score_pack(FIXTURE, now=NOW)
    for name, expected in EXPECTED.items():
        assert getattr(scores, name) == pytest.approx(expected, abs=1e-6), name
    assert scores.confidence_score == pytest.approx(0.7)
    assert scores.duplicate_penalty == 0.0
    assert scores.trending_now is True
    assert scores.nsfw_level == "safe" and scores.sensitive_content is False
    assert scores.sticker_count == 3
    assert scores.tags == ("funny", "cat", "dog")


def test_engagement_is_zero_without_interactions_and_clamped():
    assert ranking.engagement_score(opens=0, likes=0, dislikes=0) == 0.0
    assert ranking.engagement_score(opens=0, likes=0, dislikes=10) == 0.0  # clamped at 0
    assert ranking.engagement_score(opens=0, likes=1000, dislikes=0) == 1.2
    assert ranking.engagement_score(opens=20, likes=0, dislikes=0) == pytest.approx(0.03)


def test_trend_uses_a_floor_of_half_an_open_per_day_and_caps_at_20():
    assert ranking.trend_score(opens_last_24h=0, opens_last_7d=0) == 0.0
    assert ranking.trend_score(opens_last_24h=1, opens_last_7d=1) == pytest.approx(2.0)  # 1 / 0.5
    assert ranking.trend_score(opens_last_24h=50, opens_last_7d=0) == 20.0  # the cap (pure function)
    assert ranking.trend_score(opens_last_24h=100, opens_last_7d=100) == pytest.approx(7.0)
    assert ranking.trend_score(opens_last_24h=7, opens_last_7d=49) == pytest.approx(1.0)


def test_unclassified_pack_uses_default_cohesion_and_diversity():
    pack = PackInput(items=(ITEM_C,), tags=(), is_sensitive=False, content_updated_at=NOW)
    scores = ranking.score_pack(pack, now=NOW)
    assert scores.cohesion_score == 1.0
    assert scores.diversity_score == 0.25
    tagged = ranking.score_pack(
        PackInput(items=(ITEM_C,), tags=("x",), is_sensitive=False, content_updated_at=NOW), now=NOW
    )
    assert tagged.diversity_score == 0.45
    # pack = quality*0.2 + diversity*0.1; ranking adds cohesion*0.05 at age 0
    assert scores.pack_score == pytest.approx(0.4675 * 0.2 + 0.25 * 0.1)
    assert scores.ranking_score == pytest.approx(0.4675 * 0.2 + 0.25 * 0.1 + 0.05)


def test_duplicates_are_penalised():
    twin = ItemInput(width=512, height=512, size_bytes=18432, classified=True, confidence=1.0, all_scores={"cat": 1.0})
    pack = PackInput(items=(twin, twin), tags=(), is_sensitive=False, content_updated_at=NOW)
    scores = ranking.score_pack(pack, now=NOW)
    # one pair, cosine 1 → share 1 → penalty 0.7; diversity = 0.7*0 + 0.3*(0/3) = 0
    assert scores.duplicate_penalty == pytest.approx(0.7)
    assert scores.pack_score == pytest.approx(max(0.0, 1.0 * 0.4 + 1.0 * 0.2 + 0 - 0.7 * 0.25))


def test_weights_are_configurable():
    base = ranking.score_pack(FIXTURE, now=NOW)
    heavier = ranking.score_pack(FIXTURE, now=NOW, weights={"engagement": 1.0})
    assert heavier.pack_score == pytest.approx(base.pack_score + 0.30 * 0.7)


def test_age_decay_uses_45_days():
    fresh = ranking.score_pack(FIXTURE, now=FIXTURE.content_updated_at)
    old = ranking.score_pack(FIXTURE, now=FIXTURE.content_updated_at + timedelta(days=45))
    decayed = fresh.pack_score * math.exp(-1)
    assert old.ranking_score - fresh.ranking_score == pytest.approx(decayed - fresh.pack_score)


@pytest.mark.parametrize(
    ("nsfw_scores", "flagged", "sensitive", "level"),
    [
        ((0.1, 0.2), False, False, "safe"),
        ((0.1, 0.2), False, True, "suggestive"),  # owner's mark: at least suggestive
        ((0.1, 0.2), True, False, "suggestive"),  # any flagged item
        ((0.45, 0.0), False, False, "suggestive"),  # max ≥ 0.40
        ((0.8, 0.0), False, False, "explicit"),  # max ≥ 0.78
        ((0.78, 0.78), False, True, "explicit"),
    ],
)
def test_nsfw_level(nsfw_scores, flagged, sensitive, level):
    items = tuple(
        ItemInput(classified=True, nsfw_score=s, is_nsfw=flagged and i == 0) for i, s in enumerate(nsfw_scores)
    )
    assert ranking.nsfw_level(items, is_sensitive=sensitive) == level
