"""Sticker image validation and conversion (catalog.services.images). Pure: no database."""

import io
import random
import struct
import time
import zlib

import pytest
from django.conf import settings as django_settings
from PIL import Image, ImageDraw, ImageFile

from catalog.services import images
from catalog.services.images import (
    ConvertedSticker,
    ImageRejected,
    convert_upload,
    dhash_hex,
    hamming,
    sniff_format,
    whatsapp_violations,
)

# --- input builders ---------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def scene(size=(400, 300), variant=0) -> Image.Image:
    """A photo-ish picture: a gradient with a few shapes, different per variant."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    w, h = size
    if variant == 0:
        draw.ellipse((w * 0.1, h * 0.13, w * 0.5, h * 0.66), fill=(220, 40, 40))
        draw.rectangle((w * 0.62, h * 0.2, w * 0.95, h * 0.86), fill=(30, 30, 160))
    else:
        draw.rectangle((w * 0.05, h * 0.5, w * 0.95, h * 0.93), fill=(20, 200, 40))
        draw.ellipse((w * 0.5, h * 0.03, w * 0.97, h * 0.46), fill=(250, 250, 0))
    return image


def noisy(size=(200, 200), seed=0) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def transparent_png(size=(300, 150)) -> bytes:
    """Opaque orange art with a transparent hole near its left edge."""
    image = Image.new("RGBA", size, (240, 120, 20, 255))
    ImageDraw.Draw(image).ellipse((10, 10, 60, 60), fill=(0, 0, 0, 0))
    return encode(image, "PNG")


COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def animation(fmt: str, durations, size=(160, 80)) -> bytes:
    frames = [Image.new("RGB", size, colour) for colour in COLOURS[: len(durations)]]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=list(durations), loop=0)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit grayscale PNG of blank rows: tens of kilobytes for 20,000x20,000."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def tiny_frames_gif(frame_count: int, size=(2, 2)) -> bytes:
    """A GIF of ``frame_count`` frames written block by block (Pillow's writer is slow at 10k frames).

    The LZW data sends a clear code before every pixel, which is valid and keeps every code
    3 bits wide, so no real compressor is needed. Frames alternate black and white.
    """
    width, height = size
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff")
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for index in range(frame_count):
        codes = []
        for _ in range(width * height):
            codes += [4, index % 2]  # clear, pixel
        codes.append(5)  # end of information
        bits = nbits = 0
        lzw = bytearray()
        for code in codes:
            bits |= code << nbits
            nbits += 3
            while nbits >= 8:
                lzw.append(bits & 0xFF)
                bits >>= 8
                nbits -= 8
        if nbits:
            lzw.append(bits)
        out += b"\x21\xf9\x04\x04\x0a\x00\x00\x00"  # graphic control: keep previous, 100 ms
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        out += b"\x02" + bytes([len(lzw)]) + bytes(lzw) + b"\x00"
    out += b";"
    return bytes(out)


def read_frames(data: bytes) -> list[tuple[Image.Image, int]]:
    """Every frame of a WebP as (RGBA copy, duration ms)."""
    frames = []
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "WEBP"
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            image.load()
            frames.append((image.convert("RGBA"), image.info.get("duration")))
    return frames


def encoded_size(data: bytes, **attempt) -> int:
    """Bytes of one encoding of an animation with these settings (to aim a target between steps)."""
    with Image.open(io.BytesIO(data)) as image:
        limits = images._Limits.from_settings()
        return len(images._encode_animation(image, image.n_frames, limits, images._Attempt(**attempt)).data)


def rejected(data: bytes) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        convert_upload(data)
    return caught.value


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    """Fail the test if any image file decodes pixel data."""

    def refuse(self):
        raise AssertionError(f"pixels of a {self.format} {self.size} were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# --- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"GIF87a\x01\x00\x01\x00", "GIF"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # RIFF, but audio
        (b"\x89PNG\r\n", None),  # signature cut short
        (b"GIF90a", None),
        (b"hello, I am a text file", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"", None),
    ],
)
def test_sniff_format_reads_magic_bytes(head, expected):
    assert sniff_format(head) == expected


def test_sniff_format_agrees_with_real_encoders():
    image = scene((20, 10))
    assert sniff_format(encode(image, "PNG")[:16]) == "PNG"
    assert sniff_format(encode(image, "JPEG")[:16]) == "JPEG"
    assert sniff_format(encode(image, "GIF")[:16]) == "GIF"
    assert sniff_format(encode(image, "WEBP")[:16]) == "WEBP"


# --- static conversions -----------------------------------------------------------------------


def test_transparent_png_becomes_a_padded_static_webp():
    result = convert_upload(transparent_png((300, 150)))

    assert isinstance(result, ConvertedSticker)
    assert (result.mimetype, result.source_format) == ("image/webp", "PNG")
    assert (result.width, result.height, result.frame_count, result.is_animated) == (512, 512, 1, False)
    assert len(result.perceptual_hash) == 16
    int(result.perceptual_hash, 16)
    [(frame, _)] = read_frames(result.data)
    assert frame.size == (512, 512)
    # 300x150 fits as 512x256, centred: rows 0-127 and 384-511 are transparent padding.
    assert frame.getpixel((0, 0))[3] == 0
    assert frame.getpixel((511, 511))[3] == 0
    assert frame.getpixel((256, 100))[3] == 0
    r, g, b, a = frame.getpixel((256, 256))
    assert a == 255 and r > 200 and 80 < g < 160 and b < 60
    # The hole in the art stays transparent too (source (35, 35) -> 512/300 scale, +128 rows).
    assert frame.getpixel((60, 128 + 60))[3] == 0
    assert len(result.data) <= images.STATIC_TARGET_BYTES


def test_jpeg_is_converted_and_padded():
    result = convert_upload(encode(scene((400, 300)), "JPEG", quality=90))

    assert result.source_format == "JPEG"
    assert not result.is_animated
    [(frame, _)] = read_frames(result.data)
    assert frame.size == (512, 512)
    assert frame.getpixel((5, 5))[3] == 0  # 400x300 -> 512x384: 64 rows of padding top and bottom
    assert frame.getpixel((256, 256))[3] == 255


def test_jpeg_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise (portrait)
    data = encode(Image.new("RGB", (400, 200), (200, 30, 30)), "JPEG", exif=exif)

    [(frame, _)] = read_frames(convert_upload(data).data)

    # Upright it is 200x400 -> 256x512: padding is left and right, not top and bottom.
    assert frame.getpixel((30, 256))[3] == 0
    assert frame.getpixel((256, 30))[3] == 255


def test_static_webp_is_converted():
    result = convert_upload(encode(scene((256, 256)), "WEBP", quality=90))

    assert (result.source_format, result.is_animated, result.frame_count) == ("WEBP", False, 1)
    [(frame, _)] = read_frames(result.data)
    assert frame.size == (512, 512)
    assert frame.getpixel((0, 0))[3] == 255  # square source: no padding


def test_single_frame_gif_is_static():
    result = convert_upload(encode(scene((100, 50)).convert("P"), "GIF"))

    assert (result.source_format, result.is_animated, result.frame_count) == ("GIF", False, 1)
    assert read_frames(result.data)[0][0].getpixel((0, 0))[3] == 0


def test_16_bit_grayscale_png_keeps_its_tone():
    data = encode(Image.new("I;16", (64, 64), 32768), "PNG")

    [(frame, _)] = read_frames(convert_upload(data).data)

    r, g, b, a = frame.getpixel((256, 256))
    assert a == 255 and 110 < r < 145 and abs(r - g) < 4 and abs(r - b) < 4  # mid grey, not clipped to white


def test_small_image_is_scaled_up_to_fill_the_canvas():
    [(frame, _)] = read_frames(convert_upload(encode(Image.new("RGB", (16, 16), (0, 0, 255)), "PNG")).data)

    assert frame.getpixel((0, 0))[3] == 255 and frame.getpixel((511, 511))[3] == 255


def test_oversized_static_output_is_reencoded_smaller(monkeypatch):
    data = encode(scene((512, 512)), "PNG")
    default = convert_upload(data)  # fits the 100 KB target at the first quality

    monkeypatch.setattr(images, "STATIC_TARGET_BYTES", len(default.data) - 1)
    squeezed = convert_upload(data)

    assert len(squeezed.data) <= images.STATIC_TARGET_BYTES < len(default.data)
    assert read_frames(squeezed.data)[0][0].size == (512, 512)


def test_static_output_that_cannot_fit_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(images, "STATIC_TARGET_BYTES", 1)

    error = rejected(encode(scene((512, 512)), "PNG"))

    assert (error.code, error.status) == ("IMAGE_TOO_COMPLEX", 422)
    assert "KB" in error.message and "static" in error.message


def test_pure_noise_static_is_within_whatsapps_limit_or_refused():
    try:
        result = convert_upload(encode(noisy((512, 512)), "PNG"))
    except ImageRejected as error:
        assert error.code == "IMAGE_TOO_COMPLEX"
    else:
        assert whatsapp_violations(result.data) == []


# --- animations -------------------------------------------------------------------------------


def test_animated_gif_keeps_frames_durations_and_transparent_padding():
    result = convert_upload(animation("GIF", [100, 200, 300]))

    assert (result.source_format, result.is_animated, result.frame_count) == ("GIF", True, 3)
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.n_frames == 3
        assert image.info["loop"] == 0
    frames = read_frames(result.data)
    assert [duration for _, duration in frames] == [100, 200, 300]
    for (frame, _), colour in zip(frames, COLOURS, strict=True):
        assert frame.size == (512, 512)
        # 160x80 -> 512x256: the corner is padding and must stay transparent in every frame.
        assert frame.getpixel((0, 0))[3] == 0
        assert frame.getpixel((511, 511))[3] == 0
        r, g, b, a = frame.getpixel((256, 256))
        assert a == 255
        assert max(abs(r - colour[0]), abs(g - colour[1]), abs(b - colour[2])) < 40


def test_animated_webp_input_keeps_frames_and_durations():
    result = convert_upload(animation("WEBP", [50, 60, 70], size=(80, 160)))

    assert (result.source_format, result.is_animated, result.frame_count) == ("WEBP", True, 3)
    frames = read_frames(result.data)
    assert [duration for _, duration in frames] == [50, 60, 70]
    assert all(frame.getpixel((0, 0))[3] == 0 and frame.getpixel((256, 256))[3] == 255 for frame, _ in frames)


def test_animated_png_keeps_animation():
    result = convert_upload(animation("PNG", [100, 100, 100]))

    assert (result.source_format, result.is_animated, result.frame_count) == ("PNG", True, 3)


def test_gif_frame_durations_default_and_minimum():
    frames = [Image.new("RGB", (32, 32), colour) for colour in COLOURS]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[0, 10, 250], loop=0)

    durations = [duration for _, duration in read_frames(convert_upload(data).data)]

    assert durations == [images.DEFAULT_FRAME_DURATION_MS, images.MIN_FRAME_DURATION_MS, 250]


def test_hand_written_gif_decodes():
    """The builder used for the 10,000-frame case produces GIFs Pillow and the converter accept."""
    result = convert_upload(tiny_frames_gif(4))

    assert (result.is_animated, result.frame_count) == (True, 4)
    frames = read_frames(result.data)
    assert frames[0][0].getpixel((256, 256))[:3] == (0, 0, 0)
    assert min(frames[1][0].getpixel((256, 256))[:3]) > 240


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_oversized_animated_output_is_reencoded_smaller(monkeypatch, fmt):
    """Every attempt decodes the source again from its first frame: each format must rewind."""
    frames = [noisy((128, 128), seed) for seed in range(3)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=[100, 150, 200], loop=0)
    default = convert_upload(data)

    monkeypatch.setattr(images, "ANIMATED_TARGET_BYTES", len(default.data) - 1)
    squeezed = convert_upload(data)

    assert len(squeezed.data) <= images.ANIMATED_TARGET_BYTES < len(default.data)
    assert squeezed.frame_count == 3  # a lower quality was enough: frames and timing kept
    assert [duration for _, duration in read_frames(squeezed.data)] == [100, 150, 200]
    assert squeezed.perceptual_hash == default.perceptual_hash


def noisy_animation(frame_count: int, duration: int, size=(96, 96)) -> bytes:
    frames = [noisy(size, seed) for seed in range(frame_count)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0)


def test_the_frame_rate_is_lowered_before_the_frame_count(monkeypatch):
    data = noisy_animation(8, 50)
    default = convert_upload(data)  # fits at the first quality
    lowest = encoded_size(data, quality=images.ANIMATED_QUALITIES[-1])
    # Over the target even at the lowest quality, within it at half the frame rate.
    monkeypatch.setattr(images, "ANIMATED_TARGET_BYTES", int(lowest * 0.7))

    result = convert_upload(data)

    assert len(result.data) <= images.ANIMATED_TARGET_BYTES < len(default.data)
    durations = [duration for _, duration in read_frames(result.data)]
    assert 2 <= len(durations) < 8
    assert sum(durations) == 8 * 50  # frames merged: the animation lasts as long as before


def test_the_frame_count_is_lowered_last(monkeypatch):
    data = noisy_animation(16, 50)
    at_quarter_rate = encoded_size(data, quality=images.ANIMATED_QUALITIES[-1], step=4)
    monkeypatch.setattr(images, "ANIMATED_TARGET_BYTES", int(at_quarter_rate * 0.8))

    result = convert_upload(data)

    durations = [duration for _, duration in read_frames(result.data)]
    assert len(result.data) <= images.ANIMATED_TARGET_BYTES
    assert 2 <= len(durations) < 4 and all(d == 200 for d in durations)  # 4 frames at 200 ms, cut


def test_an_animation_that_cannot_fit_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(images, "ANIMATED_TARGET_BYTES", 1)

    error = rejected(noisy_animation(6, 100))

    assert (error.code, error.status) == ("IMAGE_TOO_COMPLEX", 422)
    assert "animated sticker" in error.message


def test_an_animation_over_ten_seconds_is_cut_at_ten():
    result = convert_upload(animation("GIF", [4000, 4000, 4000]))  # 12 s

    durations = [duration for _, duration in read_frames(result.data)]
    assert durations == [4000, 4000, 2000]
    assert whatsapp_violations(result.data) == []


@pytest.mark.parametrize("data", [encode(scene((2000, 1500)), "PNG"), animation("GIF", [100, 200, 300])])
def test_the_wall_clock_cap_answers_image_too_complex(settings, data):
    settings.STICKER_UPLOAD_CONVERT_MAX_SECONDS = 1e-9  # every conversion takes longer than a nanosecond

    error = rejected(data)

    assert (error.code, error.status) == ("IMAGE_TOO_COMPLEX", 422)


WHATSAPP_CASES = {
    "static-photo": lambda: encode(scene((1200, 900)), "JPEG", quality=95),
    "static-noise": lambda: encode(noisy((700, 700)), "PNG"),
    "animated-noise": lambda: noisy_animation(60, 30, size=(256, 256)),
    "animated-long": lambda: animation("GIF", [6000, 6000, 6000]),
    "animated-fast": lambda: animation("GIF", [1, 1, 1]),
    "animated-webp": lambda: animation("WEBP", [5, 9, 3000]),
}


@pytest.mark.parametrize("case", WHATSAPP_CASES)
def test_every_accepted_sticker_meets_whatsapps_limits(case):
    try:
        result = convert_upload(WHATSAPP_CASES[case]())
    except ImageRejected as error:
        assert error.code == "IMAGE_TOO_COMPLEX", error
        return
    assert whatsapp_violations(result.data) == []


# --- rejections -------------------------------------------------------------------------------


def test_empty_file_is_rejected():
    error = rejected(b"")
    assert (error.code, error.status) == ("EMPTY_FILE", 400)
    assert error.message


def test_source_over_the_size_limit_is_rejected():
    error = rejected(b"\x89PNG\r\n\x1a\n" + b"\x00" * (30 * 1024 * 1024))
    assert (error.code, error.status) == ("FILE_TOO_LARGE", 413)


def test_source_size_limit_comes_from_settings(settings):
    data = transparent_png()
    settings.STICKER_UPLOAD_SOURCE_MAX_BYTES = len(data) - 1
    assert rejected(data).code == "FILE_TOO_LARGE"

    settings.STICKER_UPLOAD_SOURCE_MAX_BYTES = len(data)
    assert convert_upload(data).source_format == "PNG"


@pytest.mark.parametrize(
    "data",
    [
        b"this is a text file renamed to sticker.png\n" * 10,
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        b"BM" + b"\x00" * 100,  # BMP
        b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40,
    ],
)
def test_unknown_magic_is_unsupported_media(data):
    error = rejected(data)
    assert (error.code, error.status) == ("UNSUPPORTED_MEDIA", 415)


def test_truncated_png_is_invalid():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    data = encode(noisy((200, 200)), "PNG")

    error = rejected(data[: len(data) // 2])

    assert (error.code, error.status) == ("INVALID_IMAGE", 422)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + random.Random(1).randbytes(2000),  # JPEG marker, then noise
        # A 16x16 GIF whose pixel data is noise that ends mid-stream.
        b"GIF89a\x10\x00\x10\x00\x00\x00\x00,\x00\x00\x00\x00\x10\x00\x10\x00\x00\x08\x20"
        + random.Random(2).randbytes(32),
        b"RIFF\x24\x00\x00\x00WEBPVP8 " + random.Random(3).randbytes(200),
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00" * 4,  # IHDR cut short
    ],
)
def test_corrupt_data_behind_valid_magic_is_invalid(data):
    error = rejected(data)
    assert (error.code, error.status) == ("INVALID_IMAGE", 422)


def test_truncated_animation_is_invalid():
    data = animation("GIF", [100, 100, 100], size=(64, 64))

    assert rejected(data[: len(data) - 40]).code == "INVALID_IMAGE"


def test_decompression_bomb_png_is_refused_from_its_header(no_pixel_decoding):
    data = huge_blank_png(20_000, 20_000)
    assert len(data) < 1024 * 1024  # small file, 400 megapixels

    started = time.perf_counter()
    error = rejected(data)

    assert (error.code, error.status) == ("IMAGE_TOO_LARGE", 422)
    assert time.perf_counter() - started < 2


def test_bomb_is_refused_even_without_pillows_own_limit(monkeypatch, no_pixel_decoding):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    error = rejected(huge_blank_png(20_000, 20_000))

    assert error.code == "IMAGE_TOO_LARGE"


def test_one_side_over_the_dimension_limit_is_refused(no_pixel_decoding):
    error = rejected(huge_blank_png(django_settings.STICKER_UPLOAD_MAX_DIMENSION + 1, 8))
    assert (error.code, error.status) == ("IMAGE_TOO_LARGE", 422)


def test_webp_sources_have_a_tighter_side_limit():
    big = Image.new("RGB", (django_settings.STICKER_UPLOAD_MAX_WEBP_DIMENSION + 8, 16), (10, 200, 30))
    error = rejected(encode(big, "WEBP", quality=10))
    assert (error.code, error.status) == ("IMAGE_TOO_LARGE", 422)
    assert convert_upload(encode(big, "PNG")).width == 512  # the same picture as PNG is fine


def test_dimension_limit_comes_from_settings(settings):
    data = encode(scene((120, 80)), "PNG")
    settings.STICKER_UPLOAD_MAX_DIMENSION = 100

    assert rejected(data).code == "IMAGE_TOO_LARGE"


def test_gif_with_ten_thousand_frames_is_refused_quickly(no_pixel_decoding):
    data = tiny_frames_gif(10_000)

    started = time.perf_counter()
    error = rejected(data)

    assert (error.code, error.status) == ("TOO_MANY_FRAMES", 422)
    assert time.perf_counter() - started < 1


def test_frame_limit_comes_from_settings(settings):
    settings.STICKER_UPLOAD_MAX_FRAMES = 3
    assert convert_upload(animation("GIF", [100, 100, 100])).frame_count == 3

    settings.STICKER_UPLOAD_MAX_FRAMES = 2
    for fmt in ("GIF", "WEBP", "PNG"):
        assert rejected(animation(fmt, [100, 100, 100])).code == "TOO_MANY_FRAMES", fmt


def test_total_pixels_across_frames_are_capped(settings):
    data = animation("GIF", [100, 100, 100], size=(100, 100))  # 30,000 pixels in all
    settings.STICKER_UPLOAD_MAX_TOTAL_PIXELS = 29_999

    error = rejected(data)

    assert (error.code, error.status) == ("IMAGE_TOO_LARGE", 422)


# --- perceptual hash --------------------------------------------------------------------------


def test_dhash_is_stable_for_the_same_image():
    image = scene()
    assert dhash_hex(image) == dhash_hex(image.copy())
    data = encode(image, "PNG")
    assert convert_upload(data).perceptual_hash == convert_upload(data).perceptual_hash


def test_dhash_of_a_resized_reencoded_copy_is_close():
    original = convert_upload(encode(scene((400, 300)), "PNG"))
    copy = convert_upload(encode(scene((400, 300)).resize((360, 270), Image.Resampling.BICUBIC), "JPEG", quality=70))

    assert hamming(original.perceptual_hash, copy.perceptual_hash) <= 6


def test_dhash_of_a_different_image_is_far():
    first = convert_upload(encode(scene(variant=0), "PNG"))
    second = convert_upload(encode(scene(variant=1), "PNG"))

    assert hamming(first.perceptual_hash, second.perceptual_hash) > 10


def test_dhash_treats_transparency_as_white():
    art = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(art).rectangle((0, 0, 31, 63), fill=(0, 0, 0, 255))
    on_white = Image.new("RGB", (64, 64), (255, 255, 255))
    ImageDraw.Draw(on_white).rectangle((0, 0, 31, 63), fill=(0, 0, 0))

    assert dhash_hex(art) == dhash_hex(on_white)
    assert dhash_hex(art) != dhash_hex(Image.new("RGB", (64, 64), (0, 0, 0)))


def test_hamming_counts_differing_bits():
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("0000000000000000", "ffffffffffffffff") == 64
    assert hamming("00000000000000f0", "0000000000000001") == 5
    with pytest.raises(ValueError):
        hamming("00", "000")
