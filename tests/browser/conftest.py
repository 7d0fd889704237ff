"""Browser tests: Playwright's sync API driving Debian's Chromium (/usr/bin/chromium) against
the real service under gunicorn.

Without Chromium (or without the playwright package) every test here skips and says why;
`scripts/install-chromium.sh` installs it on Debian. Screenshots go to test-artifacts/;
with UPDATE_SCREENSHOTS=1 the README's docs/screenshots/*.png are rewritten too.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.server import Server

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # the tests skip, saying so
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "examples" / "frontend"
ARTIFACTS = ROOT / "test-artifacts"
DOC_SHOTS = ROOT / "docs" / "screenshots"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000  # the longest any single wait in these tests may take

SEED_ARTICLE = "e9231330f69d2e16"  # seeds/pages/000_e9231330f69d2e16.txt: 医保380元一次没用了


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# ---- Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.skip("the playwright package is not installed (pip install -r requirements-dev.txt)")
    executable = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not executable or not os.access(executable, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/install-chromium.sh "
                    "(Debian: apt-get install chromium fonts-noto-cjk), or set CHROMIUM=/path/to/chromium")
    with sync_playwright() as playwright:
        # Playwright launches with a fresh temporary --user-data-dir of its own.
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True,
                                              timeout=60_000)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    """A page whose console errors, uncaught exceptions and requests to foreign origins are recorded.
    Requests to an origin not in `allowed` are aborted, so nothing leaves the machine."""

    page: Page
    allowed: set[str]
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def assert_clean(self, tolerate: Callable[[str], bool] = lambda _: False) -> None:
        console = [message for message in self.console_errors if not tolerate(message)]
        assert not self.foreign_requests, f"requests to other origins: {self.foreign_requests}"
        assert not self.page_errors, f"uncaught page errors: {self.page_errors}"
        assert not console, f"console errors: {console}"


@pytest.fixture
def open_page(browser) -> Iterator[Callable[..., Watched]]:
    """open_page(*allowed_origins, viewport=PHONE) -> Watched, in a fresh browser context."""
    contexts = []

    def open_(*allowed: str, viewport: dict = PHONE) -> Watched:
        context = browser.new_context(viewport=viewport, locale="zh-CN", service_workers="block")
        contexts.append(context)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        watched = Watched(page, {origin_of(o) for o in allowed})

        def guard(route):
            url = route.request.url
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and origin_of(url) not in watched.allowed:
                watched.foreign_requests.append(url)
                route.abort("blockedbyclient")
            else:
                route.continue_()

        context.route("**/*", guard)
        page.on("console", lambda message: message.type == "error" and watched.console_errors.append(
            f"{message.text} @ {message.location.get('url', '')}"))
        page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
        return watched

    yield open_
    for context in contexts:
        context.close()


def save_screenshot(page: Page, name: str, docs_name: str | None = None, clip: dict | None = None) -> Path:
    """A full-page PNG (or the `clip` of it) in test-artifacts/; with UPDATE_SCREENSHOTS=1 also
    docs/screenshots/<docs_name>."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True, clip=clip)
    if docs_name and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_SHOTS / docs_name)
    return path


# ---- the service and the page's own origin ----------------------------------------------


@pytest.fixture(scope="session")
def server(browser, tmp_path_factory, write_key) -> Iterator[Server]:
    # Needs the browser only so that, without Chromium, no gunicorn starts just to be skipped.
    with Server(tmp_path_factory.mktemp("browser") / "data", workers=2, keys=write_key) as running:
        yield running


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no access log on the test output
        pass


@pytest.fixture(scope="session")
def frontend() -> Iterator[str]:
    """examples/frontend served from a second origin, so the page's API calls are cross-origin (CORS)."""
    handler = functools.partial(QuietHandler, directory=str(FRONTEND))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="frontend-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


FALLBACK_ARTICLES = [
    {"id": SEED_ARTICLE, "title": "医保380元一次没用了",
     "body": "关于医保380元/年的缴费标准,说明如下:\n\n## 一、缴费性质与年限\n\n1. 缴费周期与清零规则\n\n"
             "   城乡居民医保个人账户余额年终结清。\n\n## 二、380元标准的含义\n\n- 个人账户支付限额\n- 报销比例\n"},
    {"id": "browser-test-card-lost", "title": "医保卡丢了怎么办",
     "body": "## 一、挂失\n\n1. 拨打12345挂失医保卡\n2. 到银行网点补办医保卡\n"},
    {"id": "browser-test-account", "title": "医保个人账户的钱怎么用",
     "body": "## 一、个人账户\n\n医保个人账户可以支付门诊费用和药店购药。\n"},
]


@pytest.fixture(scope="session")
def article_id(server, write_key) -> str:
    """The first seed page, or, when the store has no seed articles yet, the same id created through the API."""
    if requests.get(f"{server.url}/api/v1/articles/{SEED_ARTICLE}", timeout=10).status_code != 200:
        headers = {"Authorization": f"Bearer {write_key}"}  # write_headers is per test; this runs once
        for article in FALLBACK_ARTICLES:
            response = requests.post(f"{server.url}/api/v1/articles", json=article, headers=headers, timeout=10)
            assert response.status_code == 201, response.text
    return SEED_ARTICLE


def api_status(server: Server, path: str, **params) -> int:
    return requests.get(server.url + path, params=params, timeout=10).status_code
