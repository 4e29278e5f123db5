"""The real app in a real browser: `streamlit run ui/app.py` driven by headless Chromium through Playwright.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install chromium`). Locally the test skips when it is
missing; in CI (CI=true) it fails instead. The screenshot lands in artifacts/browser/answer.png.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from corpus.model import load_card

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOT = ROOT / "artifacts" / "browser" / "answer.png"
QUESTION = "Hoe kunnen we ouders betrekken die slecht Nederlands spreken?"
START_TIMEOUT_S = 180  # first start loads the embedding model
ANSWER_TIMEOUT_MS = 60_000


def require_tool(path: Path, hint: str) -> None:
    """Skip when `path` is missing (fail in CI, which installs it); `hint` says how to install it."""
    if path.exists():
        return
    reason = f"{path} not found: {hint}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _require_chromium() -> None:
    require_tool(CHROMIUM, "install Debian's chromium (apt-get install chromium) to run the browser test")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, *, name: str = "streamlit",
                 timeout_s: float = START_TIMEOUT_S) -> None:
    """Until `url`/_stcore/health answers 200; fails with the end of `log` when `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{name} did not become healthy at {url}:\n{log.read_text(errors='replace')[-3000:]}")


def app_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without its PRAKTIJKKAART_* settings, plus the data dir and `settings` (section__name=value)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env["PRAKTIJKKAART_DATA_DIR"] = str(data_dir)
    env |= {f"PRAKTIJKKAART_{k.upper()}": v for k, v in settings.items()}
    return env


def ingest_for(env: dict[str, str]) -> None:
    """`run_ingest` in a subprocess with `env`, as an operator would before starting the app."""
    ingest = subprocess.run(
        [sys.executable, "-c",
         "from ingest.pipeline import run_ingest; from praktijkkaart.settings import Settings; run_ingest(Settings())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert ingest.returncode == 0, ingest.stderr[-3000:]


@contextmanager
def serve_app(env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free loopback port with `env`; yields its URL once healthy."""
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_chromium()
    data_dir = tmp_path_factory.mktemp("browser-data")
    env = app_env(data_dir)
    ingest_for(env)
    with serve_app(env, data_dir / "streamlit.log") as url:
        yield url


def test_question_in_the_browser_gets_a_cited_answer(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    card = load_card()
    url_by_title = {lk.title: lk.url for lk in card.links}
    corpus_urls = set(url_by_title.values())

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(app_url)
            chat = page.get_by_test_id("stChatInputTextArea")
            expect(chat).to_be_enabled(timeout=START_TIMEOUT_S * 1000)  # enabled once the assistant is warm
            expect(page.get_by_role("button", name="Hoe betrekken we ouders die slecht Nederlands spreken?")
                   ).to_be_visible()

            chat.fill(QUESTION)
            started = time.monotonic()
            chat.press("Enter")
            reply = page.get_by_test_id("stChatMessage").nth(1)
            expect(reply.get_by_text("Bronnen", exact=True)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            latency = time.monotonic() - started
            expect(reply.get_by_test_id("stFeedback")).to_be_visible()
            assert latency < 10, f"answer took {latency:.1f}s in the browser"

            # Every link in the answer points into the corpus, and the numbered sources resolve to their URL.
            hrefs = reply.locator("a[href^='http']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            assert hrefs and set(hrefs) <= corpus_urls, hrefs

            # Open the first source expander: the passage text and its link are there, the href exact.
            expander = reply.get_by_test_id("stExpander").filter(has_not_text="Meer uit").first
            details = expander.get_by_test_id("stExpanderDetails")
            _open(expander, details)
            expect(expander.locator("summary")).to_contain_text("Thema ")  # e.g. "[1] Thema 2 · ... · Direct aan de slag"
            link = details.locator("a[href^='http']").first
            expect(link).to_be_visible()
            title, href = link.inner_text().strip(), link.get_attribute("href")
            assert title in url_by_title, title
            assert href == url_by_title[title]
            assert link.get_attribute("target") == "_blank"
            # the expander shows the exact text of the card item that carries this link
            shown = details.inner_text()
            assert any(item.text in shown for item in card.items_with_link(href)), shown
            page.wait_for_timeout(500)  # let the expander animation finish before the screenshot

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            # Markup typed into the chat is shown as text and never runs.
            attack = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script> hoe betrek ik ouders?"
            chat.fill(attack)
            chat.press("Enter")
            expect(page.get_by_test_id("stChatMessage").nth(2)).to_contain_text(attack, timeout=ANSWER_TIMEOUT_MS)
            expect(page.get_by_test_id("stChatMessage").nth(3)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            assert page.evaluate("window.__xss") is None
            assert page.locator("img[src='x']").count() == 0
        finally:
            browser.close()


def test_beheer_and_evaluatie_are_not_served_by_default(app_url: str) -> None:
    """PRAKTIJKKAART_APP__BEHEER_PAGE is off: the menu has no Beheer (nor the old Evaluatie) and their URLs show the chat."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for path in ("beheer", "evaluatie"):
                page.goto(f"{app_url}/{path}")
                expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=START_TIMEOUT_S * 1000)
                expect(page.locator("h1").first).to_have_text("Praktijkkaart-assistent")
                links = page.get_by_test_id("stSidebarNavLink").all_inner_texts()
                assert [lk.split()[-1] for lk in links] == ["Chat", "Bronnen", "Over"], links
                assert page.get_by_text("Feedback uit de chat").count() == 0
        finally:
            browser.close()


def _open(expander: Any, details: Any, attempts: int = 3) -> None:
    """Open an expander. Under load (CI, two test workers) Streamlit can re-render the message right after the
    click and the expander comes back closed (seen once in CI: details stayed hidden); click again then, but
    only while it is closed, so a slow opening is never toggled shut."""
    from playwright.sync_api import expect

    for attempt in range(attempts):
        if expander.locator("details").get_attribute("open") is None:
            expander.locator("summary").click()
        try:
            expect(details).to_be_visible(timeout=4000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise
