"""One definition per shape (issue 13): the output serializers render through compiled code, which
must give exactly what DRF's own Serializer.to_representation gives for the same fields; the query
serializers' fast `parse` must give what DRF's `is_valid` gives. Real rows, every shape."""

import inspect

import pytest
from django.http import QueryDict
from rest_framework import serializers

from catalog.api import inputs, outputs
from catalog.api.cursors import encode_cursor
from catalog.api.rendering import DRF_REFERENCE, OutputSerializer
from catalog.errors import CatalogError
from catalog.selectors import creators, details, lists, orphans, owner
from catalog.services.creators import creator_verify
from tests.catalog.conftest import make_pack
from tests.factories import StickerPackItemFactory

pytestmark = pytest.mark.django_db


def both(serializer_class, instance, context=None, *, many=False):
    """(compiled rendering, DRF's rendering) of `instance`."""
    context = context or {}
    if many:
        compiled = serializer_class.render_many(instance, context)
        reference = serializer_class(instance, many=True, context={**context, DRF_REFERENCE: True}).data
    else:
        compiled = serializer_class.render(instance, context)
        reference = serializer_class(instance, context={**context, DRF_REFERENCE: True}).data
    return compiled, _plain(reference)


def _plain(value):
    """DRF's ReturnDict/ReturnList as plain dicts and lists."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@pytest.fixture
def catalog(user, staff_user, settings):
    settings.WHATSAPP_BOT_PHONE = "5511999990000"
    classified = make_pack(
        owner=user, items=3, classified=True, tags=["cats", "cute"], engagement={"like_count": 5, "open_count": 9}
    )
    sensitive = make_pack(owner=user, items=2, nsfw_items=1, description="", publisher="")
    make_pack(owner=user, items=0, status="draft", refresh=False, moderation_sensitive=True, moderation_reason="x")
    other = make_pack(items=1, first_listed_at="2026-01-01T00:00:00Z", status="draft")
    creator_verify(user=user, verified=True, display_name="Alice", by=staff_user)
    return {"classified": classified, "sensitive": sensitive, "other": other}


@pytest.mark.parametrize("anonymous", [True, False])
def test_list_and_detail_render_as_drf_does(catalog, user, anonymous):
    page = lists.pack_list(
        sort="ranking", limit=10, anonymous=anonymous, include_sensitive=not anonymous, viewer_key="k"
    )
    assert page.cards
    compiled, reference = both(outputs.PackSummaryOut, page.cards, {"anonymous": anonymous}, many=True)
    assert compiled == reference
    for pack in (catalog["classified"], catalog["sensitive"]):
        detail = details.pack_detail(pack_key=pack.pack_key, viewer=None if anonymous else user, viewer_key="k")
        context = {"anonymous": anonymous, "for_owner": detail.owned_by_viewer}
        compiled, reference = both(outputs.PackDetailEnvelopeOut, {"data": detail}, context)
        assert compiled == reference
        assert compiled["data"]["items"] and compiled["data"]["whatsapp"]["phone"] == "5511999990000"
        assert (compiled["data"]["moderation"] is None) is anonymous


def test_owner_dashboard_creators_orphans_render_as_drf_does(catalog, user):
    dashboard = owner.owner_dashboard(user=user)
    compiled, reference = both(outputs.OwnerDashboardOut, dashboard, {"anonymous": False, "for_owner": True})
    assert compiled == reference and len(compiled["packs"]) == 3
    held = next(p for p in compiled["packs"] if p["moderation"]["sensitive"])
    assert held["signals"]["nsfw_level"] == "suggestive" and held["moderation"]["reason"] == "x"
    page = creators.creators_page(limit=5)
    compiled, reference = both(outputs.CreatorsEnvelopeOut, {"data": page}, {"anonymous": True})
    assert compiled == reference and compiled["data"][0]["top_pack"]["pack_key"]
    rows, _ = orphans.orphan_stickers_page(limit=10, offset=0)
    assert rows
    compiled, reference = both(outputs.OrphanStickerOut, rows, many=True)
    assert compiled == reference


def test_an_item_without_classification_and_a_pack_without_engagement(user):
    pack = make_pack(owner=user, items=1, refresh=False, status="draft")
    StickerPackItemFactory(pack=pack, position=2)
    detail = details.pack_detail(pack_key=pack.pack_key, viewer=user, viewer_key="")
    compiled, reference = both(outputs.PackDetailOut, detail, {"anonymous": False, "for_owner": True})
    assert compiled == reference
    assert compiled["engagement"] == {
        "open_count": 0, "like_count": 0, "dislike_count": 0, "download_count": 0, "score": 0, "updated_at": None,
    }  # fmt: skip
    assert compiled["items"][0]["asset"]["classification"] is None and compiled["items"][0]["tags"] == []


def test_every_output_shape_compiles():
    shapes = [
        value
        for value in vars(outputs).values()
        if inspect.isclass(value) and issubclass(value, OutputSerializer) and value is not OutputSerializer
    ]
    assert len(shapes) > 30
    for shape in shapes:
        for mapping in (False, True):
            assert callable(shape._renderer(mapping)), shape
    # Every readable field of every shape is rendered (nothing dropped by the compiler).
    source = outputs.PackDetailOut._renderer(False).source
    assert all(f"{name!r}:" in source for name in outputs.PackDetailOut().fields)


QUERIES = [
    "",
    "sort=trending&limit=5&offset=10",
    "sort=NEW&limit=500",
    "sort=&limit=&offset=&include_sensitive=",
    "q=%20Caf%C3%A9%20&categories=Cats,,dogs,&include_sensitive=true&visibility=whatever",
    "include_sensitive=maybe",
    "limit=0",
    "limit=1e3",
    "offset=10001",
    "sort=best",
    "categories=" + ",".join(f"c{i}" for i in range(21)),
    "cursor=%%%",
    "cursor=" + encode_cursor("ranking", 0.5, 7, 24, [7, 8]),
    "sort=likes&cursor=" + encode_cursor("ranking", 0.5, 7, 24, []),
    "cursor=" + "A" * 3000,
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("anonymous", [True, False])
def test_query_parse_is_drf_validation(query, anonymous):
    def outcome(call):
        try:
            return "ok", call()
        except CatalogError as exc:
            return exc.code, exc.status

    fast = outcome(lambda: inputs.PackListQuery.parse(QueryDict(query), anonymous=anonymous))
    drf = outcome(
        lambda: inputs.validated(inputs.PackListQuery(data=QueryDict(query), context={"anonymous": anonymous}))
    )
    assert fast == drf
    if fast[0] == "ok":
        assert fast[1]["limit"] <= inputs.MAX_LIMIT
        assert fast[1]["include_sensitive"] is False or not anonymous


def test_output_shapes_declare_only_read_only_renderable_fields():
    """No write-only or callable-source fields slip into an output shape."""
    for name in ("PackSummaryOut", "PackDetailOut", "ItemOut", "AssetOut", "ClassificationOut"):
        for field in getattr(outputs, name)().fields.values():
            assert not field.write_only, (name, field.field_name)
            assert not isinstance(field, serializers.HiddenField), (name, field.field_name)
