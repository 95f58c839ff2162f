"""Browser tests: Playwright (pytest-playwright's fixtures, with one browser for all of these
tests) driving Debian's headless Chromium against pytest-django's live server.

Every page is checked under the site's own Content-Security-Policy (settings.SECURE_CSP:
same-origin scripts and styles, inline ones only with a nonce, which these pages never use);
console errors (a CSP violation is one) and page errors fail the test, axe-core (npm, tests/e2e/node_modules) checks each page, and
screenshots at phone and desktop widths go to test-artifacts/e2e/<database>/ (git-ignored).
"""

import os
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect, sync_playwright

# Here too every read sees the last write (the anonymous read cache has tests of its own).
from tests.catalog.conftest import _no_anonymous_read_cache  # noqa: F401

# The sync Playwright API runs an event loop in this thread; the ORM calls the tests make
# around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Generous: the machine is shared and loaded (uploads convert images, a worker process starts).
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="package")
def playwright():
    """pytest-playwright's Playwright, for as long as the browser tests run (not the session):
    the sync API keeps an asyncio loop set as running in this thread while it lives, and
    async_to_sync in any later test would then refuse to run."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def browser(browser_type, browser_type_launch_args):
    """One browser for all the browser tests (its contexts are per test)."""
    browser = browser_type.launch(**browser_type_launch_args)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bin/system-deps build test` (make test does)", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make e2e-deps` (make test does)", pytrace=False)
    return AXE.read_text()


class Browsing:
    """One browser context: its page, the problems seen in its console, and helpers to check
    and photograph what it shows."""

    def __init__(self, browser, base_url: str, axe_source: str, *, javascript: bool, name: str):
        self.context = browser.new_context(base_url=base_url, viewport=DESKTOP, java_script_enabled=javascript)
        self.context.set_default_timeout(TIMEOUT_MS)
        if javascript:
            # An init script is not page code, so the CSP does not block it (a <script> tag would).
            self.context.add_init_script(script=axe_source)
        self.javascript = javascript
        self.name = name
        self.problems: list[str] = []
        self.expected: list[str] = []
        self.requests: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("response", self._response)
        self.policy = ""
        self.folder = ARTIFACTS / connection.vendor
        self.folder.mkdir(parents=True, exist_ok=True)

    def _console(self, message):
        if message.type in ("error", "warning") and not any(text in message.text for text in self.expected):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response):
        if response.request.resource_type == "document":
            self.policy = response.headers.get("content-security-policy", "")

    def expect_console(self, text: str) -> None:
        """A console message the next steps cause on purpose (e.g. the 415 of a refused upload)."""
        self.expected.append(text)

    def check(self, label: str) -> None:
        """The page as a person sees it: no console problems (CSP violations included), no
        inline code or style the CSP would refuse, no serious axe violations at either width,
        and a screenshot at each width."""
        page = self.page
        page.wait_for_load_state("load")
        # The site's own policy (settings.SECURE_CSP): same-origin scripts (inline ones would need
        # the nonce, which Django adds only when a template used it: never on these pages).
        assert "script-src 'self';" in self.policy and "unsafe-inline" not in self.policy, self.policy
        inline = (
            page.evaluate(
                """() => ({
                scripts: document.querySelectorAll('script:not([src])').length,
                styles: document.querySelectorAll('style, [style]').length,
                handlers: [...document.querySelectorAll('*')].filter(
                    el => [...el.attributes].some(a => a.name.startsWith('on'))).length,
            })"""
            )
            if self.javascript
            else None
        )
        if inline is not None:
            assert inline == {"scripts": 0, "styles": 0, "handlers": 0}, f"{label}: inline code {inline}"
        for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            if self.javascript:
                violations = page.evaluate(
                    """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)"""
                )
                assert violations == [], f"{label} ({width}): axe found {violations}"
            page.screenshot(path=str(self.folder / f"{self.name}-{label}-{width}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        assert self.problems == [], f"{label}: {self.problems}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browsing(browser, live_server, axe_source):
    """browsing(name, javascript=True): a fresh context (own cookies) on the live server."""
    opened: list[Browsing] = []

    def open_context(name: str, *, javascript: bool = True) -> Browsing:
        session = Browsing(browser, live_server.url, axe_source, javascript=javascript, name=name)
        opened.append(session)
        return session

    yield open_context
    for session in opened:
        session.close()
