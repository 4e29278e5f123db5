"""The Word export in a real browser: ask a question in `streamlit run ui/app.py` (headless Chromium through
Playwright), click the Word download, and read the downloaded file back with python-docx.

Fast backends (in-memory store that ingests itself, fake embedder): this test is about the download, not about
retrieval quality. The server helpers are those of tests/test_browser.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, START_TIMEOUT_S, _require_chromium, app_env, serve_app

from corpus.model import load_card

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Hoe begeleiden we leerlingen goed bij de overstap van groep 8 naar het vo?"
ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_chromium()
    data_dir = tmp_path_factory.mktemp("browser-export-data")
    env = app_env(data_dir, store__backend="memory", embedding__backend="fake")
    with serve_app(env, data_dir / "streamlit.log") as url:
        yield url


def test_word_download_holds_question_answer_and_hyperlinks(app_url: str, tmp_path: Path) -> None:
    from docx import Document
    from playwright.sync_api import expect, sync_playwright

    corpus_urls = {lk.url for lk in load_card().links}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1200}, accept_downloads=True)
            page.goto(app_url)
            chat = page.get_by_test_id("stChatInputTextArea")
            expect(chat).to_be_enabled(timeout=START_TIMEOUT_S * 1000)
            word = page.get_by_test_id("stSidebar").get_by_role("button", name="Exporteer gesprek")
            expect(word).to_be_disabled()  # nothing to export yet
            chat.fill(QUESTION)
            chat.press("Enter")
            reply = page.get_by_test_id("stChatMessage").nth(1)
            expect(reply.get_by_text("Bronnen", exact=True)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            first_line = reply.get_by_test_id("stMarkdownContainer").first.inner_text().strip().splitlines()[0]
            shown_hrefs = reply.locator("a[href^='http']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            expect(word).to_be_enabled()
            with page.expect_download(timeout=30_000) as download_info:
                word.click()
            download = download_info.value
            assert download.suggested_filename.startswith("gesprek-praktijkkaart-")
            assert download.suggested_filename.endswith(".docx")
            target = tmp_path / download.suggested_filename
            download.save_as(target)

            markdown = page.get_by_test_id("stSidebar").get_by_role("button", name="Als Markdown")
            with page.expect_download(timeout=30_000) as md_info:
                markdown.click()
            md_path = tmp_path / md_info.value.suggested_filename
            md_info.value.save_as(md_path)
        finally:
            browser.close()

    doc = Document(io.BytesIO(target.read_bytes()))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert doc.paragraphs[0].text == "Gesprek met de praktijkkaart-assistent"
    assert QUESTION in text
    assert len(first_line) > 40 and first_line in text, first_line  # the answer as the chat showed it
    links = [(h.text, h.address) for p in doc.paragraphs for h in p.hyperlinks]
    assert len(links) >= 3, links
    assert {address for _, address in links} <= corpus_urls
    assert {address for _, address in links} >= set(shown_hrefs) & corpus_urls  # the sources shown in the chat
    assert all(r.is_external for r in doc.part.rels.values() if r.reltype.endswith("/hyperlink"))
    md = md_path.read_text(encoding="utf-8")
    assert md_path.suffix == ".md" and QUESTION in md and "\\." not in md
