"""The optional NudeNet nudity model behind the built-in classifier (requirements-nsfw.txt,
installed with the dev requirements so this path runs in CI). No explicit imagery is used:
the model's mapping is tested with detector outputs, and the real model on safe stickers."""

import io

import pytest
from PIL import Image, ImageDraw

from catalog.classifiers import current_version, get_classifier, nudity
from catalog.classifiers.base import ClassifierInput

pytest.importorskip("nudenet", reason="optional extra: pip install -r requirements-nsfw.txt")


def sticker(fill=(230, 180, 150)) -> bytes:
    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((60, 60, 450, 450), fill=fill + (255,))
    buffer = io.BytesIO()
    image.save(buffer, "WEBP")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("detections", "score"),
    [
        ([], 0.0),
        ([{"class": "FACE_FEMALE", "score": 0.95}], 0.0),  # not nudity
        ([{"class": "FEMALE_BREAST_EXPOSED", "score": 0.4}], 0.0),  # below the noise floor
        ([{"class": "FEMALE_BREAST_EXPOSED", "score": 0.9}], 0.9),
        ([{"class": "BUTTOCKS_EXPOSED", "score": 0.68}], 0.0),  # what round flat shapes get
        ([{"class": "BUTTOCKS_EXPOSED", "score": 0.9}], 0.63),  # at most suggestive
        ([{"class": "BUTTOCKS_COVERED", "score": 0.8}], 0.48),  # covered: 0.6 of the score
        ([{"class": "BELLY_EXPOSED", "score": 0.9}, {"class": "MALE_GENITALIA_EXPOSED", "score": 0.7}], 0.7),
    ],
)
def test_detections_map_to_a_score(detections, score):
    assert nudity.nudity_score(detections) == pytest.approx(score)


def test_installed_model_is_used_and_named_in_the_version(settings):
    settings.CLASSIFIER_NSFW_MODEL = "auto"
    classifier = get_classifier("builtin")
    assert classifier.version == current_version() == "builtin-1+nudenet"
    assert classifier.model_name.endswith("+nudenet-320n")
    result = classifier.classify(ClassifierInput(data=sticker()))
    # The model calls a beige disc BUTTOCKS_EXPOSED at ~0.67; the mapping keeps it safe.
    assert result.nsfw_score == 0.0 and result.is_nsfw is False
    assert result.classification_version == "builtin-1+nudenet"


def test_model_scores_feed_is_nsfw(settings, monkeypatch):
    settings.CLASSIFIER_NSFW_MODEL = "auto"
    monkeypatch.setattr(nudity, "score_image", lambda data: 0.83)  # the detector's verdict, as it would be
    result = get_classifier("builtin").classify(ClassifierInput(data=sticker()))
    assert result.nsfw_score == 0.83 and result.is_nsfw is True


def test_model_can_be_switched_off(settings):
    settings.CLASSIFIER_NSFW_MODEL = "off"
    assert current_version() == "builtin-1"
    assert not get_classifier("builtin").nudity_model
