"""The app as a screen-reader user, a keyboard user and the school's IT see it, in real Chromium.

`streamlit run ui/app.py` (shared `serve_app()` of tests/test_browser.py) on the in-memory store with the default
embedder, so answers are real; the Beheer page is switched on. axe-core comes from npm, installed by .ci/run into
.ci/node/ (`npm install --prefix .ci/node axe-core@4.14.1`); the axe test skips when it is not installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, START_TIMEOUT_S, _require_chromium, app_env, serve_app

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
    env = app_env(data_dir, store__backend="memory", app__beheer_page="true")
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
    # The app reruns once after an answer (so that the export includes it): wait until that has landed.
    export = page.get_by_test_id("stSidebar").get_by_role("button", name="Exporteer gesprek")
    expect(export).to_be_enabled(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(300)
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


def test_page_language_is_dutch_on_every_page(page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    _open_chat(page, app_url)
    for path in ("", *PAGES):
        if path:
            _open_page(page, app_url, path)
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        skip = page.get_by_test_id("stSkipToContent")
        expect(skip).to_have_text("Naar de inhoud")
    assert page.get_by_text("Skip to main content").count() == 0
    _open_chat(page, app_url)
    labels = set(page.locator("[aria-label]").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))"))
    assert {"Verstuur je vraag", "Pagina's"} <= labels and not labels & {"Send message", "App pages", "Sidebar"}, labels


def _tab_stops_to_chat_input(page: Any, limit: int = 60) -> int:
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.getAttribute('data-testid')") == "stChatInputTextArea":
            return presses
    pytest.fail(f"the chat input had no focus after {limit} Tab presses")


def test_few_tab_stops_before_the_question_box(page: Any, app_url: str) -> None:
    """Issue 16 counted 17 presses (skip link, 4 menu links, sidebar, six example questions, ...)."""
    _open_chat(page, app_url)
    page.wait_for_timeout(500)
    stops = _tab_stops_to_chat_input(page)
    print(f"Tab presses from page load to the question box: {stops}")
    # skip link, 4 menu links (with Beheer), Nieuw gesprek, school type, themes, the main region, the box
    assert stops <= 10, stops


def _axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"""))


def test_axe_finds_no_serious_or_critical_violation(page: Any, app_url: str) -> None:
    if not AXE.is_file():
        reason = (f"axe-core is not installed at {AXE}: `npm install --prefix .ci/node axe-core@4.14.1` "
                  "(.ci/run does this)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    _ask(page, app_url)
    page.wait_for_timeout(1000)
    found = {"chat": _axe_violations(page)}
    for path in PAGES:
        _open_page(page, app_url, path)
        found[path] = _axe_violations(page)
    bad = {name: [v for v in vs if v["impact"] in ("serious", "critical")] for name, vs in found.items()}
    print({name: [(v["id"], v["impact"]) for v in vs] for name, vs in found.items()})
    assert bad == {name: [] for name in found}, bad


def test_markers_link_to_their_sources_and_the_theme_link_opens_bronnen(page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    reply = _ask(page, app_url)
    marker = reply.locator("a[href^='#bron-']").first
    expect(marker).to_have_text("[1]")
    target = marker.get_attribute("href")
    entry = reply.locator(f"li{target}")
    expect(entry).to_contain_text("[1]")
    assert entry.locator("a[href^='http']").count() == 1  # the source entry carries its link
    marker.click()
    assert page.evaluate("location.hash") == target  # followed in place: no new tab, the chat stays
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2)
    expect(entry).to_be_in_viewport()
    assert page.evaluate("document.activeElement.id") == target[1:]  # focus moved there too (screen readers)

    reply.get_by_text("Meer uit thema", exact=False).first.click()
    theme_link = reply.locator("a[href^='bronnen?thema=']").first
    expect(theme_link).to_contain_text("Lees het hele thema")
    number = theme_link.get_attribute("href").rsplit("=", 1)[1]
    page.goto(f"{app_url}/{theme_link.get_attribute('href')}")
    opened = page.locator("details[open] summary")
    expect(opened).to_have_count(1, timeout=START_TIMEOUT_S * 1000)
    expect(opened).to_contain_text(f"Thema {number} · ")


def test_copy_button_copies_the_answer_with_its_sources(page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    reply = _ask(page, app_url)
    button = reply.get_by_role("button", name="Kopieer antwoord")
    button.click()
    expect(reply.get_by_role("status")).to_have_text("Gekopieerd")
    copied = page.evaluate("navigator.clipboard.readText()")
    first_line = reply.get_by_test_id("stMarkdownContainer").first.inner_text().strip().splitlines()[0]
    assert copied.startswith(first_line), (first_line, copied[:200])
    assert "\nBronnen\n[1] " in copied and re.search(r"\[1\] .+ — https?://", copied), copied[-500:]


def test_long_paste_gets_the_dutch_too_long_message(page: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    chat = _open_chat(page, app_url)
    paste = ("Op onze school merken we dat ouders die weinig Nederlands spreken moeilijk te bereiken zijn. " * 40)[:3000]
    chat.fill(paste)
    assert len(chat.input_value()) == 3000  # the box took all of it (it used to stop at 2000)
    chat.press("Enter")
    warning = page.get_by_test_id("stAlertContentWarning")
    expect(warning).to_contain_text("Je vraag is te lang (3.000 tekens; maximaal 2.000)", timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_label("Je vraag (nog niet verstuurd)")).to_have_value(paste)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(0)  # not answered


def test_decline_lists_the_themes_without_double_markers(page: Any, app_url: str) -> None:
    reply = _ask(page, app_url, DECLINED)
    items = reply.locator("ol li").all_inner_texts()
    assert len(items) == 5, items
    assert all(not re.match(r"^\s*(?:[•\-*]|\d+[.)])", text) for text in items), items  # the list numbers them
