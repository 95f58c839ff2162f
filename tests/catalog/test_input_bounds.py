"""Inputs that cannot burn the CPU (issue 18): every bound answers a JSON 4xx with a code, quickly,
never a 500, before the work the input asks for."""

import base64
import io
import json
import time

import pytest

from catalog.models import StickerPack
from tests.catalog.conftest import make_pack

pytestmark = pytest.mark.django_db


def cursor(**fields) -> str:
    data = {"s": "ranking", "v": 0.5, "id": 1, "o": 24, "x": [], **fields}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def refused(response, status: int, code: str, started: float) -> None:
    assert time.perf_counter() - started < 1, "the refusal took over a second"
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code


def timed(call):
    started = time.perf_counter()
    return call(), started


@pytest.mark.parametrize(
    "path",
    [
        "/api/sticker-packs?offset=99999999999999999999999",
        "/api/sticker-packs?offset=10001",
        "/api/sticker-packs?offset=-1",
        "/api/sticker-packs?limit=1e3",
        "/api/sticker-packs/orphan-stickers?offset=99999999999999999999999",
        "/api/sticker-packs?categories=" + ",".join(f"c{i}" for i in range(21)),
        "/api/sticker-packs?cursor=" + "A" * 5000,
        "/api/sticker-packs?cursor=" + cursor(v=1e30),
        "/api/sticker-packs?cursor=" + cursor(v=1e308),
        "/api/sticker-packs?cursor=" + cursor(v={"nested": 1}),
        "/api/sticker-packs?cursor=" + cursor(v=True),
        "/api/sticker-packs?cursor=" + cursor(id=10**30),
        "/api/sticker-packs?cursor=" + cursor(id=1.5),
        "/api/sticker-packs?cursor=" + cursor(o=10**30),
        "/api/sticker-packs?cursor=" + cursor(x=[10**30]),
        "/api/sticker-packs?cursor=" + cursor(x=list(range(61))),
        "/api/sticker-packs?sort=likes&cursor=" + cursor(s="likes", v=10**30),
        "/api/sticker-packs?sort=likes&cursor=" + cursor(s="likes", v=2.5),
        "/api/sticker-packs?sort=recent&cursor=" + cursor(s="recent", v={"t": "0001-01-01T00:00:00+00:00"}),
        "/api/sticker-packs?sort=recent&cursor=" + cursor(s="recent", v={"t": "2026-01-01T00:00:00"}),
        "/api/sticker-packs?sort=recent&cursor=" + cursor(s="recent", v=5),
    ],
)
def test_list_bounds_answer_400(api, path):
    make_pack(items=1)
    response, started = timed(lambda: api.get(path))
    refused(response, 400, "INVALID_INPUT", started)


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_cursor_constants_are_refused(api, constant):
    raw = '{"s":"ranking","v":' + constant + ',"id":1,"o":24,"x":[]}'
    token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response, started = timed(lambda: api.get(f"/api/sticker-packs?cursor={token}"))
    refused(response, 400, "INVALID_INPUT", started)


def test_a_deeply_nested_cursor_is_refused(api):
    token = base64.urlsafe_b64encode(("[" * 500 + "]" * 500).encode()).decode().rstrip("=")
    response, started = timed(lambda: api.get(f"/api/sticker-packs?cursor={token}"))
    refused(response, 400, "INVALID_INPUT", started)


def test_a_thirty_digit_sticker_id_is_not_found(api):
    pack = make_pack(items=1)
    response, started = timed(lambda: api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/{'9' * 30}"))
    refused(response, 404, "STICKER_NOT_FOUND", started)
    response, started = timed(lambda: api.get(f"/api/sticker-packs/{pack.pack_key}/stickers/9223372036854775808.webp"))
    refused(response, 404, "STICKER_NOT_FOUND", started)


def test_a_fifty_thousand_deep_json_body_is_refused(api):
    body = '{"username": ' + "[" * 50_000 + "]" * 50_000 + ', "password": "x"}'
    response, started = timed(lambda: api.post("/api/auth/token", body, content_type="application/json"))
    refused(response, 400, "INVALID_INPUT", started)


def test_a_lone_surrogate_is_refused_anywhere_in_a_json_body(owner_api, api):
    response, started = timed(
        lambda: owner_api.post("/api/sticker-packs", '{"name": "bad \\ud800 name"}', content_type="application/json")
    )
    refused(response, 400, "INVALID_CHARACTERS", started)
    body = '{"username": "alice\\udfff", "password": "x"}'
    response, started = timed(lambda: api.post("/api/auth/token", body, content_type="application/json"))
    refused(response, 400, "INVALID_CHARACTERS", started)
    assert not StickerPack.objects.exists()


def test_forty_thousand_tags_are_refused_before_any_per_tag_work(owner_api, user):
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    tags = [f"tag-{i}" for i in range(40_000)]
    response, started = timed(
        lambda: owner_api.patch(f"/api/sticker-packs/{pack.pack_key}", {"tags": tags}, format="json")
    )
    refused(response, 400, "INVALID_INPUT", started)
    as_text = ",".join(tags)
    response, started = timed(
        lambda: owner_api.patch(f"/api/sticker-packs/{pack.pack_key}", {"tags": as_text}, format="json")
    )
    refused(response, 400, "INVALID_INPUT", started)
    # Duplicates still fold: sixteen entries of two tags are two tags.
    ok = owner_api.patch(f"/api/sticker-packs/{pack.pack_key}", {"tags": ["Cats", "dogs"] * 8}, format="json")
    assert ok.status_code == 200 and ok.json()["data"]["tags"] == ["cats", "dogs"]


@pytest.mark.parametrize(
    "name",
    ["nul\x00byte", "escape\x1b[31m", "two\r\nlines", "line\nfeed", "evil\u202etxt.exe", "iso\u2066late", "sep\u2028x"],
)
def test_control_and_bidi_characters_in_names_are_refused(owner_api, name):
    response, started = timed(lambda: owner_api.post("/api/sticker-packs", {"name": name}, format="json"))
    refused(response, 400, "INVALID_CHARACTERS", started)


@pytest.mark.parametrize("name", ["\u200b\u200b\u200b", " \u200d\ufeff\u2060 ", "\u3164", "\u2800\u2800"])
def test_names_of_invisible_characters_only_are_refused(owner_api, name):
    response, started = timed(lambda: owner_api.post("/api/sticker-packs", {"name": name}, format="json"))
    refused(response, 400, "INVALID_INPUT", started)
    publisher = owner_api.post("/api/sticker-packs", {"name": "Fine", "publisher": name}, format="json")
    assert publisher.status_code == 400 and publisher.json()["code"] == "INVALID_INPUT"


def test_names_are_stored_in_nfc_and_descriptions_keep_their_lines(owner_api):
    response = owner_api.post(
        "/api/sticker-packs",
        {"name": "Cafe\u0301 \U0001f44d\U0001f3fd", "description": "first\r\nsecond\tcolumn"},
        format="json",
    )
    assert response.status_code == 201
    pack = StickerPack.objects.get()
    assert pack.name == "Caf\u00e9 \U0001f44d\U0001f3fd"
    assert pack.description == "first\nsecond\tcolumn"


def test_too_many_multipart_fields_or_files_answer_json(owner_api, user, api):
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    fields = {f"f{i}": "x" for i in range(1001)}
    response, started = timed(
        lambda: owner_api.post(f"/api/sticker-packs/{pack.pack_key}/stickers", fields, format="multipart")
    )
    refused(response, 400, "TOO_MANY_FIELDS", started)
    files = {f"file{i}": io.BytesIO(b"GIF89a") for i in range(11)}
    for i, handle in enumerate(files.values()):
        handle.name = f"{i}.gif"
    response, started = timed(
        lambda: owner_api.post(f"/api/sticker-packs/{pack.pack_key}/stickers", files, format="multipart")
    )
    refused(response, 400, "TOO_MANY_FIELDS", started)
    response, started = timed(lambda: api.post("/api/auth/token", fields, format="multipart"))
    refused(response, 400, "TOO_MANY_FIELDS", started)


def test_too_many_query_parameters_answer_json(api):
    query = "&".join(f"p{i}=1" for i in range(1001))
    response, started = timed(lambda: api.get(f"/api/sticker-packs?{query}"))
    refused(response, 400, "TOO_MANY_FIELDS", started)


def test_upload_fields_are_bounded(owner_api, user):
    from tests.catalog.test_images import transparent_png
    from tests.catalog.test_upload import upload

    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    for fields, code in (
        ({"emojis": " ".join(["\U0001f600"] * 11)}, "INVALID_INPUT"),
        ({"emojis": "\U0001f600\u202e"}, "INVALID_CHARACTERS"),
        ({"accessibility_label": "a" * 256}, "INVALID_INPUT"),
        ({"accessibility_label": "bell\x07"}, "INVALID_CHARACTERS"),
        ({"upload_id": "id\x00"}, "INVALID_CHARACTERS"),
    ):
        response, started = timed(lambda fields=fields: upload(owner_api, pack, transparent_png(), **fields))
        refused(response, 400, code, started)
    assert pack.items.count() == 0
    ok = upload(owner_api, pack, transparent_png(), emojis="\U0001f469\u200d\U0001f4bb, \u2764\ufe0f")
    assert ok.status_code == 201 and ok.json()["data"]["emojis"] == ["\U0001f469\u200d\U0001f4bb", "\u2764\ufe0f"]
