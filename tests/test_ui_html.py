"""The HTML the app builds for st.html (ui/html_text.py) and the Markdown links it adds to answers (ui/render.py):
text is always escaped, hrefs only for allowed http(s) links, and what a parser reads back is what went in."""

from __future__ import annotations

from html.parser import HTMLParser

from assistant.types import Answer, Citation
from ui.answer_view import copy_text
from ui.html_text import anchor_id, copy_button_html, highlight_html, hit_spans, link_html, sources_html
from ui.render import link_markers, link_theme_pages

HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>&amp; \'quote\''


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def parse(markup: str) -> _Tags:
    p = _Tags()
    p.feed(markup)
    p.close()
    return p


def test_highlight_marks_hits_ignoring_case_and_accents_and_escapes_the_rest() -> None:
    out = highlight_html("Één café voor ÉÉN ouder <b>", ["een", "cafe"])
    assert out == "<mark>Één</mark> <mark>café</mark> voor <mark>ÉÉN</mark> ouder &lt;b&gt;"
    parsed = parse(highlight_html(HOSTILE, ["img"]))
    assert [t for t, _ in parsed.tags] == ["mark"]  # the only element is ours
    assert parsed.text == HOSTILE
    assert hit_spans("ouders en ouders", ["ouder", "ders"]) == [(0, 6), (10, 16)]  # overlapping hits merged


def test_links_only_to_allowed_http_urls_and_titles_escaped() -> None:
    allowed = {"https://www.pharos.nl/x/"}
    a = parse(link_html(HOSTILE, "https://www.pharos.nl/x/", allowed))
    assert a.tags == [("a", {"href": "https://www.pharos.nl/x/", "target": "_blank", "rel": "noopener noreferrer"})]
    assert a.text == HOSTILE
    for url in ("javascript:alert(1)", "//evil.example/x", "data:text/html,x", "https://e.org/\" onmouseover=\"x"):
        assert parse(link_html("t", url, {url})).tags == []  # not a plain http(s) URL: text, even when listed
    assert parse(link_html("t", "https://evil.example/", allowed)).tags == []  # not a card link: text only


def test_source_list_entries_carry_the_ids_the_markers_link_to() -> None:
    entries = [(1, "Pharos", "https://www.pharos.nl/x/", False), (2, HOSTILE, "https://evil.example/", True)]
    parsed = parse(sources_html(entries, "3F2a!x", {"https://www.pharos.nl/x/"}, "dode link"))
    ids = [attrs["id"] for tag, attrs in parsed.tags if tag == "li"]
    assert ids == [anchor_id("bron", "3F2a!x", 1), anchor_id("bron", "3F2a!x", 2)] == ["bron-3f2a-x-1", "bron-3f2a-x-2"]
    assert [attrs["href"] for tag, attrs in parsed.tags if tag == "a"] == ["https://www.pharos.nl/x/"]
    assert HOSTILE in parsed.text and "dode link" in parsed.text


def test_copy_button_holds_the_text_exactly() -> None:
    text = HOSTILE + "\nregel twee"
    [(tag, attrs), *_] = parse(copy_button_html(text)).tags[1:]
    assert tag == "button" and attrs["data-kopieer"] == text and attrs["type"] == "button"
    assert "onclick" not in copy_button_html(text)  # the handler lives in ui/static/page.js


def test_markers_link_to_their_entry_and_theme_lines_to_bronnen() -> None:
    md = "- Doe dit [1]\n- En dat [2] [\\[3\\]](#x) [9]\n\nLees het hele thema 2 „Samenwerking” op de pagina Bronnen:"
    out = link_theme_pages(link_markers(md, {1, 2, 3}, lambda n: f"bron-a-{n}"))
    assert '[\\[1\\]](#bron-a-1 "Bron 1")' in out and '[\\[2\\]](#bron-a-2 "Bron 2")' in out
    assert "[\\[3\\]](#x)" in out and "[9]" in out  # an existing link and an unknown number stay as they are
    assert out.endswith("[Lees het hele thema 2 „Samenwerking” op de pagina Bronnen](bronnen?thema=2)")


def test_copy_text_is_the_short_answer_with_its_sources() -> None:
    answer = Answer(
        question="q", in_scope=True, generator="extractive", passages=[], themes=[2],
        answer="Inleiding.\n\n### Uit de praktijkkaart\n- Doe dit [1] met [een link](https://e.org/)\n\n"
               "### Bronnen\n[1] Pharos — https://www.pharos.nl/x/",
        citations=[Citation(n=1, url="https://www.pharos.nl/x/", title="Pharos", passage_id="p"),
                   Citation(n=4, url="https://www.pharos.nl/y/", title="Later", passage_id="q")],
    )
    assert copy_text(answer) == ("Inleiding.\n\nUit de praktijkkaart\n- Doe dit [1] met een link\n\n"
                                 "Bronnen\n[1] Pharos — https://www.pharos.nl/x/\n")
