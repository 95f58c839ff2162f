"""Querysets compiled once (catalog.selectors.compiled): the same objects as the ORM's own path, on
real rows, in as many queries; a marker that is not one parameter is refused."""

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from catalog.models import StickerPack, StickerPackItem
from catalog.selectors import pack_get_visible, pack_items
from catalog.selectors.compiled import CompiledQuery
from tests.catalog.conftest import make_pack

pytestmark = pytest.mark.django_db


def state(obj, *relations) -> dict:
    """The row's fields and those of the related rows select_related loaded (None when absent)."""
    out = {"self": model_to_dict(obj, fields=[f.name for f in obj._meta.concrete_fields])}
    for path in relations:
        target = obj
        for name in path.split("__"):
            target = getattr(target, name, None) if target is not None else None
        out[path] = model_to_dict(target, fields=[f.name for f in target._meta.concrete_fields]) if target else None
    return out


def test_the_detail_queries_build_what_the_orm_builds(user):
    pack = make_pack(items=3, nsfw_items=1, classified=True, engagement={"like_count": 4}, owner=user)
    bare = make_pack(items=0, refresh=False)  # no engagement, no snapshot
    for candidate in (pack, bare):
        expected = StickerPack.objects.select_related("engagement", "snapshot").get(pk=candidate.pk)
        with CaptureQueriesContext(connection) as ctx:
            found = pack_get_visible(pack_key=candidate.pack_key.upper(), viewer=None)
        assert len(ctx.captured_queries) == 1
        assert state(found, "engagement", "snapshot") == state(expected, "engagement", "snapshot")
        assert found._state.adding is False and found._state.db == "default"
        reference = list(candidate.items.select_related("asset", "asset__classification").order_by("position"))
        with CaptureQueriesContext(connection) as ctx:
            items = pack_items(found)
            related = [(item.pack, item.asset, getattr(item.asset, "classification", None)) for item in items]
        assert len(ctx.captured_queries) == 1  # pack, assets and classifications loaded with the items
        assert [state(i, "asset", "asset__classification") for i in items] == [
            state(i, "asset", "asset__classification") for i in reference
        ]
        assert all(owner is found for owner, _, _ in related)
    assert pack_get_visible(pack_key="no-such-pack", viewer=None) is None


def test_a_marker_must_be_exactly_one_parameter():
    folded = CompiledQuery(lambda n: StickerPackItem.objects.filter(position__gte=n, position__lte=n), 31_337)
    with pytest.raises(ValueError, match="is 2 parameters"):
        folded(1)
