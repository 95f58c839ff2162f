"""Pluggable sticker classifiers (pure: bytes and context in, a result out; no database).

``get_classifier()`` returns the one ``settings.CLASSIFIER_PROVIDER`` names:

* ``"builtin"`` (default) - offline Pillow heuristics, see :mod:`catalog.classifiers.builtin`;
  they do not detect nudity from pixels themselves, but when the optional NudeNet model is
  installed and ``CLASSIFIER_NSFW_MODEL`` is "auto" (the default) the built-in classifier adds
  its pixel nudity score (:mod:`catalog.classifiers.nudity`; ``requirements-nsfw.txt``);
* ``"http"`` - a remote model, see :mod:`catalog.classifiers.http` (``CLASSIFIER_HTTP_URL``,
  ``CLASSIFIER_HTTP_TIMEOUT_SECONDS``, ``CLASSIFIER_HTTP_RETRIES``).

``current_version()`` is the ``classification_version`` the configured classifier writes:
the provider's base version plus ``CLASSIFIER_VERSION_SUFFIX``, so changing the suffix makes
every stored classification out of date and due for a reclassification.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import builtin, http
from .base import (
    BLURRY,
    LOW_QUALITY,
    ClassificationResult,
    Classifier,
    ClassifierError,
    ClassifierInput,
)

__all__ = [
    "BLURRY",
    "LOW_QUALITY",
    "PROVIDERS",
    "ClassificationResult",
    "Classifier",
    "ClassifierError",
    "ClassifierInput",
    "current_version",
    "get_classifier",
]

PROVIDERS = {builtin.PROVIDER: builtin.base_version, http.PROVIDER: lambda: http.BASE_VERSION}


def _provider(provider: str | None) -> str:
    name = (provider if provider is not None else settings.CLASSIFIER_PROVIDER).strip().lower()
    if name not in PROVIDERS:
        raise ImproperlyConfigured(
            f"Unknown CLASSIFIER_PROVIDER {name!r}; expected one of: {', '.join(sorted(PROVIDERS))}."
        )
    return name


def _suffix() -> str:
    return settings.CLASSIFIER_VERSION_SUFFIX


def get_classifier(provider: str | None = None) -> Classifier:
    """The classifier named by ``provider`` or, by default, ``settings.CLASSIFIER_PROVIDER``.
    Settings are read on every call. Raises ImproperlyConfigured for an unknown provider or an
    http provider without a URL."""
    name = _provider(provider)
    if name == http.PROVIDER:
        return http.HttpClassifier.from_settings()
    return builtin.BuiltinClassifier(version_suffix=_suffix())


def current_version(provider: str | None = None) -> str:
    """The classification_version the configured classifier writes (no URL check for http, so
    finding out-of-date classifications works even while the remote end is misconfigured)."""
    return f"{PROVIDERS[_provider(provider)]()}{_suffix()}"
