"""Engagement (SPEC §3): anonymous POSTs, per-actor dedupe, atomic counters, events."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import InteractionEvent, PackEngagement, PackReaction
from catalog.services.viewers import new_viewer_id, sign_viewer_id
from outbox.models import DomainEvent
from tests.catalog.conftest import client_for, make_pack
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


def post(client, pack, interaction, **headers):
    return client.post(f"/api/sticker-packs/{pack.pack_key}/{interaction}", **headers)


def counts(pack) -> dict:
    e = PackEngagement.objects.get(pack=pack)
    return {"open": e.open_count, "like": e.like_count, "dislike": e.dislike_count, "download": e.download_count}


def test_anonymous_post_without_body_or_csrf_records_once():
    pack = make_pack(items=1)
    client = APIClient(enforce_csrf_checks=True)
    response = post(client, pack, "open")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["pack_key"] == pack.pack_key and data["interaction"] == "open"
    assert data["engagement"]["open_count"] == 1 and data["recorded"] is True
    again = post(client, pack, "open").json()["data"]
    assert again["recorded"] is False and again["engagement"]["open_count"] == 1
    assert InteractionEvent.objects.filter(pack=pack, interaction="open").count() == 1
    event = DomainEvent.objects.get(event_type="ENGAGEMENT_RECORDED")
    assert event.payload["pack_id"] == pack.id and event.aggregate_id == str(pack.id)


def signed_key() -> str:
    return sign_viewer_id(new_viewer_id())


def test_signed_viewer_key_header_separates_actors():
    pack = make_pack(items=1)
    first, second = signed_key(), signed_key()
    for key in (first, second, first):
        post(APIClient(), pack, "download", HTTP_X_VIEWER_KEY=key)
    assert counts(pack)["download"] == 2


def test_opens_count_again_after_the_window(settings):
    pack = make_pack(items=1)
    client = APIClient()
    post(client, pack, "open")
    InteractionEvent.objects.update(created_at=InteractionEvent.objects.get().created_at.replace(year=2000))
    post(client, pack, "open")
    assert counts(pack)["open"] == 2


def test_one_reaction_per_actor_dislike_replaces_like(user):
    pack = make_pack(items=1)
    client = client_for(user)
    post(client, pack, "like")
    post(client, pack, "like")
    assert counts(pack) == {"open": 0, "like": 1, "dislike": 0, "download": 0}
    post(client, pack, "dislike")
    assert counts(pack)["like"] == 0 and counts(pack)["dislike"] == 1
    post(client, pack, "like")
    assert counts(pack)["like"] == 1 and counts(pack)["dislike"] == 0
    assert PackReaction.objects.filter(pack=pack).count() == 1


def test_unknown_or_hidden_pack_is_404_and_nothing_is_recorded():
    hidden = make_pack(items=1, visibility="private")
    client = APIClient()
    assert post(client, hidden, "like").status_code == 404
    assert client.post("/api/sticker-packs/nope/like").json()["code"] == "PACK_NOT_FOUND"
    assert not InteractionEvent.objects.exists()


def test_engagement_is_throttled(monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"engagement": "3/min"})
    pack = make_pack(items=1)
    client = APIClient()
    statuses = [post(client, pack, "open", HTTP_X_VIEWER_KEY=signed_key()).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = post(client, pack, "open")
    assert limited.json()["code"] == "RATE_LIMITED"
    assert counts(pack)["open"] == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_of_one_actor_count_once():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the row lock is exercised on MariaDB")
    pack = make_pack(items=1)

    def like():
        return APIClient().post(f"/api/sticker-packs/{pack.pack_key}/like", HTTP_X_VIEWER_KEY=key)

    key = signed_key()

    assert {r.status_code for r in run_together([like] * 8)} == {200}
    assert counts(pack)["like"] == 1
    assert PackReaction.objects.filter(pack=pack).count() == 1
