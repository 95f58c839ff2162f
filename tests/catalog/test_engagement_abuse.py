"""Likes that cannot be bought (issue 18): actors are server-issued, anonymous interactions are capped
per network identity (beyond the cap: 200, recorded as suppressed, never counted), and ranking reads
counted interactions only."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import InteractionEvent, PackEngagement, PackReaction
from catalog.services import viewers
from catalog.services.snapshots import pack_inputs
from tests.catalog.conftest import client_for, make_pack
from tests.catalog.test_engagement import signed_key

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.20"


def like(pack, client=None, interaction="like", **extra):
    extra.setdefault("REMOTE_ADDR", ADDRESS)
    return (client or APIClient()).post(f"/api/sticker-packs/{pack.pack_key}/{interaction}", **extra)


def likes(pack) -> int:
    return PackEngagement.objects.get(pack=pack).like_count


def random_address() -> str:
    return f"{secrets.randbelow(200) + 1}.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def test_sixty_likes_with_fresh_unsigned_keys_count_once():
    pack = make_pack(items=1)
    answers = [like(pack, HTTP_X_VIEWER_KEY=secrets.token_hex(16)) for _ in range(60)]
    assert {a.status_code for a in answers} == {200}
    assert likes(pack) == 1  # an unsigned key is no actor: all of them are the one network


def test_sixty_likes_with_fresh_signed_keys_move_the_count_by_the_cap_at_most(settings):
    pack = make_pack(items=1)
    answers = [like(pack, HTTP_X_VIEWER_KEY=signed_key()) for _ in range(60)]
    assert {a.status_code for a in answers} == {200}
    assert likes(pack) == settings.ENGAGEMENT_ANON_PER_NETWORK_PER_PACK == 3
    # Beyond the cap the answer looks like any other: recorded, with the current counts.
    last = answers[-1].json()["data"]
    assert last["recorded"] is True and last["engagement"]["like_count"] == 3
    assert InteractionEvent.objects.filter(pack=pack, counted=False).count() == 57
    assert PackEngagement.objects.get(pack=pack).suppressed_count == 57
    assert PackReaction.objects.filter(pack=pack).count() == 3


def test_random_forwarded_headers_change_nothing_without_proxies(settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    pack = make_pack(items=1)
    for _ in range(60):
        like(pack, HTTP_X_VIEWER_KEY=signed_key(), HTTP_X_FORWARDED_FOR=random_address())
    assert likes(pack) == 3


def test_two_clients_behind_one_trusted_proxy_are_two_identities(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    pack = make_pack(items=1)
    for forwarded in ("203.0.113.1", "203.0.113.2"):
        # What the client invents stands left of what the proxy appended; only the latter counts.
        for _ in range(5):
            like(pack, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{random_address()}, {forwarded}")
    assert likes(pack) == 2  # one actor per network (no cookie kept): one like each
    for forwarded in ("203.0.113.1", "203.0.113.2"):
        for _ in range(10):
            like(pack, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded, HTTP_X_VIEWER_KEY=signed_key())
    assert likes(pack) == 6  # each network up to its own cap


def test_two_browsers_with_their_own_cookies_on_one_address_both_count():
    pack = make_pack(items=1)
    browsers = [APIClient(), APIClient()]
    for browser in browsers:
        page = browser.get(f"/stickers/{pack.pack_key}", REMOTE_ADDR=ADDRESS)
        assert page.status_code == 200 and "packyard_viewer" in page.cookies
    for browser in browsers:
        assert like(pack, browser).status_code == 200
        assert like(pack, browser).json()["data"]["recorded"] is False  # the same browser again
    assert likes(pack) == 2
    for _ in range(3):  # more browsers on the same address: up to the cap
        browser = APIClient()
        browser.get(f"/stickers/{pack.pack_key}", REMOTE_ADDR=ADDRESS)
        like(pack, browser)
    assert likes(pack) == 3


def test_a_forged_or_tampered_key_is_not_an_actor():
    pack = make_pack(items=1)
    genuine = signed_key()
    value, signature = genuine.rsplit(":", 1)
    forged = [
        f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # signature altered
        f"v{'0' * 32}:{signature}",  # someone else's id under this signature
        viewers.new_viewer_id(),  # an id with no signature
    ]
    for key in forged:
        assert viewers.verified_viewer_id(key) is None
        like(pack, HTTP_X_VIEWER_KEY=key)
    assert likes(pack) == 1  # the network, once
    client = APIClient()
    client.cookies["packyard_viewer"] = forged[0]
    like(pack, client)
    assert likes(pack) == 1


def test_a_client_without_cookie_stays_one_actor_once_it_keeps_the_cookie():
    pack = make_pack(items=1)
    client = APIClient()  # keeps cookies, like a browser that never loaded a page
    first = like(pack, client)
    assert first.status_code == 200 and "packyard_viewer" in first.cookies
    assert "private" in first["Cache-Control"] and "no-store" in first["Cache-Control"]
    assert like(pack, client).json()["data"]["recorded"] is False
    assert likes(pack) == 1


def test_logged_in_likes_dedupe_per_user_and_are_not_capped_by_network(django_user_model):
    pack = make_pack(items=1)
    users = [django_user_model.objects.create_user(username=f"fan{i}", password="fan-password-123") for i in range(5)]
    for user in users:
        client = client_for(user)
        like(pack, client)
        like(pack, client)
    assert likes(pack) == 5
    assert not InteractionEvent.objects.filter(counted=False).exists()
    assert set(InteractionEvent.objects.values_list("network_key", flat=True)) == {""}  # no network kept for users


def test_opens_and_downloads_have_caps_of_their_own(settings):
    settings.ENGAGEMENT_ANON_OPENS_PER_NETWORK_PER_PACK = 2
    settings.ENGAGEMENT_ANON_DOWNLOADS_PER_NETWORK_PER_PACK = 1
    pack = make_pack(items=1)
    for _ in range(5):
        key = signed_key()
        like(pack, interaction="open", HTTP_X_VIEWER_KEY=key)
        like(pack, interaction="download", HTTP_X_VIEWER_KEY=key)
        like(pack, interaction="like", HTTP_X_VIEWER_KEY=key)
    engagement = PackEngagement.objects.get(pack=pack)
    assert (engagement.open_count, engagement.download_count, engagement.like_count) == (2, 1, 3)


def test_the_daily_cap_spans_every_pack(settings):
    settings.ENGAGEMENT_ANON_PER_NETWORK_PER_DAY = 4
    packs = [make_pack(items=1) for _ in range(3)]
    for pack in packs:
        for _ in range(2):
            like(pack, HTTP_X_VIEWER_KEY=signed_key())
    assert [likes(p) for p in packs] == [2, 2, 0]


def test_ipv6_addresses_of_one_64_share_the_cap():
    pack = make_pack(items=1)
    for host in range(1, 7):
        like(pack, REMOTE_ADDR=f"2001:db8:5:6::{host}", HTTP_X_VIEWER_KEY=signed_key())
    assert likes(pack) == 3
    like(pack, REMOTE_ADDR="2001:db8:5:7::1", HTTP_X_VIEWER_KEY=signed_key())
    assert likes(pack) == 4


def test_the_cap_is_a_rolling_day():
    pack = make_pack(items=1)
    for _ in range(4):
        like(pack, HTTP_X_VIEWER_KEY=signed_key())
    assert likes(pack) == 3
    InteractionEvent.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    like(pack, HTTP_X_VIEWER_KEY=signed_key())
    assert likes(pack) == 4


def test_ranking_reads_counted_opens_only():
    pack = make_pack(items=1)
    for _ in range(30):
        like(pack, interaction="open", HTTP_X_VIEWER_KEY=signed_key())
    counted = InteractionEvent.objects.filter(pack=pack, counted=True).count()
    assert counted == 20 and InteractionEvent.objects.filter(pack=pack, counted=False).count() == 10
    pack.refresh_from_db()
    inputs = pack_inputs([pack])[pack.id]
    assert (inputs.open_count, inputs.opens_last_24h, inputs.opens_last_7d) == (20, 20, 20)


def test_viewer_keys_are_issued_and_throttled_per_network(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "viewer_key": "3/hour"}
    )
    client = APIClient()
    answers = [
        client.post("/api/viewer-key", REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=random_address()) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "RATE_LIMITED"
    key = answers[0].json()["data"]["viewer_key"]
    assert viewers.verified_viewer_id(key) is not None
    assert client.post("/api/viewer-key", REMOTE_ADDR="198.51.100.99").status_code == 200  # another network


def test_staff_see_suppressed_counts_and_the_networks_over_the_caps(staff):
    pack = make_pack(items=1, name="Bought Likes")
    for _ in range(8):
        like(pack, HTTP_X_VIEWER_KEY=signed_key())
    for _ in range(4):
        like(pack, REMOTE_ADDR="203.0.113.77", HTTP_X_VIEWER_KEY=signed_key())
    engagement_page = staff.get("/admin/catalog/packengagement/").content.decode()
    assert '<td class="field-suppressed_count">6</td>' in engagement_page
    pack_page = staff.get("/admin/catalog/stickerpack/").content.decode()
    assert '<td class="field-suppressed">6</td>' in pack_page
    networks = staff.get("/admin/catalog/interactionevent/networks/")
    assert networks.status_code == 200
    rows = networks.context["networks"]
    assert [row["suppressed"] for row in rows] == [5, 1]
    assert rows[0]["network_key"] == viewers.network_key_of(ADDRESS)
    assert ADDRESS not in networks.content.decode()  # keys only, never addresses
    looked_up = staff.get("/admin/catalog/interactionevent/networks/", {"address": ADDRESS})
    assert viewers.network_key_of(ADDRESS) in looked_up.content.decode()
    by_address = staff.get("/admin/catalog/interactionevent/", {"q": ADDRESS, "counted__exact": "0"})
    assert by_address.context["cl"].result_count == 5
