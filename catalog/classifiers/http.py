"""A remote classifier behind HTTP (``CLASSIFIER_PROVIDER = "http"``).

The raw sticker bytes are POSTed to ``CLASSIFIER_HTTP_URL`` (``Content-Type: image/webp`` for
the stored WebP stickers; PNG, GIF and JPEG bytes are sent with their own type). The answer is
JSON, either ``{"labels": {label: probability}, "model": "...", "nsfw": 0.12}`` or a bare
``{label: probability}`` mapping. Probabilities must be numbers in 0..1 and there must be at
least one label that can be a category (anything but "nsfw", "blurry" and "low_quality").

Timeouts, connection errors and 5xx answers are retried ``CLASSIFIER_HTTP_RETRIES`` times,
after 0.2 s x attempt; every failure ends as a :class:`ClassifierError` (the caller retries
later). Only the standard library is used.
"""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from catalog.services.images import sniff_format

from .base import BLURRY, LOW_QUALITY, NON_CATEGORY_LABELS, NSFW, ClassificationResult, ClassifierError, ClassifierInput

PROVIDER = "http"
BASE_VERSION = "http-1"
DEFAULT_MODEL_NAME = "remote"
BACKOFF_SECONDS = 0.2  # x attempt number
NSFW_THRESHOLD = 0.78
TAG_THRESHOLD = 0.3
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_LABEL_LENGTH = 64
MAX_MODEL_NAME_LENGTH = 100


def content_type(data: bytes) -> str:
    """The image's type by its magic bytes (catalog.services.images.sniff_format); WebP, what the
    catalogue stores, when they name nothing known."""
    return f"image/{(sniff_format(data) or 'WEBP').lower()}"


class _Retryable(Exception):
    """One attempt failed in a way another attempt may not."""


class HttpClassifier:
    provider = PROVIDER

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        retries: int,
        version_suffix: str = "",
        sleep=time.sleep,
    ):
        if not url:
            raise ImproperlyConfigured("CLASSIFIER_HTTP_URL must be set when CLASSIFIER_PROVIDER is 'http'.")
        if not url.lower().startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"CLASSIFIER_HTTP_URL must be an http(s) URL, not {url!r}.")
        self.url = url
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.version = f"{BASE_VERSION}{version_suffix}"
        self._sleep = sleep

    @classmethod
    def from_settings(cls) -> HttpClassifier:
        return cls(
            settings.CLASSIFIER_HTTP_URL,
            timeout=settings.CLASSIFIER_HTTP_TIMEOUT_SECONDS,
            retries=settings.CLASSIFIER_HTTP_RETRIES,
            version_suffix=settings.CLASSIFIER_VERSION_SUFFIX,
        )

    # --- transport ----------------------------------------------------------------------

    def classify(self, item: ClassifierInput) -> ClassificationResult:
        if not item.data:
            raise ClassifierError("empty image data")
        return self.parse(self._post(item.data), item)

    def _post(self, data: bytes) -> bytes:
        attempts = self.retries + 1
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(data)
            except _Retryable as exc:
                last = str(exc)
            if attempt < attempts:
                self._sleep(BACKOFF_SECONDS * attempt)
        raise ClassifierError(f"classifier at {self.url} failed after {attempts} attempt(s): {last}")

    def _attempt(self, data: bytes) -> bytes:
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": content_type(data),
                "Accept": "application/json",
                "User-Agent": "packyard-classifier/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}") from exc
            raise ClassifierError(f"classifier at {self.url} answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:  # connection refused, DNS, connect timeout
            raise _Retryable(f"connection failed: {exc.reason}") from exc
        except TimeoutError as exc:  # connected, but no (complete) answer in time
            raise _Retryable(f"timed out after {self.timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:  # reset, refused, bad status line, ...
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if len(body) > MAX_RESPONSE_BYTES:
            raise ClassifierError(f"classifier answer is larger than {MAX_RESPONSE_BYTES} bytes")
        return body

    # --- answer -------------------------------------------------------------------------

    def parse(self, body: bytes, item: ClassifierInput) -> ClassificationResult:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ClassifierError(f"classifier answer is not JSON: {body[:80]!r}") from exc
        if not isinstance(payload, dict):
            raise ClassifierError(f"classifier answer must be a JSON object, not {type(payload).__name__}")

        if "labels" in payload:
            raw_labels = payload["labels"]
            model = payload.get("model")
            nsfw = payload.get("nsfw")
        else:  # a bare {label: probability} mapping
            raw_labels, model, nsfw = payload, None, None

        labels = _labels(raw_labels)
        if model is None or model == "":
            model_name = DEFAULT_MODEL_NAME
        elif isinstance(model, str):
            model_name = model.strip()[:MAX_MODEL_NAME_LENGTH] or DEFAULT_MODEL_NAME
        else:
            raise ClassifierError(f"classifier answer's 'model' must be a string, not {type(model).__name__}")
        nsfw_score = labels.get(NSFW, 0.0) if nsfw is None else _probability("nsfw", nsfw)

        candidates = {label: p for label, p in labels.items() if label not in NON_CATEGORY_LABELS}
        if not candidates:
            raise ClassifierError("classifier answer has no category label (only nsfw/blurry/low_quality)")
        category, confidence = min(candidates.items(), key=lambda kv: (-kv[1], kv[0]))

        all_scores = dict(labels)
        all_scores.setdefault(BLURRY, 0.0)
        all_scores.setdefault(LOW_QUALITY, 0.0)
        tags = [label for label, p in sorted(candidates.items(), key=lambda kv: (-kv[1], kv[0])) if p >= TAG_THRESHOLD]
        return ClassificationResult(
            category=category,
            confidence=confidence,
            all_scores=all_scores,
            tags=tags,
            nsfw_score=nsfw_score,
            is_nsfw=nsfw_score >= NSFW_THRESHOLD,
            provider=self.provider,
            model_name=model_name,
            classification_version=self.version,
        )


def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClassifierError(f"classifier answer: {name!r} must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ClassifierError(f"classifier answer: {name!r} = {value!r} is outside 0..1")
    return value


def _labels(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise ClassifierError(f"classifier answer's labels must be an object, not {type(raw).__name__}")
    if not raw:
        raise ClassifierError("classifier answer has no labels")
    labels: dict[str, float] = {}
    for key, value in raw.items():
        label = key.strip().lower() if isinstance(key, str) else ""
        if not label or len(label) > MAX_LABEL_LENGTH:
            raise ClassifierError(f"classifier answer: bad label {key!r}")
        probability = _probability(label, value)
        labels[label] = max(probability, labels.get(label, 0.0))
    return labels
