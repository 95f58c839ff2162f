"""The built-in classifier: offline, deterministic heuristics on Pillow's C routines.

Nothing here is a learned model. Every signal is a heuristic:

* **animated** - the decoder reports more than one frame.
* **transparent** - more than 5 % of the pixels have alpha < 16.
* **colours** - the opaque pixels (alpha >= 128, composited on white) are posterised to 4 bits a
  channel and each colour is named from a coarse palette (red, orange, yellow, green, cyan, blue,
  purple, pink, brown, black, white, gray); the one or two biggest names become tags.
* **photo / illustration / text** - from the number of posterised colours needed to cover 90 %
  of the opaque pixels, the share of flat pixels (a Laplacian of ~0), the share of strong-edge
  pixels and how bimodal the luminance histogram is (dark ink on a light ground or the reverse).
  The three scores are normalised to sum to 1.
* **blurry** - the no-reference blur measure of Crete-Roffet et al. (2007): re-blur the picture
  and see how much of the neighbour-to-neighbour variation survives. It is a ratio over the
  variation present, so a flat shape with crisp edges is not blurry (and a blank image is not
  either); only content with soft edges is.
* **low_quality** - very few opaque pixels, content squeezed into a tiny part of the canvas, no
  content at all (one flat colour), or 8x8 JPEG blockiness left over from the source (only a
  grid aligned with the sticker's pixels is seen: a JPEG that was resized to 512 lost its grid).
* **themes** - a table from emojis and pack-tag keywords to themes (animals, food, love, ...),
  some with a subject (cats, dogs, coffee, ...). The strongest theme is the category, with a
  confidence of 0.6-0.95 by how many signals agree; without one, the visual kind is.
* **nsfw** - from pixels only, when the optional NudeNet model is installed
  (:mod:`catalog.classifiers.nudity`; a real learned detector, not a heuristic); otherwise NOT
  detected at all. A pack's sensitive mark makes that pack at least suggestive (its snapshot),
  never the image. A remote model behind the ``http`` provider is the other way to get a
  pixel-based NSFW score.

Known blind spots: line art (thin dark strokes on a light ground) can score as text, and vector
art with smooth gradients can score as a photo; a sticker upscaled from a small source is
(rightly) blurry.

The statistics are computed on the first frame only: colours and kind on a 128x128 copy, blur
on 256x256, blockiness at full size (up to 1024 px). A 512x512 WebP costs about 9 ms of CPU,
about half of it libwebp decoding.
"""

from __future__ import annotations

import colorsys
import functools
import io
import math
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageStat

from . import nudity
from .base import BLURRY, LOW_QUALITY, ClassificationResult, ClassifierError, ClassifierInput

PROVIDER = "builtin"
MODEL_NAME = "packyard-heuristics-1"
BASE_VERSION = "builtin-1"
NSFW_FLAG = 0.6  # a model nudity score at or above this flags the sticker


def base_version() -> str:
    """builtin-1, or builtin-1+nudenet when the optional nudity model is in use."""
    return f"{BASE_VERSION}+nudenet" if nudity.enabled() else BASE_VERSION


# Decoding bounds: stored stickers are 512x512; anything far bigger is not a sticker.
MAX_PIXELS = 4096 * 4096
STATS_SIZE = 128  # colours, edges, histograms
DETAIL_SIZE = 256  # blur and blockiness need finer detail than 128 keeps

ALPHA_TRANSPARENT = 16  # a pixel with alpha below this is transparent
ALPHA_OPAQUE = 128  # a pixel with alpha at or above this counts as content
TRANSPARENT_SHARE = 0.05  # "transparent" tag above this share of transparent pixels
SECOND_COLOUR_SHARE = 0.2  # a second colour tag needs this share of the opaque pixels
STRONG_EDGE = 64  # FIND_EDGES value of an edge pixel (0..255)
FLAT_LAPLACIAN = 6  # |Laplacian| at or below this is a flat pixel
DARK_LUMA = 96
LIGHT_LUMA = 160
BLUR_RADIUS = 2  # box radius of the re-blur in the blur measure (at DETAIL_SIZE)
MIN_VARIATION = 1.0  # mean neighbour difference below which there is nothing to call blurry
BLURRY_TAG = 0.6
LOW_QUALITY_TAG = 0.6

THEME_CONFIDENCE_MIN = 0.6
THEME_CONFIDENCE_MAX = 0.95
EMOJI_WEIGHT = 1.0
TAG_WEIGHT = 0.75  # a pack tag describes the whole pack, an emoji this sticker


# --- theme tables -------------------------------------------------------------------------

# theme -> {subject or "": emojis}. A subject becomes a tag of its own ("cats").
_EMOJI_THEMES: dict[str, dict[str, str]] = {
    "animals": {
        "cats": "🐱🐈😺😸😹😻😼😽🙀😿😾",
        "dogs": "🐶🐕🐩🦮",
        "bears": "🐻🐼🐨",
        "birds": "🐦🐤🐥🐣🐧🦆🦅🦉🦜🕊🐓🐔🦩",
        "": "🐯🦁🐮🐷🐸🐵🐒🐴🦄🐝🐛🦋🐌🐞🐢🐍🦎🐙🦑🦀🐠🐟🐬🐳🐋🦈🐊🐅🐆🦓🦍🐘🦛🦏🐪🦒🦘🐃🐂🐄🐎🐖🐏🐑🦙🐐🦌"
        "🐇🐁🐀🐿🦔🦇🐾🐹🐰🦊🐺🐗🦝🦥🦦🦨🐲🐉🦖🦕",
    },
    "food": {
        "coffee": "☕",
        "pizza": "🍕",
        "sweets": "🍩🍪🍰🧁🍫🍬🍭🍮🍦🍧🍨🥧🍯",
        "drinks": "🍵🍶🍷🍸🍹🍺🍻🥂🥃🥤🧃🧋🥛🍼",
        "fruit": "🍎🍏🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒🍑🥭🍍🥥🥝",
        "": "🍔🍟🌭🥪🌮🌯🥙🍳🥘🍲🥣🥗🍿🍱🍘🍙🍚🍛🍜🍝🍠🍢🍣🍤🍥🥮🍡🥟🥠🥡🍅🍆🥑🥦🥬🥒🌶🫑🌽🥕🧄🧅🥔"
        "🍞🥐🥖🥨🥯🥞🧇🧀🍖🍗🥩🥓",
    },
    "love": {"hearts": "❤🧡💛💚💙💜🖤🤍🤎❣💕💞💓💗💖💘💝💟🫶", "": "😍🥰😘💋💑💏🌹💌"},
    "party": {"birthday": "🎂", "": "🎉🥳🎊🎈🎁🪅🎆🎇🍾🪩"},
    "funny": {"": "😂🤣😆😜😝😛🤪😁😄😅🙃🤡💀"},
    "sad": {"": "😢😭😞😔😟🙁☹😥😓💔🥺"},
    "angry": {"": "😠😡🤬👿💢😤"},
    "weather": {
        "rain": "🌧☔🌦⛈",
        "snow": "❄🌨☃⛄",
        "": "☀🌤⛅☁🌩🌈🌪🌫⚡🌡🌞",
    },
    "nature": {"flowers": "🌸🌺🌻🌼🌷💐", "": "🌱🌿🍀🍁🍂🍃🌳🌲🌴🌵🏔⛰🌊🌍🌎🌏"},
    "sports": {"football": "⚽🏈", "": "🏀⚾🥎🎾🏐🏉🥏🎱🏓🏸🏒🏑🥍🏏⛳🏹🎣🥊🥋🏆🥇🏅🏋🚴🏃⛹🤸"},
    "music": {"": "🎵🎶🎤🎧🎸🎹🎺🎻🥁🎷💃🕺"},
    "holidays": {"christmas": "🎄🎅🤶", "halloween": "🎃👻", "": "🕎🪔🧧🎍🎑"},
    "travel": {"": "✈🚀🗺🏖🏝🧳🚗🚕🚌🚆🚢⛵🗽🗼"},
    "gaming": {"": "🎮🕹👾🎲♟"},
    "greetings": {"": "👋🙋🤗🙏"},
    "reactions": {"": "👍👎👌👏🙌💪🤞✌🤙🤝"},
}

# theme -> {subject or "": keywords}. Keywords are whole slugs or parts of a slug ("cute-cats").
_KEYWORD_THEMES: dict[str, dict[str, tuple[str, ...]]] = {
    "animals": {
        "cats": ("cat", "cats", "kitten", "kittens", "kitty", "kitties", "gato", "gatos", "gatinho", "gatinhos"),
        "dogs": ("dog", "dogs", "puppy", "puppies", "doggo", "doggos", "pup", "cachorro", "cachorros", "perro"),
        "bears": ("bear", "bears", "panda", "pandas", "teddy"),
        "birds": ("bird", "birds", "penguin", "penguins", "duck", "ducks", "owl", "owls", "parrot"),
        "": (
            "animal",
            "animals",
            "animais",
            "animales",
            "pet",
            "pets",
            "bunny",
            "bunnies",
            "rabbit",
            "rabbits",
            "fox",
            "foxes",
            "frog",
            "frogs",
            "hamster",
            "hamsters",
            "wildlife",
            "zoo",
            "capybara",
            "dinosaur",
            "dinosaurs",
        ),
    },  # fmt: skip
    "food": {
        "coffee": ("coffee", "cafe", "café", "espresso", "latte"),
        "pizza": ("pizza", "pizzas"),
        "sweets": ("dessert", "desserts", "sweets", "candy", "donut", "donuts", "cookie", "cookies", "chocolate"),
        "drinks": ("drink", "drinks", "tea", "beer", "wine", "cocktail", "cocktails", "boba"),
        "fruit": ("fruit", "fruits", "frutas"),
        "": (
            "food",
            "foods",
            "comida",
            "snack",
            "snacks",
            "burger",
            "burgers",
            "sushi",
            "cooking",
            "breakfast",
            "lunch",
            "dinner",
            "foodie",
            "yummy",
        ),
    },  # fmt: skip
    "love": {
        "hearts": ("heart", "hearts"),
        "": ("love", "amor", "romance", "romantic", "valentine", "valentines", "couple", "couples", "kiss", "kisses"),
    },
    "party": {
        "birthday": ("birthday", "aniversario", "aniversário", "cumpleanos", "cumpleaños"),
        "": ("party", "parties", "celebration", "celebrate", "congrats", "congratulations", "festa", "fiesta"),
    },
    "funny": {"": ("funny", "meme", "memes", "lol", "humor", "humour", "joke", "jokes", "comedy", "engracado")},
    "sad": {"": ("sad", "crying", "cry", "tears", "triste")},
    "angry": {"": ("angry", "mad", "rage", "furious", "raiva")},
    "weather": {
        "rain": ("rain", "rainy", "chuva"),
        "snow": ("snow", "snowy", "snowman"),
        "": ("weather", "sunny", "storm", "clouds", "cloudy"),
    },
    "nature": {
        "flowers": ("flower", "flowers", "flores", "floral"),
        "": ("nature", "plant", "plants", "tree", "trees", "forest", "garden", "ocean", "sea"),
    },
    "sports": {
        "football": ("football", "soccer", "futebol", "futbol", "fútbol"),
        "": ("sport", "sports", "basketball", "tennis", "gym", "fitness", "workout", "esportes"),
    },
    "music": {"": ("music", "musica", "música", "song", "songs", "band", "kpop", "k-pop", "dance", "dancing")},
    "holidays": {
        "christmas": ("christmas", "xmas", "natal", "navidad", "santa"),
        "halloween": ("halloween", "spooky"),
        "": ("holiday", "holidays", "easter", "pascoa", "diwali", "hanukkah", "ramadan", "eid", "new-year"),
    },
    "travel": {"": ("travel", "vacation", "vacations", "beach", "trip", "viagem", "ferias")},
    "gaming": {"": ("gaming", "game", "games", "gamer", "videogame", "videogames", "pixel-art")},
    "greetings": {
        "": (
            "greetings",
            "greeting",
            "hello",
            "hi",
            "good-morning",
            "good-night",
            "bom-dia",
            "boa-noite",
            "buenos-dias",
        )
    },
    "reactions": {"": ("reactions", "reaction", "reply", "replies")},
}

# Modifiers that do not change which emoji it is.
_EMOJI_NOISE = {"\ufe0e", "\ufe0f", "\u200d", "\u20e3"} | {chr(c) for c in range(0x1F3FB, 0x1F400)}


def _build_tables() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    emojis: dict[str, tuple[str, str]] = {}
    for theme, groups in _EMOJI_THEMES.items():
        for subject, chars in groups.items():
            for char in chars:
                if char not in _EMOJI_NOISE:
                    emojis.setdefault(char, (theme, subject))
    keywords: dict[str, tuple[str, str]] = {}
    for theme, groups in _KEYWORD_THEMES.items():
        for subject, words in groups.items():
            for word in (theme, *words):
                keywords.setdefault(word, (theme, subject if word != theme else ""))
    return emojis, keywords


EMOJI_TABLE, KEYWORD_TABLE = _build_tables()


@dataclass(frozen=True)
class ThemeMatch:
    theme: str
    confidence: float
    subjects: tuple[str, ...]


def _emoji_matches(text: str) -> set[tuple[str, str]]:
    return {EMOJI_TABLE[char] for char in text if char not in _EMOJI_NOISE and char in EMOJI_TABLE}


def _keyword_matches(tag: str) -> set[tuple[str, str]]:
    slug = unicodedata.normalize("NFC", tag).strip().lower().lstrip("#")
    if not slug:
        return set()
    if slug in KEYWORD_TABLE:
        return {KEYWORD_TABLE[slug]}
    parts = slug.replace("_", "-").replace(" ", "-").split("-")
    found = {KEYWORD_TABLE[part] for part in parts if part in KEYWORD_TABLE}
    # two-word keywords inside longer slugs ("say-good-morning")
    found |= {KEYWORD_TABLE[f"{a}-{b}"] for a, b in zip(parts, parts[1:], strict=False) if f"{a}-{b}" in KEYWORD_TABLE}
    return found


def match_themes(emojis: Iterable[str], tags: Iterable[str]) -> list[ThemeMatch]:
    """Themes named by the emojis and tags, strongest first. Each emoji string or tag votes at
    most once for a theme; the confidence grows with the votes and with their agreement."""
    votes: Counter[str] = Counter()
    subjects: dict[str, Counter[str]] = {}
    signals = [(EMOJI_WEIGHT, _emoji_matches(e)) for e in emojis] + [(TAG_WEIGHT, _keyword_matches(t)) for t in tags]
    for weight, matches in signals:
        for theme in {theme for theme, _ in matches}:
            votes[theme] += weight
        for theme, subject in matches:
            if subject:
                subjects.setdefault(theme, Counter())[subject] += weight
    total = sum(votes.values())
    if not total:
        return []
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    result = []
    for theme, vote in ranked:
        agreement = vote / total  # 1.0 when nothing points elsewhere
        support = 1.0 - 0.5**vote  # 0.5 for one emoji, 0.75 for two, ...
        span = THEME_CONFIDENCE_MAX - THEME_CONFIDENCE_MIN
        confidence = THEME_CONFIDENCE_MIN + span * agreement * support
        theme_subjects = tuple(
            s for s, _ in sorted(subjects.get(theme, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))
        )
        result.append(ThemeMatch(theme, round(confidence, 4), theme_subjects))
    return result


# --- pixels -------------------------------------------------------------------------------


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _ramp(value: float, start: float, end: float) -> float:
    """0 at ``start``, 1 at ``end``, linear in between (either direction)."""
    if end == start:
        return 1.0 if value >= end else 0.0
    return _clamp((value - start) / (end - start))


# Lookup tables for Image.point (fast C).
_POSTERISE = [(v & 0xF0) | 0x08 for v in range(256)]  # 4 bits a channel, at the bin centre
_OPAQUE = [255 if v >= ALPHA_OPAQUE else 0 for v in range(256)]
_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)


@functools.cache
def _colour_name(r: int, g: int, b: int) -> str:
    h, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
    hue = h * 360
    if v < 0.22:
        return "black"
    if s < 0.18 or (s < 0.3 and v < 0.35):
        return "white" if v > 0.85 else "gray"
    if 12 <= hue < 45 and v < 0.62:
        return "brown"
    if hue < 12 or hue >= 345:
        return "pink" if s < 0.45 and v > 0.8 else "red"
    if hue < 40:
        return "orange"
    if hue < 68:
        return "yellow"
    if hue < 160:
        return "green"
    if hue < 195:
        return "cyan"
    if hue < 255:
        return "blue"
    if hue < 290:
        return "purple"
    return "pink"


@dataclass(frozen=True)
class VisualStats:
    animated: bool
    frames: int
    transparent_share: float
    opaque_share: float
    content_box_share: float  # bounding box of the opaque pixels, as a share of the canvas
    colours: tuple[tuple[str, float], ...]  # (name, share of opaque pixels), biggest first
    colours_90: int  # posterised colours needed to cover 90 % of the opaque pixels
    flat_share: float
    edge_share: float
    dark_share: float
    light_share: float
    blur: float  # Crete-Roffet blur measure, ~0.1 crisp .. ~0.9 very soft
    variation: float  # mean neighbour difference (0..255); ~0 when there is nothing to see
    blockiness: float  # 8x8 grid step over the typical step, ~1.0 when there is no grid
    block_step: float  # the grid's extra step in grey levels


# What Pillow raises on bytes it cannot parse or decode (UnidentifiedImageError and truncated
# data are OSErrors; broken chunk structure is a SyntaxError, missing frames an EOFError).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    Image.DecompressionBombError,
)
_FORMATS = ("WEBP", "PNG", "GIF", "JPEG")


def _open(data: bytes) -> tuple[Image.Image, int]:
    """The first frame, loaded, and the number of frames."""
    if not data:
        raise ClassifierError("empty image data")
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except _DECODE_ERRORS as exc:
        raise ClassifierError(f"the image cannot be decoded: {exc}") from exc
    try:
        width, height = image.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise ClassifierError(f"image size {width}x{height} is out of range")
        frames = int(getattr(image, "n_frames", 1) or 1)
        image.seek(0)
        image.load()
    except ClassifierError:
        image.close()
        raise
    except _DECODE_ERRORS as exc:
        image.close()
        raise ClassifierError(f"the image cannot be decoded: {exc}") from exc
    return image, frames


def _scaled(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    if (width, height) == (size, size):
        return image
    if width == height and width % size == 0:
        return image.reduce(width // size)  # an exact box average, the cheapest
    return image.resize((size, size), Image.Resampling.BOX if width >= size else Image.Resampling.BILINEAR)


def _on_white(rgba: Image.Image) -> Image.Image:
    """The picture as seen on a white chat background (alpha blending; averaging the result is
    the same as averaging premultiplied colours, so it can be downscaled afterwards)."""
    canvas = Image.new("RGB", rgba.size, (255, 255, 255))
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    return canvas


def _blur_measure(gray: Image.Image) -> tuple[float, float]:
    """(blur, variation) after Crete-Roffet et al., "The blur effect" (2007), both directions."""
    w, h = gray.size
    soft = gray.filter(ImageFilter.BoxBlur(BLUR_RADIUS))
    blurs, variations = [], []
    for a_box, b_box in (((1, 0, w, h), (0, 0, w - 1, h)), ((0, 1, w, h), (0, 0, w, h - 1))):
        d_sharp = ImageChops.difference(gray.crop(a_box), gray.crop(b_box))
        d_soft = ImageChops.difference(soft.crop(a_box), soft.crop(b_box))
        lost = ImageChops.subtract(d_sharp, d_soft)  # clipped at 0: only variation the blur removed
        s_sharp = ImageStat.Stat(d_sharp).sum[0]
        s_lost = ImageStat.Stat(lost).sum[0]
        variations.append(s_sharp / (d_sharp.width * d_sharp.height))
        blurs.append((s_sharp - s_lost) / s_sharp if s_sharp > 0 else 0.0)
    return max(blurs), sum(variations) / 2


def _blockiness(gray: Image.Image) -> tuple[float, float]:
    """How much an 8x8 block grid (JPEG's) stands out: (ratio, step).

    The mean step between neighbouring columns is taken per column, and its median over each
    of the 8 grid phases. A JPEG grid shows as ONE phase far above all the others (a median is
    not fooled by one shape's edge on a grid line, and WebP's own 4x4 blocks raise two phases
    alike). ``ratio`` is the top phase over the runner-up, ``step`` their difference in grey
    levels. Blocks are two-dimensional: the weaker of the column and row measures is returned."""
    w, h = gray.size
    if w < 32 or h < 32:
        return 1.0, 0.0
    measures = []
    for step_image, length in (
        (ImageChops.difference(gray.crop((1, 0, w, h)), gray.crop((0, 0, w - 1, h))), w - 1),
        (
            ImageChops.difference(gray.crop((0, 1, w, h)), gray.crop((0, 0, w, h - 1))).transpose(
                Image.Transpose.TRANSPOSE
            ),
            h - 1,
        ),
    ):
        # one exact (float) mean per column
        means = list(step_image.convert("F").resize((length, 1), Image.Resampling.BOX).get_flattened_data())
        phases = sorted(statistics.median(means[phase::8]) for phase in range(8))
        measures.append((phases[-1] / max(phases[-2], 0.1), phases[-1] - phases[-2]))
    return min(m[0] for m in measures), min(m[1] for m in measures)


def analyse(data: bytes) -> VisualStats:
    image, frames = _open(data)
    try:
        has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
        rgba = image.convert("RGBA") if has_alpha else None
        rgb = _on_white(rgba) if rgba is not None else image.convert("RGB")
    except _DECODE_ERRORS as exc:
        raise ClassifierError(f"the image cannot be decoded: {exc}") from exc
    finally:
        image.close()
    full_alpha = rgba.getchannel("A") if rgba is not None else Image.new("L", rgb.size, 255)
    rgb_detail = _scaled(rgb, DETAIL_SIZE)
    rgb_small = _scaled(rgb_detail, STATS_SIZE)
    alpha = _scaled(_scaled(full_alpha, DETAIL_SIZE), STATS_SIZE)
    n = STATS_SIZE * STATS_SIZE

    alpha_hist = alpha.histogram()
    transparent_share = sum(alpha_hist[:ALPHA_TRANSPARENT]) / n
    opaque = sum(alpha_hist[ALPHA_OPAQUE:])
    opaque_share = opaque / n
    mask = alpha.point(_OPAQUE)
    box = mask.getbbox()
    content_box_share = ((box[2] - box[0]) * (box[3] - box[1]) / n) if box else 0.0

    colour_counts: Counter[str] = Counter()
    quantised: list[int] = []
    if opaque:
        poster = Image.merge("RGBA", (*rgb_small.point(_POSTERISE * 3).split(), mask))
        for count, (r, g, b, a) in poster.getcolors(maxcolors=n + 1) or []:
            if a:
                colour_counts[_colour_name(r, g, b)] += count
                quantised.append(count)
    quantised.sort(reverse=True)
    covered, colours_90 = 0, 0
    for count in quantised:
        if covered >= 0.9 * opaque:
            break
        covered += count
        colours_90 += 1
    colours = tuple(
        (name, count / opaque) for name, count in sorted(colour_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )

    luma = rgb_small.convert("L")
    if opaque:
        lap_hist = luma.filter(_LAPLACIAN).histogram(mask=mask)
        flat_share = sum(lap_hist[128 - FLAT_LAPLACIAN : 128 + FLAT_LAPLACIAN + 1]) / opaque
        edge_hist = luma.filter(ImageFilter.FIND_EDGES).histogram(mask=mask)
        edge_share = sum(edge_hist[STRONG_EDGE:]) / opaque
        luma_hist = luma.histogram(mask=mask)
        dark_share = sum(luma_hist[:DARK_LUMA]) / opaque
        light_share = sum(luma_hist[LIGHT_LUMA:]) / opaque
    else:
        flat_share, edge_share, dark_share, light_share = 1.0, 0.0, 0.0, 0.0

    blur, variation = _blur_measure(rgb_detail.convert("L"))
    blockiness, block_step = _blockiness(rgb.convert("L")) if max(rgb.size) <= 1024 else (1.0, 0.0)
    return VisualStats(
        animated=frames > 1,
        frames=frames,
        transparent_share=transparent_share,
        opaque_share=opaque_share,
        content_box_share=content_box_share,
        colours=colours,
        colours_90=colours_90,
        flat_share=flat_share,
        edge_share=edge_share,
        dark_share=dark_share,
        light_share=light_share,
        blur=blur,
        variation=variation,
        blockiness=blockiness,
        block_step=block_step,
    )


# --- scores -------------------------------------------------------------------------------

KIND_FLOOR = 0.02  # every kind keeps a little probability
RICH_COLOURS = (8, 96)  # colours_90 from which a picture starts to look photographic, and is fully
TWO_TONE = (0.7, 0.88)  # dark + light share of the opaque pixels
INK = (0.01, 0.03)  # the minority tone's share: text needs some ink
STROKES = (0.5, 1.2)  # strong-edge pixels per ink pixel: thin strokes have edges all over them
EDGES = (0.03, 0.10)  # strong-edge share: text needs a fair amount of edges
TEXT_TAG = 0.4  # "text-heavy" from this text score on
FLAT_TAG = 0.6  # "flat" for illustrations with at least this share of flat pixels
BLUR_RANGE = (0.42, 0.72)  # Crete-Roffet measure: crisp stickers stay below the start
VARIATION_RANGE = (0.05, 0.4)  # mean neighbour difference: below, nothing to judge (blank)
OPAQUE_RANGE = (0.02, 0.10)  # opaque share: below the start, almost nothing is there
BOX_RANGE = (0.03, 0.15)  # content bounding box share of the canvas
BLANK_MAX = 0.8  # low_quality of a single flat colour
BLOCK_RATIO = (2.0, 4.0)
BLOCK_STEP = (0.8, 2.0)


def kind_scores(stats: VisualStats) -> dict[str, float]:
    """photo / illustration / text, normalised to sum to 1."""
    colours = max(stats.colours_90, 1)
    richness = _ramp(math.log2(colours), math.log2(RICH_COLOURS[0]), math.log2(RICH_COLOURS[1]))
    ink = min(stats.dark_share, stats.light_share)
    two_tone = _ramp(stats.dark_share + stats.light_share, *TWO_TONE) * _ramp(ink, *INK)
    strokes = _ramp(stats.edge_share / max(ink, 0.01), *STROKES)
    text = two_tone * strokes * _ramp(stats.edge_share, *EDGES) * (1.0 - 0.5 * richness)
    photo = richness * (0.75 + 0.25 * (1.0 - stats.flat_share))
    illustration = (1.0 - richness) * (0.6 + 0.4 * stats.flat_share) * (1.0 - 0.7 * text)
    raw = {"photo": photo, "illustration": illustration, "text": text}
    total = sum(raw.values()) + KIND_FLOOR * len(raw)
    return {label: round((value + KIND_FLOOR) / total, 4) for label, value in raw.items()}


def blurry_score(stats: VisualStats) -> float:
    return round(_ramp(stats.blur, *BLUR_RANGE) * _ramp(stats.variation, *VARIATION_RANGE), 4)


def low_quality_score(stats: VisualStats) -> float:
    few_opaque = 1.0 - _ramp(stats.opaque_share, *OPAQUE_RANGE)
    tiny_content = 1.0 - _ramp(stats.content_box_share, *BOX_RANGE)
    blank = BLANK_MAX * (1.0 - _ramp(stats.variation, *VARIATION_RANGE)) if stats.opaque_share else 0.0
    blocky = _ramp(stats.blockiness, *BLOCK_RATIO) * _ramp(stats.block_step, *BLOCK_STEP)
    return round(max(few_opaque, tiny_content, blank, blocky), 4)


def colour_tags(stats: VisualStats) -> list[str]:
    tags = [name for name, _ in stats.colours[:1]]
    tags += [name for name, share in stats.colours[1:2] if share >= SECOND_COLOUR_SHARE]
    return tags


class BuiltinClassifier:
    """Offline heuristics (see the module docstring). Deterministic: same input, same result."""

    provider = PROVIDER
    model_name = MODEL_NAME

    def __init__(self, version_suffix: str = ""):
        self.nudity_model = nudity.enabled()
        self.version = f"{base_version()}{version_suffix}"
        if self.nudity_model:
            self.model_name = f"{MODEL_NAME}+{nudity.MODEL_TAG}"

    def classify(self, item: ClassifierInput) -> ClassificationResult:
        stats = analyse(item.data)
        kinds = kind_scores(stats)
        blurry = blurry_score(stats)
        low_quality = low_quality_score(stats)
        themes = match_themes(item.emojis, item.tags)

        all_scores: dict[str, float] = dict(kinds)
        for match in themes:
            all_scores.setdefault(match.theme, match.confidence)
        all_scores[BLURRY] = blurry
        all_scores[LOW_QUALITY] = low_quality

        kind = max(kinds, key=lambda label: (kinds[label], label))
        if themes:
            category, confidence = themes[0].theme, themes[0].confidence
        else:
            category, confidence = kind, kinds[kind]

        tags: list[str] = []
        if stats.animated:
            tags.append("animated")
        if stats.transparent_share > TRANSPARENT_SHARE:
            tags.append("transparent")
        tags += colour_tags(stats)
        tags.append(kind)
        if kind == "illustration" and stats.flat_share >= FLAT_TAG:
            tags.append("flat")
        if kinds["text"] >= TEXT_TAG:
            tags.append("text-heavy")
        if blurry >= BLURRY_TAG:
            tags.append("blurry")
        if low_quality >= LOW_QUALITY_TAG:
            tags.append("low-quality")
        for match in themes:
            tags += [match.theme, *match.subjects]
        tags = list(dict.fromkeys(tags))  # unique, first occurrence kept

        nsfw_score = nudity.score_image(item.data) if self.nudity_model else 0.0
        return ClassificationResult(
            category=category,
            confidence=round(confidence, 4),
            all_scores=all_scores,
            tags=tags,
            nsfw_score=nsfw_score,
            is_nsfw=nsfw_score >= NSFW_FLAG,
            provider=self.provider,
            model_name=self.model_name,
            classification_version=self.version,
        )
