"""Schemathesis hooks of the API fuzz run (tests/catalog/test_fuzz_api.py), loaded by the `st` process.

What the schema cannot say, the harness supplies the way a real client would:
- sticker images: uploads carry real small PNG, JPEG, WebP and GIF images (the encoding's media types);
  random bytes are an unsupported image (415), which the schema cannot express for a binary field;
- cursors are opaque and server-issued: a valid-data list request that sends one sends a real cursor
  of its sort (minted by the test, PACKYARD_FUZZ_CURSORS), as a client follows next_cursor;
- tags: at most 8 distinct tags after slugification is not expressible in JSON Schema; valid-data
  bodies send at most 8 entries (the 16-entry bound and the 9-distinct refusal have their own tests);
- a valid-data DELETE of a whole pack the run keeps reading (PACKYARD_FUZZ_KEPT_PACKS) deletes a
  spare pack instead (PACKYARD_FUZZ_SPARE_PACKS), so one early delete does not turn every later
  request into a 404.
Invalid-data cases are left exactly as generated.
"""

import io
import json
import os

import schemathesis
from hypothesis import strategies as st
from PIL import Image

MAX_TAGS = 8


def _image(format_name: str, mode: str = "RGBA", size=(48, 40), frames: int = 1) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new(mode, size, (40 * i % 255, 120, 200, 255)[: len(mode)]) for i in range(frames)]
    extra = {"save_all": True, "append_images": images[1:], "duration": 100} if frames > 1 else {}
    images[0].save(buffer, format_name, **extra)
    return buffer.getvalue()


schemathesis.openapi.media_type("image/png", st.sampled_from([_image("PNG"), _image("PNG", size=(600, 300))]))
schemathesis.openapi.media_type("image/jpeg", st.just(_image("JPEG", mode="RGB")))
schemathesis.openapi.media_type("image/webp", st.just(_image("WEBP")))
schemathesis.openapi.media_type("image/gif", st.just(_image("GIF", mode="P", frames=3)))

CURSORS = json.loads(os.environ.get("PACKYARD_FUZZ_CURSORS", "{}"))
SORTS = json.loads(os.environ.get("PACKYARD_FUZZ_SORTS", "{}"))
KEPT = set(json.loads(os.environ.get("PACKYARD_FUZZ_KEPT_PACKS", "[]")))
SPARES = json.loads(os.environ.get("PACKYARD_FUZZ_SPARE_PACKS", "[]"))
_spare_turn = iter(range(10**9))


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _positive(case):
        return
    operation = case.operation
    if operation.method.upper() == "GET" and operation.path == "/api/sticker-packs":
        query = case.query or {}
        if query.get("cursor"):
            sort = SORTS.get(str(query.get("sort") or "ranking").strip().lower())
            if sort in CURSORS:
                query["cursor"] = CURSORS[sort]
    if operation.method.upper() == "DELETE" and operation.path == "/api/sticker-packs/{pack_key}" and SPARES:
        if case.path_parameters.get("pack_key") in KEPT:
            case.path_parameters["pack_key"] = SPARES[next(_spare_turn) % len(SPARES)]
    if isinstance(case.body, dict) and isinstance(case.body.get("tags"), list):
        case.body["tags"] = case.body["tags"][:MAX_TAGS]
