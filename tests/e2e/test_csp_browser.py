"""The Content-Security-Policy in a real browser (headless Chromium): inline script runs only with
the response's nonce, and the site's pages load with no policy violation at all."""

import os
import shutil
import subprocess

import pytest

from tests.catalog.conftest import make_pack
from tests.e2e.conftest import CHROMIUM_ARGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless=new", *CHROMIUM_ARGS, "--enable-logging=stderr", "--v=0"]

if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("chromium is not installed (bin/system-deps test installs it)", allow_module_level=True)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.e2e.csp_urls")]


def load(url: str, tmp_path) -> tuple[str, list[str]]:
    """The DOM after load, and the console's Content-Security-Policy complaints."""
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    violations = [line for line in result.stderr.splitlines() if "Content Security Policy" in line]
    return result.stdout, violations


def test_inline_script_runs_only_with_the_nonce(live_server, tmp_path):
    dom, violations = load(f"{live_server.url}/csp-probe", tmp_path)
    assert '<p id="with-nonce">ran</p>' in dom
    assert '<p id="without-nonce">blocked</p>' in dom and '<p id="handler">blocked</p>' in dom
    assert len(violations) == 2, violations  # the nonce-less script and the onerror handler


def test_the_sites_pages_load_without_violations(live_server, tmp_path):
    pack = make_pack(items=2, name="Browser Visible Pack")
    for path, text in (("/", pack.name), (f"/stickers/{pack.pack_key}", pack.name), ("/admin/login/", "Username")):
        dom, violations = load(f"{live_server.url}{path}", tmp_path)
        assert text in dom, path
        assert violations == [], (path, violations)
