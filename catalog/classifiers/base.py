"""The classifier interface: what goes in, what comes out, and the one error to retry on.

A classifier is pure: it gets the stored sticker bytes plus the hints its owner gave in their
listed packs (emojis, tags), and returns a :class:`ClassificationResult`. A sensitive mark is not
an input: it is a property of one pack (its snapshot and NSFW level), never of the image. It never touches
the database; the caller stores the result (and its ``classification_version``, which is
how assets needing a reclassification are found).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Labels every result's ``all_scores`` carries (the ranking reads them).
BLURRY = "blurry"
LOW_QUALITY = "low_quality"
NSFW = "nsfw"
# Labels that are qualities of the picture, never its category.
NON_CATEGORY_LABELS = frozenset({BLURRY, LOW_QUALITY, NSFW})


@dataclass(frozen=True)
class ClassifierInput:
    data: bytes  # the stored sticker bytes (a 512x512 WebP, maybe animated; PNG/GIF also decode)
    emojis: tuple[str, ...] = ()  # the owner's emojis on the sticker in their listed packs
    tags: tuple[str, ...] = ()  # the tags of the owner's listed packs holding it (lower-case slugs)


@dataclass(frozen=True)
class ClassificationResult:
    category: str  # the theme, a lower-case slug: "animals", "food", "photo", "illustration", "text", ...
    confidence: float  # 0..1
    all_scores: dict[str, float]  # label -> 0..1; always has "blurry" and "low_quality"
    tags: list[str]  # e.g. ["animated", "transparent", "red", "flat", "text-heavy", "cats"]
    nsfw_score: float  # 0..1
    is_nsfw: bool
    provider: str  # "builtin" | "http"
    model_name: str
    classification_version: str


class ClassifierError(Exception):
    """Anything worth retrying later: timeouts, bad answers, bytes that do not decode."""


@runtime_checkable
class Classifier(Protocol):
    provider: str
    version: str  # the classification_version this classifier writes

    def classify(self, item: ClassifierInput) -> ClassificationResult: ...
