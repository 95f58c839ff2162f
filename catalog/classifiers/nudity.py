"""Optional nudity scoring from pixels with NudeNet's bundled 320n ONNX detector.

NudeNet (MIT licence, https://github.com/notAI-tech/nudenet) ships its model inside the Python
package, so nothing is downloaded at run time. It is an optional extra:
`pip install -r requirements-nsfw.txt` (nudenet, onnxruntime, opencv-python-headless, numpy).
When it is installed and `CLASSIFIER_NSFW_MODEL` is "auto" (the default), the built-in
classifier adds its score; "off" keeps it out. The classification version says which was used,
so installing or removing the model schedules a reclassification.

Mapping from detections to a score (the strongest counts), tuned on what the model does with
stickers: exposed genitals, breasts or anus count in full from 0.45; exposed buttocks only from
0.75 and at 0.7 of the score (at most "suggestive"), because the model calls any round flat
shape BUTTOCKS_EXPOSED — measured on generated stickers: a beige disc 0.67, a green one 0.49,
15 of 172 demo stickers 0.46-0.65; covered parts count at 0.6 of their score from 0.6.
"""

from __future__ import annotations

import importlib.util
import io
import threading

from django.conf import settings

MODEL_TAG = "nudenet-320n"
# class → (minimum detector score that counts, weight of the score)
EXPLICIT = (0.45, 1.0)
WEIGHTS = {
    "FEMALE_BREAST_EXPOSED": EXPLICIT,
    "FEMALE_GENITALIA_EXPOSED": EXPLICIT,
    "MALE_GENITALIA_EXPOSED": EXPLICIT,
    "ANUS_EXPOSED": EXPLICIT,
    "BUTTOCKS_EXPOSED": (0.75, 0.7),
    "FEMALE_BREAST_COVERED": (0.6, 0.6),
    "FEMALE_GENITALIA_COVERED": (0.6, 0.6),
    "BUTTOCKS_COVERED": (0.6, 0.6),
    "ANUS_COVERED": (0.6, 0.6),
}

_lock = threading.Lock()
_detector = None


def enabled() -> bool:
    """Is pixel nudity scoring on: the setting allows it and NudeNet is installed?"""
    if settings.CLASSIFIER_NSFW_MODEL.lower() == "off":
        return False
    return importlib.util.find_spec("nudenet") is not None


def nudity_score(detections: list[dict]) -> float:
    """0..1 from NudeNet detections ({"class", "score", ...})."""
    best = 0.0
    for detection in detections:
        floor, weight = WEIGHTS.get(detection.get("class"), (2.0, 0.0))
        score = float(detection.get("score", 0.0))
        if score >= floor:
            best = max(best, score * weight)
    return round(min(1.0, best), 4)


def _model():
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from nudenet import NudeDetector

                _detector = NudeDetector()  # loads the bundled 320n.onnx
    return _detector


def score_image(data: bytes) -> float:
    """Score the first frame of a sticker (transparent areas on white)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
    canvas = Image.new("RGB", rgba.size, (255, 255, 255))
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    bgr = np.ascontiguousarray(np.asarray(canvas)[:, :, ::-1])
    return nudity_score(_model().detect(bgr))
