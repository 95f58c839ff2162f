"""Peak memory and time of converting the worst accepted sticker uploads (target < 256 MB), and
whether every output meets WhatsApp's limits (512x512 WebP, static <= 100 KB, animated <= 500 KB,
<= 10 s, frames >= 8 ms).

    .venv/bin/python bench/upload_memory_bench.py [--case gif-100x1024 ...] [--json-out FILE]

Each input is built by one child process (--build) into a temporary file and converted by a
fresh second child (--child) that sets up Django, reads the file and calls
catalog.services.images.convert_upload once. Peak RSS is that child's ru_maxrss (KiB on Linux):
os.wait4 gives it for each child alone, getrusage(RUSAGE_CHILDREN) the maximum over all of them.
It includes the interpreter, Django, Pillow and the upload's bytes (what a worker holds), so the
child's RSS just before the conversion is reported as the baseline. The parent imports neither
Pillow nor Django and builds nothing itself: Linux carries the high-water RSS of the process
that spawns a child into the child's ru_maxrss.

Cases, all at the limits convert_upload accepts (20 MiB source, 4096 px a side — 2048 for WebP
sources —, 240 frames, STICKER_UPLOAD_MAX_TOTAL_PIXELS = 100 Mi decoded pixels across frames):
  gif-100x1024   100 full-canvas frames of 1024x1024 (exactly the pixel budget)
  gif-100x1024-noisy  the same with a moving 384x384 block of noise in every frame: the quality
                 steps cannot get it under 500 KB, so the frame rate is lowered too (slowest case)
  gif-240x660    the most frames: 240 of 660x660 (the pixel budget), 40 ms each
  webp-25x2048   animated WebP, 25 RGBA frames of 2048x2048 (the pixel budget): the largest WebP frames
  gif-6x4096     animated GIF, 6 frames of 4096x4096
  png-4096       static RGBA PNG of 4096x4096
  webp-2048      static RGBA WebP of 2048x2048 (Pillow decodes every WebP with the animation decoder)
  gif-240x1024-refused  240 frames of 1024x1024 (2.4x the budget, accepted before the budget):
                 how fast it is refused
  old-gif-240x1024, old-gif-240x1024-noisy  the worst inputs the previous limits accepted (240 frames
                 of 1024x1024, plain and with a 192x192 noise block), converted by today's code under
                 those limits (240 Mi pixels, no wall clock) in the same run: the baseline
Frames are a moving diagonal pattern with shapes: every frame differs from the previous one over
the whole canvas (no cropped sub-frames), yet it compresses to fit under 20 MiB.
"""

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = (
    "gif-100x1024",
    "gif-100x1024-noisy",
    "gif-240x660",
    "webp-25x2048",
    "gif-6x4096",
    "png-4096",
    "webp-2048",
    "gif-240x1024-refused",
    "old-gif-240x1024",
    "old-gif-240x1024-noisy",
)
# Converted under the previous limits (240 Mi pixels, no wall clock): the baseline of this run.
OLD_LIMITS = {"STICKER_UPLOAD_MAX_TOTAL_PIXELS": str(240 * 1024 * 1024), "STICKER_UPLOAD_CONVERT_MAX_SECONDS": "600"}
TARGET_MIB = 256


def pattern(size: int, shift: int, period: int):
    """An "L" image: diagonal bands moving with ``shift``, plus a circle travelling across."""
    from PIL import Image, ImageDraw

    band = Image.linear_gradient("L").resize((period, 1))
    row = Image.new("L", (size + size, 1))
    for x in range(0, size + size, period):
        row.paste(band, (x, 0))
    image = Image.new("L", (size, size))
    offset = shift % period
    for y in range(size):  # each row is the band row moved one pixel: diagonal stripes
        image.paste(row.crop((offset + y % period, 0, offset + y % period + size, 1)), (0, y))
    draw = ImageDraw.Draw(image)
    radius = size // 6
    cx = (shift * size // 16) % size
    draw.ellipse((cx - radius, size // 2 - radius, cx + radius, size // 2 + radius), fill=255)
    return image


def palette_frame(size: int, shift: int, period: int):
    frame = pattern(size, shift, period).convert("P")
    frame.putpalette([channel for i in range(256) for channel in (i, (i * 3) % 256, 255 - i)])
    return frame


def gif(frames, duration: int) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0, optimize=False)
    return buffer.getvalue()


def build(case: str) -> tuple[bytes, str]:
    from PIL import Image

    if case in ("gif-100x1024-noisy", "old-gif-240x1024-noisy"):
        # The old case keeps the block it had (a 384x384 block in 240 frames is over 20 MiB).
        count, block = (100, 384) if case.startswith("gif") else (240, 192)
        randbytes = random.Random(240).randbytes
        frames = []
        for index in range(count):
            frame = palette_frame(1024, index, 64)
            noise = Image.frombytes("P", (block, block), randbytes(block * block))
            frame.paste(noise, ((index * 13) % (1024 - block), (index * 7) % (1024 - block)))
            frames.append(frame)
        return gif(frames, 40), f"GIF, {count} frames of 1024x1024 with a {block}x{block} noise block, 40 ms each"
    if case == "gif-100x1024":
        return gif([palette_frame(1024, index, 64) for index in range(100)], 40), "GIF, 100 frames of 1024x1024, 40 ms"
    if case == "gif-240x660":
        return gif([palette_frame(660, index, 64) for index in range(240)], 40), "GIF, 240 frames of 660x660, 40 ms"
    if case in ("gif-240x1024-refused", "old-gif-240x1024"):
        frames = [palette_frame(1024, index, 64) for index in range(240)]
        return gif(frames, 40), "GIF, 240 frames of 1024x1024, 40 ms"
    if case == "gif-6x4096":
        return gif([palette_frame(4096, index * 8, 256) for index in range(6)], 100), "GIF, 6 frames of 4096x4096"
    if case == "webp-25x2048":
        frames = []
        for index in range(25):
            grey = pattern(2048, index * 8, 256)
            alpha = grey.point(lambda value: 0 if value < 40 else 255)  # transparent holes
            frames.append(Image.merge("RGBA", (grey, grey.point(lambda value: 255 - value), grey, alpha)))
        buffer = io.BytesIO()
        frames[0].save(
            buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0, quality=50, method=0
        )
        return buffer.getvalue(), "animated WebP, 25 RGBA frames of 2048x2048, 100 ms each"
    if case in ("png-4096", "webp-2048"):
        size, fmt = (4096, "PNG") if case == "png-4096" else (2048, "WEBP")
        grey = pattern(size, 0, 256)
        image = Image.merge("RGBA", (grey, grey.point(lambda value: 255 - value), grey, grey.point(lambda v: v | 1)))
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        return buffer.getvalue(), f"static RGBA {fmt}, {size}x{size}"
    raise ValueError(case)


def setup_django() -> None:
    os.environ.setdefault("PACKYARD_TESTING", "1")
    os.environ.setdefault("PACKYARD_ENV_FILE", "")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def build_child(case: str, path: Path) -> None:
    """Write the input for ``case`` to ``path`` and print its description."""
    setup_django()
    from django.conf import settings

    data, description = build(case)
    limit = settings.STICKER_UPLOAD_SOURCE_MAX_BYTES
    if len(data) > limit:
        raise SystemExit(f"{case}: input is {len(data):,} bytes, over the {limit:,} byte limit")
    path.write_bytes(data)
    print(json.dumps({"input": description, "input_bytes": len(data)}))


def child(path: Path) -> None:
    """Convert one upload and print a JSON line about it."""
    setup_django()
    from catalog.services.images import ImageRejected, convert_upload, whatsapp_violations

    data = path.read_bytes()
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        result = convert_upload(data)
    except ImageRejected as error:
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": round(seconds, 3), "baseline_rss_kib": baseline_kib, "refused": error.code}))
        return
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "baseline_rss_kib": baseline_kib,
                "output_bytes": len(result.data),
                "frame_count": result.frame_count,
                "is_animated": result.is_animated,
                "whatsapp_violations": whatsapp_violations(result.data),
            }
        )
    )


def run_child(*arguments: str, env: dict | None = None) -> dict:
    """Run this script with ``arguments``; its last JSON line plus its own peak RSS."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *arguments],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # reap it ourselves: rusage of this child alone
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child failed with exit code {process.returncode}")
    report = json.loads(output.strip().splitlines()[-1])
    report["peak_rss_kib"] = usage.ru_maxrss
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=CASES, nargs="+", default=list(CASES))
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.build:
        build_child(args.build[0], Path(args.build[1]))
        return

    results = {}
    overall_kib = 0
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        for case in args.case:
            path = Path(tmp) / case
            built = run_child("--build", case, str(path))
            converted = run_child("--child", str(path), env=OLD_LIMITS if case.startswith("old-") else None)
            overall_kib = max(overall_kib, converted["peak_rss_kib"])
            report = {"input": built["input"], "input_bytes": built["input_bytes"], **converted}
            results[case] = report
            peak_mib = report["peak_rss_kib"] / 1024
            if "refused" in report:
                outcome = f"refused {report['refused']}"
            else:
                whatsapp = (
                    "meets WhatsApp limits" if not report["whatsapp_violations"] else report["whatsapp_violations"]
                )
                outcome = f"{report['output_bytes'] / 1024:.0f} KB WebP, {report['frame_count']} frame(s), {whatsapp}"
            print(
                f"{case}: {report['input']} ({report['input_bytes'] / 2**20:.1f} MiB) -> {outcome}; "
                f"peak RSS {peak_mib:.0f} MiB (baseline {report['baseline_rss_kib'] / 1024:.0f} MiB), "
                f"{report['seconds']:.2f} s [{'ok' if peak_mib < TARGET_MIB else 'OVER'} vs {TARGET_MIB} MiB]"
            )
    all_children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # builders included
    print(
        f"largest conversion peak RSS: {overall_kib / 1024:.0f} MiB (RUSAGE_CHILDREN, builders too: {all_children_kib / 1024:.0f} MiB)"
    )
    summary = {
        "bench": "upload_memory",
        "target_mib": TARGET_MIB,
        "peak_rss_kib_max_conversion": overall_kib,
        "peak_rss_kib_all_children": all_children_kib,
        "cases": results,
    }
    print(json.dumps(summary))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
