"""Throttles that cannot be spoofed (issue 18): the token endpoint and the admin login count per
network identity and per username; the login lockout (django-axes) is lifted by staff in the admin;
throttle counters survive a flood of anonymous reads in the embedded default."""

import secrets

import pytest
from axes.models import AccessAttempt
from django.core.cache import caches
from rest_framework.test import APIClient

from tests.catalog.conftest import client_for, make_pack
from tests.catalog.test_images import transparent_png
from tests.catalog.test_upload import upload

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token"


def random_address() -> str:
    return f"203.0.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def guess(username: str, password: str = "wrong-password", **extra):
    extra.setdefault("REMOTE_ADDR", "198.51.100.30")
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def test_rotating_forwarded_headers_and_usernames_gets_no_more_guesses(user):
    statuses = [
        guess(f"user{i}" if i % 2 else "alice", HTTP_X_FORWARDED_FOR=random_address()).status_code for i in range(25)
    ]
    assert 429 in statuses, statuses
    assert statuses.index(429) <= 20
    limited = guess("alice", "alice-password-123")
    assert limited.status_code == 429 and limited.json()["code"] == "RATE_LIMITED"


def test_rotating_real_addresses_gets_no_more_guesses_at_one_account(user):
    statuses = [guess("alice", REMOTE_ADDR=random_address()).status_code for _ in range(15)]
    assert 429 in statuses and statuses.index(429) <= 10, statuses
    # Locked out: the right password from yet another address is refused too.
    assert guess("ALICE", "alice-password-123", REMOTE_ADDR="192.0.2.200").status_code == 429


def test_a_right_password_within_the_limits_still_gets_a_token(user):
    for _ in range(3):
        assert guess("alice").status_code == 400
    answer = guess("alice", "alice-password-123")
    assert answer.status_code == 200 and answer.json()["token"]


def admin_login(client, username: str, password: str, address: str = "198.51.100.40"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_admin_login_locks_out_and_staff_lift_the_lockout_in_the_admin(client, staff_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert admin_login(client, "staff", "wrong-password").status_code == 200  # the form again
    assert admin_login(client, "staff", "wrong-password").status_code == 429  # the failure that reaches the limit
    locked = admin_login(client, "staff", "staff-password-123")
    assert locked.status_code == 429 and "Login locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # From another network too: the username itself is locked.
    assert admin_login(client, "staff", "staff-password-123", address="192.0.2.9").status_code == 429

    other_staff = type(staff_user).objects.create_superuser(username="ops", password="ops-password-123")
    ops = type(client)()
    ops.force_login(other_staff)
    page = ops.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "staff" in page.content.decode()
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    answer = ops.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert answer.status_code == 302 and not AccessAttempt.objects.exists()

    assert admin_login(client, "staff", "staff-password-123").status_code == 302
    assert client.session["_auth_user_id"] == str(staff_user.pk)


def test_the_upload_throttle_survives_a_flood_of_junk_parameter_reads(settings, monkeypatch, user):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "upload": "2/min"})
    settings.API_ANONYMOUS_CACHE_SECONDS = 5  # the read cache on, in the embedded default (local memory)
    assert settings.CACHES["throttle"]["BACKEND"].endswith("LocMemCache")
    pack = make_pack(owner=user, items=0, status="draft", refresh=False)
    owner = client_for(user)
    assert [upload(owner, pack, transparent_png(size=(40 + i, 40))).status_code for i in range(3)] == [201, 201, 429]

    anonymous = APIClient()
    for i in range(400):
        assert anonymous.get(f"/api/sticker-packs?junk{i}={i}").status_code == 200
    assert upload(owner, pack, transparent_png(size=(90, 40))).status_code == 429
    # Parameters the list does not read make no entries of their own: one cached list, not 400.
    listed = [key for key in caches["default"]._cache if "catalog:anon:" in key]
    assert len(listed) == 1


def test_the_sites_login_page_shares_the_lockout(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "alice", "password": "wrong-password"}, REMOTE_ADDR="198.51.100.41")
    locked = client.post(
        "/login/", {"username": "alice", "password": "alice-password-123"}, REMOTE_ADDR="198.51.100.41"
    )
    assert locked.status_code == 429 and "Login locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert guess("alice", "alice-password-123", REMOTE_ADDR="192.0.2.77").status_code == 429  # the API's too
