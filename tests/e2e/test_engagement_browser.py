"""The reference web client's engagement in a real browser (headless Chromium): cookies only, no
custom header, no body, no CSRF token. The page sets the signed viewer cookie; each browser is its
own actor (two browsers on one address both count), and a second click of one browser does not."""

import json
import re
import subprocess

import pytest

from catalog.models import PackEngagement
from tests.catalog.conftest import make_pack
from tests.e2e.test_csp_browser import CHROMIUM, FLAGS

if CHROMIUM is None:
    pytest.skip("chromium is not installed (bin/system-deps test installs it)", allow_module_level=True)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.e2e.engagement_urls")]


def like_in_browser(url: str, profile) -> dict:
    # The virtual time budget lets the page's fetch() calls finish before the DOM is dumped.
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', result.stdout, re.S)
    assert found and found.group(1).startswith("{"), result.stdout[-2000:]
    return json.loads(found.group(1))


def test_two_browsers_like_with_cookies_and_see_the_servers_count(live_server, tmp_path):
    pack = make_pack(items=1, name="Liked In A Browser")
    url = f"{live_server.url}/like-probe/{pack.pack_key}"

    first = like_in_browser(url, tmp_path / "browser-a")
    assert first == {"first": 1, "second": 1, "again": False}

    second = like_in_browser(url, tmp_path / "browser-b")
    assert second == {"first": 2, "second": 2, "again": False}
    assert PackEngagement.objects.get(pack=pack).like_count == 2
