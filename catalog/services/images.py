"""Validating uploaded sticker images and converting them into WhatsApp-ready stickers.

Pure: bytes in, ``ConvertedSticker`` out; no database, no storage.

The real type is sniffed from the magic bytes (the filename and the declared content type are
never trusted) and Pillow is only allowed to open the sniffed format. Everything that could
make a small upload expensive is refused from the headers, before any pixel is decoded: the
source size, the dimensions, the frame count and the total number of pixels across frames.
What passes is converted frame by frame into a 512x512 WebP with transparent padding: source
frames are decoded one at a time, and each converted frame goes to the encoder as soon as it is
ready instead of all of them being collected first (bench/upload_memory_bench.py measures it).

Truncated or corrupt files fail because every frame used is ``load()``-ed and
``ImageFile.LOAD_TRUNCATED_IMAGES`` is left at its default (False); nothing here changes it.
"""

import io
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# _webp is Pillow's binding for libwebp's animation encoder, used the way WebPImagePlugin's
# _save_all uses it. The public ``save(save_all=True, append_images=[...])`` needs every frame as
# an image up front (240 frames of 512x512 RGBA are 240 MiB); the encoder takes them one at a time.
from PIL import Image, _webp

# Limits come from settings at call time (config/settings.py holds their defaults and says why):
# STICKER_UPLOAD_SOURCE_MAX_BYTES, STICKER_UPLOAD_MAX_DIMENSION, STICKER_UPLOAD_MAX_WEBP_DIMENSION
# (Pillow's WebP decoder holds about four canvases of a frame), STICKER_UPLOAD_MAX_FRAMES,
# STICKER_UPLOAD_MAX_TOTAL_PIXELS (frames x width x height: the decoding work one pass over an
# animation costs) and STICKER_UPLOAD_CONVERT_MAX_SECONDS (the wall-clock budget of a conversion).

STICKER_SIZE = 512
STICKER_MIMETYPE = "image/webp"

# WhatsApp's published limits for a sticker, met by every stored sticker: a 512x512 WebP, static
# at most 100 KB, animated at most 500 KB, lasting at most 10 s, no frame shorter than 8 ms. To fit,
# the quality is lowered first, then the frame rate (frames merged), then the frame count (the
# animation is cut); what still does not fit is refused (422 IMAGE_TOO_COMPLEX, with the reason).
STATIC_TARGET_BYTES = 100 * 1024
ANIMATED_TARGET_BYTES = 500 * 1024
MAX_ANIMATION_MS = 10_000
WHATSAPP_MIN_FRAME_MS = 8
STATIC_QUALITIES = (80, 70, 60, 50, 35, 20)
# Every animated attempt decodes and resizes the source again (see _convert_animated): few, wide
# steps. Method 2 costs ~5% more time than 0-1 and saves ~25% size, often a whole attempt.
ANIMATED_QUALITIES = (80, 60, 40)
MAX_FRAME_STEP = 4  # the frame rate is lowered to a quarter at most
MIN_OUTPUT_FRAMES = 2
STATIC_METHOD = 4
ANIMATED_METHOD = 2
# libwebp animation keyframe spacing for lossy frames (Pillow's and gif2webp's defaults).
ANIMATED_KMIN = 3
ANIMATED_KMAX = 5

DEFAULT_FRAME_DURATION_MS = 100
MIN_FRAME_DURATION_MS = 20  # shorter GIF delays play at 100 ms in browsers; never below WhatsApp's 8 ms

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_GIF_MAGICS = (b"GIF87a", b"GIF89a")
_VP8X_ALPHA_FLAG = 0x10  # in the flags byte of the extended-format header chunk (file offset 20)

# What Pillow raises on files it cannot parse or decode (UnidentifiedImageError is an OSError;
# truncated data raises OSError, broken chunk structure SyntaxError, missing frames EOFError).
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, IndexError, KeyError, TypeError)

# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION_TAG = 0x0112


class ImageRejected(Exception):
    """The upload is not an acceptable sticker image. ``code`` and ``status`` go to the client."""

    def __init__(self, message: str, code: str, status: int):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"ImageRejected(code={self.code!r}, status={self.status}, message={self.message!r})"


@dataclass(frozen=True)
class ConvertedSticker:
    data: bytes  # the WebP bytes to store
    mimetype: str  # "image/webp"
    is_animated: bool
    width: int  # 512
    height: int  # 512
    frame_count: int
    source_format: str  # "PNG" | "JPEG" | "WEBP" | "GIF"
    perceptual_hash: str  # 16 hex chars: dhash_hex() of the first converted frame


@dataclass(frozen=True)
class _Limits:
    source_max_bytes: int
    max_dimension: int
    max_webp_dimension: int
    max_frames: int
    max_total_pixels: int
    deadline: float  # time.monotonic() by which the conversion must be done

    @classmethod
    def from_settings(cls) -> "_Limits":
        return cls(
            source_max_bytes=settings.STICKER_UPLOAD_SOURCE_MAX_BYTES,
            max_dimension=settings.STICKER_UPLOAD_MAX_DIMENSION,
            max_webp_dimension=settings.STICKER_UPLOAD_MAX_WEBP_DIMENSION,
            max_frames=settings.STICKER_UPLOAD_MAX_FRAMES,
            max_total_pixels=settings.STICKER_UPLOAD_MAX_TOTAL_PIXELS,
            deadline=time.monotonic() + settings.STICKER_UPLOAD_CONVERT_MAX_SECONDS,
        )

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise _too_complex(f"converting it takes over {settings.STICKER_UPLOAD_CONVERT_MAX_SECONDS:g} s")


# --- rejections -------------------------------------------------------------------------------


def _empty() -> ImageRejected:
    return ImageRejected("The file is empty.", "EMPTY_FILE", 400)


def _file_too_large(limit: int) -> ImageRejected:
    return ImageRejected(f"The file is larger than {limit / (1024 * 1024):g} MiB.", "FILE_TOO_LARGE", 413)


def _unsupported() -> ImageRejected:
    return ImageRejected("Only PNG, JPEG, WebP and GIF images are accepted.", "UNSUPPORTED_MEDIA", 415)


def _invalid() -> ImageRejected:
    return ImageRejected("The image is corrupt or truncated and cannot be read.", "INVALID_IMAGE", 422)


def _image_too_large(detail: str) -> ImageRejected:
    return ImageRejected(f"The image is too large: {detail}.", "IMAGE_TOO_LARGE", 422)


def _too_many_frames(limit: int) -> ImageRejected:
    return ImageRejected(f"The animation has more than {limit} frames.", "TOO_MANY_FRAMES", 422)


def _too_complex(reason: str) -> ImageRejected:
    return ImageRejected(f"The image is too complex for a sticker: {reason}.", "IMAGE_TOO_COMPLEX", 422)


@contextmanager
def _decoding() -> Iterator[None]:
    """Turn what Pillow raises while parsing or decoding into a rejection."""
    try:
        yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning only arrives as an exception when warnings are configured as errors;
        # otherwise _check_dimensions applies the same MAX_IMAGE_PIXELS bound itself.
        raise _image_too_large("decompression bomb") from exc
    except _DECODE_ERRORS as exc:
        raise _invalid() from exc


# --- public API -------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str | None:
    """The image format named by the magic bytes at the start of a file, or None."""
    head = bytes(head[:12])
    if head.startswith(_PNG_MAGIC):
        return "PNG"
    if head.startswith(_JPEG_MAGIC):
        return "JPEG"
    if head[:6] in _GIF_MAGICS:
        return "GIF"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def convert_upload(data: bytes) -> ConvertedSticker:
    """Validate an uploaded image and convert it into a 512x512 WebP sticker.

    Raises ImageRejected (see the codes in the module's rejection helpers) for anything that is
    not an acceptable image.
    """
    if not data:
        raise _empty()
    limits = _Limits.from_settings()
    if len(data) > limits.source_max_bytes:
        raise _file_too_large(limits.source_max_bytes)
    source_format = sniff_format(data[:16])
    if source_format is None:
        raise _unsupported()
    if source_format == "GIF" and _gif_frame_count(data, stop_after=limits.max_frames) > limits.max_frames:
        # Counted from the block structure without decoding: a GIF of a million 1x1 frames
        # is refused in microseconds instead of after Pillow seeks through all of them.
        raise _too_many_frames(limits.max_frames)

    with _decoding():
        image = Image.open(io.BytesIO(data), formats=[source_format])
    with image:
        frame_count = _check_header(image, source_format, limits)
        if frame_count == 1:
            return _convert_static(image, source_format, limits)
        return _convert_animated(image, source_format, frame_count, limits)


def dhash_hex(image: Image.Image) -> str:
    """64-bit difference hash as 16 hex chars.

    The image is composited on white (transparent areas count as white), reduced to a 9x8
    grayscale thumbnail, and each bit says whether a pixel is brighter than its right-hand
    neighbour. Near-duplicates (resized, re-encoded) land within a few bits of each other.
    """
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    # Resizing first is cheap at any size; Pillow resizes RGBA with premultiplied alpha, so
    # compositing the thumbnail equals (up to rounding) thumbnailing the composite.
    small = rgba.resize((9, 8), Image.Resampling.LANCZOS)
    flattened = Image.new("RGBA", small.size, (255, 255, 255, 255))
    flattened.alpha_composite(small)
    pixels = flattened.convert("L").tobytes()
    value = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            value = (value << 1) | (left > right)
    return f"{value:016x}"


def phash_value(hex_hash: str) -> int | None:
    """A stored perceptual hash (hex) as an integer; None when there is none or it is malformed."""
    try:
        return int(hex_hash, 16) if hex_hash else None
    except ValueError:
        return None


def phash_distance(a: int, b: int) -> int:
    """Number of differing bits between two perceptual hashes: the one near-duplicate measure."""
    return (a ^ b).bit_count()


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    if len(a) != len(b):
        raise ValueError(f"hashes differ in length: {len(a)} != {len(b)}")
    return phash_distance(int(a, 16), int(b, 16))


# --- validation -------------------------------------------------------------------------------


def _check_dimensions(size: tuple[int, int], limits: _Limits, source_format: str = "") -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise _invalid()
    side = limits.max_dimension
    if source_format == "WEBP":
        side = min(side, limits.max_webp_dimension)
    if width > side or height > side:
        raise _image_too_large(f"{width}x{height} exceeds {side}x{side}")
    max_pixels = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and width * height > max_pixels:
        raise _image_too_large(f"{width}x{height} exceeds {max_pixels} pixels")


def _check_header(image: Image.Image, source_format: str, limits: _Limits) -> int:
    """Check what the headers promise, before decoding any pixel; return the frame count."""
    _check_dimensions(image.size, limits, source_format)
    if source_format == "JPEG":
        frame_count = 1  # an MPO (multi-picture JPEG from a camera) is a photo, not an animation
    else:
        with _decoding():
            # WebP and APNG declare their count; for GIF Pillow skims the blocks (no decoding),
            # and _gif_frame_count already bounded how many there can be.
            frame_count = getattr(image, "n_frames", 1)
    if frame_count > limits.max_frames:
        raise _too_many_frames(limits.max_frames)
    width, height = image.size
    if frame_count * width * height > limits.max_total_pixels:
        raise _image_too_large(f"{frame_count} frames of {width}x{height}")
    return frame_count


def _gif_frame_count(data: bytes, *, stop_after: int) -> int:
    """Count the image descriptors of a GIF from its block structure, without decoding.

    Stops once the count exceeds ``stop_after``. On a malformed stream it returns the count so
    far: this is only an early refusal, Pillow's own parse stays authoritative.
    """
    end = len(data)
    if end < 13:
        return 0
    pos = 13
    flags = data[10]
    if flags & 0x80:  # global colour table
        pos += 3 << ((flags & 7) + 1)
    count = 0
    while pos < end:
        introducer = data[pos]
        pos += 1
        if introducer == 0x21:  # extension: label byte, then sub-blocks
            pos += 1
        elif introducer == 0x2C:  # image descriptor, optional local colour table, LZW code size
            count += 1
            if count > stop_after or pos + 9 > end:
                return count
            flags = data[pos + 8]
            pos += 9
            if flags & 0x80:
                pos += 3 << ((flags & 7) + 1)
            pos += 1
        else:  # 0x3B trailer, or garbage
            return count
        while pos < end:  # data sub-blocks, terminated by a zero-length block
            length = data[pos]
            pos += 1 + length
            if length == 0:
                break
    return count


# --- conversion -------------------------------------------------------------------------------


def _fit_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size of ``size`` scaled (up or down) to fit inside the sticker, keeping aspect ratio."""
    width, height = size
    scale = min(STICKER_SIZE / width, STICKER_SIZE / height)
    return (
        max(1, min(STICKER_SIZE, round(width * scale))),
        max(1, min(STICKER_SIZE, round(height * scale))),
    )


def _resize_rgba(
    frame: Image.Image, size: tuple[int, int], resample: Image.Resampling, reducing_gap: float
) -> Image.Image:
    """``frame`` resized to ``size`` as RGBA, with as few full-resolution copies as possible.

    ``reducing_gap`` (see Image.resize) lets Pillow first shrink by an integer factor with a box
    filter: 3.0 is indistinguishable from a plain resize, 1.0 is about 5x faster at 2:1.
    """
    if frame.mode in ("I", "F") or frame.mode.startswith("I;"):
        # 16-bit grayscale PNG: scale to 8 bits (a plain convert would clip everything to white).
        frame = frame.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    elif frame.mode not in ("RGB", "RGBA", "L", "LA"):
        # Palette, bilevel, CMYK...: resize would fall back to nearest neighbour or refuse.
        frame = frame.convert("RGBA")
    if frame.size != size:
        # Pillow resizes RGBA/LA with premultiplied alpha, so transparent pixels do not bleed.
        frame = frame.resize(size, resample, reducing_gap=reducing_gap)
    return frame if frame.mode == "RGBA" else frame.convert("RGBA")


def _on_canvas(frame: Image.Image) -> Image.Image:
    """``frame`` centred on a transparent sticker-sized canvas."""
    canvas = Image.new("RGBA", (STICKER_SIZE, STICKER_SIZE), (0, 0, 0, 0))
    canvas.paste(frame, ((STICKER_SIZE - frame.width) // 2, (STICKER_SIZE - frame.height) // 2))
    return canvas


def _exif_orientation(image: Image.Image) -> int:
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block is no reason to refuse the picture
        return 1
    return orientation if orientation in _ORIENTATION_TRANSPOSE else 1


def _convert_static(image: Image.Image, source_format: str, limits: _Limits) -> ConvertedSticker:
    # Resized in the stored orientation, then the small result is turned upright: fitting is
    # symmetric, so fitting the stored size and rotating equals rotating and fitting.
    target = _fit_size(image.size)
    with _decoding():
        if source_format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below the target size.
            image.draft(None, target)
        image.load()
        frame = _resize_rgba(image, target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    orientation = _exif_orientation(image)  # after load(): a PNG may keep its EXIF after the pixels
    if orientation != 1:
        frame = frame.transpose(_ORIENTATION_TRANSPOSE[orientation])
    canvas = _on_canvas(frame)

    data = b""
    for quality in STATIC_QUALITIES:
        limits.check_time()
        buffer = io.BytesIO()
        canvas.save(buffer, "WEBP", quality=quality, method=STATIC_METHOD)
        data = buffer.getvalue()
        if len(data) <= STATIC_TARGET_BYTES:
            break
    else:
        raise _too_complex(
            f"even at quality {STATIC_QUALITIES[-1]} it is {len(data) // 1024} KB, over WhatsApp's "
            f"{STATIC_TARGET_BYTES // 1024} KB for a static sticker"
        )
    return ConvertedSticker(
        data=data,
        mimetype=STICKER_MIMETYPE,
        is_animated=False,
        width=STICKER_SIZE,
        height=STICKER_SIZE,
        frame_count=1,
        source_format=source_format,
        perceptual_hash=dhash_hex(canvas),
    )


def _frame_duration(value: Any) -> int:
    try:
        duration = round(float(value))
    except (TypeError, ValueError):
        duration = 0
    if duration <= 0:
        return DEFAULT_FRAME_DURATION_MS
    return max(MIN_FRAME_DURATION_MS, duration)


def _iter_frames(
    image: Image.Image, frame_count: int, limits: _Limits, *, step: int = 1
) -> Iterator[tuple[Image.Image, int]]:
    """Every `step`-th frame on the sticker canvas with its duration in ms (the durations of the
    frames skipped after it added: the frame rate lowers, the timing stays), decoding one frame at
    a time. Skipped frames are still decoded (a GIF frame draws over the previous ones) but never
    resized. Stops at the caller's will: the rest of the source is then never decoded."""
    decoded_pixels = 0
    pending: tuple[Image.Image, int] | None = None
    for index in range(frame_count):
        limits.check_time()
        with _decoding():
            image.seek(index)
            # A GIF frame may reach outside the logical screen and grow the canvas: re-check
            # the size of every frame before decoding it.
            _check_dimensions(image.size, limits)
            decoded_pixels += image.width * image.height
            if decoded_pixels > limits.max_total_pixels:
                raise _image_too_large(f"more than {limits.max_total_pixels} pixels across frames")
            image.load()
            duration = _frame_duration(image.info.get("duration"))
            if index % step:
                assert pending is not None
                pending = (pending[0], pending[1] + duration)
                continue
            frame = _resize_rgba(image, _fit_size(image.size), Image.Resampling.BILINEAR, reducing_gap=1.0)
        if pending is not None:
            yield pending
        pending = (_on_canvas(frame), duration)
    if pending is not None:
        yield pending


class _AnimatedWebPWriter:
    """An animated WebP built one frame at a time (see the ``_webp`` import)."""

    def __init__(self, quality: int):
        self._quality = quality
        self._timestamp = 0
        self._encoder = _webp.WebPAnimEncoder(
            (STICKER_SIZE, STICKER_SIZE),
            0,  # background: transparent
            0,  # loop forever
            False,  # minimize_size
            ANIMATED_KMIN,
            ANIMATED_KMAX,
            False,  # allow_mixed
            False,  # verbose
        )

    def add(self, frame: Image.Image, duration_ms: int) -> None:
        lossless, alpha_quality = False, 100
        self._encoder.add(frame.getim(), self._timestamp, lossless, self._quality, alpha_quality, ANIMATED_METHOD)
        self._timestamp += duration_ms

    def finish(self) -> bytes:
        self._encoder.add(None, self._timestamp, False, self._quality, 100, 0)  # flush: ends the last frame
        data = self._encoder.assemble("", "", "")  # no ICC profile, EXIF or XMP
        if data is None:
            raise RuntimeError("libwebp could not assemble the animation")
        return data


def _with_alpha_flag(data: bytes) -> bytes:
    """``data`` with the VP8X "has alpha" flag set.

    libwebp's animation encoder crops each keyframe to its non-transparent rectangle; when what
    is left is opaque (opaque art on transparent padding) no frame carries alpha, the flag stays
    off, and decoders that honour it (Pillow among them) paint the padding black instead of
    transparent. The canvas outside the frames is transparent, so the flag is the truth.
    """
    if len(data) < 30 or data[12:16] != b"VP8X":
        return data
    flags = data[20] | _VP8X_ALPHA_FLAG
    return data[:20] + bytes([flags]) + data[21:]


@dataclass(frozen=True)
class _Attempt:
    """One encoding of an animation: its quality, frame step (frame rate / step) and, once the
    frame count must be lowered, how many output frames to keep."""

    quality: int
    step: int = 1
    max_frames: int | None = None


@dataclass
class _Encoded:
    data: bytes
    frames: int  # frames given to the encoder
    first_frame: Image.Image
    has_transparency: bool


def _encode_animation(image: Image.Image, frame_count: int, limits: _Limits, attempt: _Attempt) -> _Encoded:
    writer = _AnimatedWebPWriter(attempt.quality)
    first_frame: Image.Image | None = None
    has_transparency = False
    frames = 0
    elapsed = 0
    for frame, duration in _iter_frames(image, frame_count, limits, step=attempt.step):
        # At most MAX_ANIMATION_MS: a longer animation is cut (the frame count lowered).
        duration = min(duration, MAX_ANIMATION_MS - elapsed)
        if duration < MIN_FRAME_DURATION_MS:
            break
        if first_frame is None:
            first_frame = frame
        has_transparency = has_transparency or frame.getextrema()[3][0] < 255
        writer.add(frame, duration)
        frames += 1
        elapsed += duration
        if attempt.max_frames is not None and frames >= attempt.max_frames:
            break
    limits.check_time()
    data = writer.finish()
    if has_transparency:
        data = _with_alpha_flag(data)
    assert first_frame is not None
    return _Encoded(data=data, frames=frames, first_frame=first_frame, has_transparency=has_transparency)


def _next_attempt(attempt: _Attempt, encoded: _Encoded, frame_count: int) -> _Attempt | None:
    """What to lower next to fit ANIMATED_TARGET_BYTES: the quality, then the frame rate, then
    the frame count, each by about as much as the last size says is needed; None: nothing left."""
    ratio = len(encoded.data) / ANIMATED_TARGET_BYTES
    lower = [q for q in ANIMATED_QUALITIES if q < attempt.quality]
    if lower:
        # Far over: go straight to the lowest quality instead of paying for every step.
        return _Attempt(quality=lower[-1] if ratio > 1.6 else lower[0])
    # Merged frames keep at least MIN_OUTPUT_FRAMES of them.
    max_step = min(MAX_FRAME_STEP, max(1, frame_count // MIN_OUTPUT_FRAMES))
    if attempt.step < max_step and attempt.max_frames is None:
        step = min(max_step, max(attempt.step + 1, math.ceil(attempt.step * ratio * 1.1)))
        return _Attempt(quality=attempt.quality, step=step)
    if encoded.frames > MIN_OUTPUT_FRAMES:
        keep = max(MIN_OUTPUT_FRAMES, min(encoded.frames - 1, math.floor(encoded.frames / (ratio * 1.1))))
        return _Attempt(quality=attempt.quality, step=attempt.step, max_frames=keep)
    return None


def _convert_animated(image: Image.Image, source_format: str, frame_count: int, limits: _Limits) -> ConvertedSticker:
    attempt: _Attempt | None = _Attempt(quality=ANIMATED_QUALITIES[0])
    first: _Encoded | None = None
    while attempt is not None:
        # Each attempt decodes the source again rather than keeping every converted frame.
        encoded = _encode_animation(image, frame_count, limits, attempt)
        first = first or encoded
        if len(encoded.data) <= ANIMATED_TARGET_BYTES:
            break
        attempt = _next_attempt(attempt, encoded, frame_count)
    else:
        raise _too_complex(
            f"at the lowest quality, a quarter of the frame rate and {MIN_OUTPUT_FRAMES} frames it is still "
            f"over WhatsApp's {ANIMATED_TARGET_BYTES // 1024} KB for an animated sticker"
        )
    assert first is not None
    with Image.open(io.BytesIO(encoded.data), formats=["WEBP"]) as written:
        # libwebp folds a frame identical to the previous one into its predecessor's duration.
        written_frames = written.n_frames
    return ConvertedSticker(
        data=encoded.data,
        mimetype=STICKER_MIMETYPE,
        is_animated=written_frames > 1,
        width=STICKER_SIZE,
        height=STICKER_SIZE,
        frame_count=written_frames,
        source_format=source_format,
        # Of the first attempt's first frame: the same picture whatever the attempt that fitted.
        perceptual_hash=dhash_hex(first.first_frame),
    )


def whatsapp_violations(data: bytes) -> list[str]:
    """What in these stored bytes breaks WhatsApp's published sticker limits (empty: none), read
    back by decoding them, not from what the encoder was told (tests and the bench use it)."""
    problems = []
    with Image.open(io.BytesIO(data)) as image:
        frames = getattr(image, "n_frames", 1)
        if image.format != "WEBP" or image.size != (STICKER_SIZE, STICKER_SIZE):
            problems.append(f"{image.format} {image.size}, not a 512x512 WebP")
        limit = ANIMATED_TARGET_BYTES if frames > 1 else STATIC_TARGET_BYTES
        if len(data) > limit:
            problems.append(f"{len(data)} bytes, over {limit}")
        durations = []
        for index in range(frames if frames > 1 else 0):
            image.seek(index)
            image.load()
            durations.append(image.info.get("duration") or 0)
        if durations and (sum(durations) > MAX_ANIMATION_MS or min(durations) < WHATSAPP_MIN_FRAME_MS):
            problems.append(f"frame durations {durations}")
    return problems


__all__ = [
    "ConvertedSticker",
    "ImageRejected",
    "convert_upload",
    "dhash_hex",
    "hamming",
    "phash_distance",
    "phash_value",
    "sniff_format",
    "whatsapp_violations",
]
