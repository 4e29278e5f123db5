"""The app as a screen-reader user, a keyboard user and the school's IT see it, in real Chromium.

`streamlit run ui/app.py` (shared `serve_app()` of tests/test_browser.py) on the in-memory store with the default
embedder, so answers are real; the Beheer page is switched on. axe-core comes from npm, installed by .ci/run into
.ci/node/ (`npm install --prefix .ci/node axe-core@4.14.1`); the axe test skips when it is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, START_TIMEOUT_S, _require_chromium, serve_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "Hoe betrekken we ouders die slecht Nederlands spreken?"
DECLINED = "wat is de cao-salarisschaal?"
ANSWER_TIMEOUT_MS = 60_000
PAGES = ("bronnen", "beheer", "over")  # besides the chat (the default page)
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_chromium()
    data_dir = tmp_path_factory.mktemp("browser-a11y-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env |= {"PRAKTIJKKAART_DATA_DIR": str(data_dir), "PRAKTIJKKAART_STORE_BACKEND": "memory",
            "PRAKTIJKKAART_BEHEER_PAGE": "true"}
    with serve_app(env, data_dir / "streamlit.log") as url:
        yield url


@pytest.fixture()
def page(app_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1000})
        finally:
            browser.close()


def _open_chat(page: Any, url: str) -> Any:
    from playwright.sync_api import expect

    page.goto(url)
    chat = page.get_by_test_id("stChatInputTextArea")
    expect(chat).to_be_enabled(timeout=START_TIMEOUT_S * 1000)  # enabled once the assistant is warm
    return chat


def _ask(page: Any, url: str, question: str = QUESTION) -> Any:
    """Ask on a fresh chat page; returns the assistant's reply once its feedback buttons show."""
    from playwright.sync_api import expect

    chat = _open_chat(page, url)
    chat.fill(question)
    chat.press("Enter")
    reply = page.get_by_test_id("stChatMessage").nth(1)
    expect(reply.get_by_test_id("stFeedback")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return reply


def _open_page(page: Any, url: str, path: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/{path}")
    expect(page.locator("h1").first).to_be_visible(timeout=START_TIMEOUT_S * 1000)
    page.wait_for_timeout(1500)  # let late elements (images, icons) load


def test_nothing_the_pages_load_comes_from_outside_the_machine(page: Any, app_url: str) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _ask(page, app_url)
    page.wait_for_timeout(1500)
    for path in PAGES:
        _open_page(page, app_url, path)
    hosts = {urlsplit(u).hostname for u in requests if not u.startswith(("data:", "blob:", "about:"))}
    assert len(requests) > 20  # the recording works: the app's own scripts, styles, fonts and websocket
    assert hosts <= LOCAL_HOSTS, sorted(u for u in requests if urlsplit(u).hostname not in LOCAL_HOSTS)
