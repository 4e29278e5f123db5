"""The Word export (ui/export_docx.py): a meeting note that python-docx reads back, whose only hyperlinks are
corpus links (real w:hyperlink elements with an external relationship)."""

from __future__ import annotations

import io
from datetime import datetime

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from assistant.types import Answer, Citation, LinkRef, Passage
from ui.export_docx import conversation_to_docx, docx_filename
from ui.render import corpus_hrefs

# Two real corpus links (corpus/links.yaml).
SCAN = "https://www.yumpu.com/nl/document/read/55501922/gereedschap-oudercontact"
GROEP8 = "https://www.yumpu.com/nl/document/read/56733340/adviesgesprek-groep-8"
QUESTION = "Hoe betrekken we ouders die slecht Nederlands spreken?"


def _passage(pid: str, url: str, title: str) -> Passage:
    return Passage(id=pid, item_id="t2.direct.1", theme=2, theme_title="Belang van brede samenwerking",
                   kind="suggestie_direct", heading="Direct", text="Ga na hoe het contact met ouders nu loopt.",
                   score=0.9, links=(LinkRef(url=url, title=title),))


def _answer(text: str, citations: list[Citation], question: str = QUESTION) -> Answer:
    passages = [_passage(c.passage_id, c.url, c.title) for c in citations]
    return Answer(question=question, answer=text, in_scope=True, generator="extractive", citations=citations,
                  passages=passages, themes=[2])


def _read(data: bytes):
    return Document(io.BytesIO(data))


def _text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def _hyperlinks(doc) -> list[tuple[str, str]]:
    return [(h.text, h.address) for p in doc.paragraphs for h in p.hyperlinks]


def _rel_targets(doc) -> list[str]:
    """Every relationship target of the document part that is external (hyperlinks, linked images ...)."""
    return [r.target_ref for r in doc.part.rels.values() if r.is_external]


def test_word_export_is_a_meeting_note_with_real_hyperlinks() -> None:
    first = _answer(
        "Uit thema 2:\n\n### Uit de praktijkkaart\n- Ga na hoe het contact met ouders nu loopt met de "
        f"[scan oudercontact]({SCAN}) [1]\n- Gebruik de handreiking voor groep 8 [2]\n\n### Bronnen\n[1] x\n",
        [Citation(n=1, url=SCAN, title="Scan oudercontact", passage_id="p1"),
         Citation(n=2, url=GROEP8, title="Handreiking adviesgesprek groep 8", passage_id="p2")],
    )
    declined = Answer(question="wat is de cao-salarisschaal?", answer="Daar gaat de praktijkkaart niet over.",
                      in_scope=False, generator="extractive", status="declined")
    doc = _read(conversation_to_docx([first, declined], now=datetime(2024, 5, 1, 14, 5)))
    text = _text(doc)
    assert doc.paragraphs[0].text == "Gesprek met de praktijkkaart-assistent"
    assert doc.paragraphs[0].style.name == "Title"
    assert "1 mei 2024, 14:05" in text
    assert QUESTION in text and "wat is de cao-salarisschaal?" in text
    assert "Ga na hoe het contact met ouders nu loopt met de scan oudercontact [1]" in text
    assert "Daar gaat de praktijkkaart niet over." in text
    assert "### " not in text and "](" not in text and "**" not in text  # Markdown became Word structure
    assert "[1] x" not in text  # the answer's own source list is replaced by the numbered sources
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["Vraag 1", "Antwoord"] and "Bronnen" in headings and "Vraag 2" in headings
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert "Gebruik de handreiking voor groep 8 [2]" in bullets
    # numbered sources (the numbers of the [n] markers) with the card location, each title a real hyperlink
    sources = [p for p in doc.paragraphs if p.text.startswith(("[1] ", "[2] "))]
    assert [p.text.split(" (")[0] for p in sources] == ["[1] Scan oudercontact", "[2] Handreiking adviesgesprek groep 8"]
    assert "yumpu.com" in sources[0].text
    assert "Thema 2 · Belang van brede samenwerking · Direct aan de slag" in sources[0].text
    assert _hyperlinks(doc) == [("scan oudercontact", SCAN), ("Scan oudercontact", SCAN),
                                ("Handreiking adviesgesprek groep 8", GROEP8)]
    hyperlink_rels = [r for r in doc.part.rels.values() if r.reltype == RT.HYPERLINK]
    assert hyperlink_rels and all(r.is_external for r in hyperlink_rels)
    assert {r.target_ref for r in hyperlink_rels} == {SCAN, GROEP8}
    assert doc.core_properties.title == "Gesprek met de praktijkkaart-assistent"
    assert doc.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang/@w:val") == ["nl-NL"]  # Dutch text


def test_hostile_answer_text_yields_no_foreign_hyperlink() -> None:
    hostile = _answer(
        "Klik [hier](javascript:alert(1)) of [daar](https://evil.example/a) of <https://evil.example/b>, "
        "zie https://evil.example/c en www.evil.example/d, mail x@evil.example.\n"
        "![pixel](https://tracker.example/p.png) <a href=\"https://evil.example/e\">link</a> "
        "[ref]: https://evil.example/f\n"
        f"Echte bron: [scan]({SCAN}) [1]",
        [Citation(n=1, url=SCAN, title="Scan oudercontact", passage_id="p1"),
         Citation(n=2, url="javascript:alert(2)", title="Gevaarlijk", passage_id="p2"),
         Citation(n=3, url="https://evil.example/g", title="Vreemd", passage_id="p3")],
        question="Zie [x](https://evil.example/q) <https://evil.example/r>",
    )
    doc = _read(conversation_to_docx([hostile]))
    targets = _rel_targets(doc)
    assert set(targets) == {SCAN}, targets
    assert {address for _, address in _hyperlinks(doc)} == {SCAN}
    assert not [r for r in doc.part.rels.values() if r.reltype == RT.IMAGE]
    text = _text(doc)
    assert "tracker.example" not in text and "javascript:" not in text
    assert "Gevaarlijk" in text and "Vreemd" in text  # the titles stay, as text


def test_only_allowed_hrefs_become_hyperlinks() -> None:
    """The default is the corpus links; a caller can narrow it further."""
    assert SCAN in corpus_hrefs() and GROEP8 in corpus_hrefs()
    answer = _answer(f"Zie [scan]({SCAN}) en [groep 8]({GROEP8}).",
                     [Citation(n=1, url=SCAN, title="Scan oudercontact", passage_id="p1")])
    doc = _read(conversation_to_docx([answer], allowed_hrefs={SCAN}))
    assert {address for _, address in _hyperlinks(doc)} == {SCAN}
    assert "Zie scan en groep 8." in _text(doc)


def test_empty_conversation_and_file_name() -> None:
    doc = _read(conversation_to_docx([]))
    assert "nog geen vragen" in _text(doc)
    assert docx_filename(datetime(2024, 5, 1, 14, 5)) == "gesprek-praktijkkaart-2024-05-01-1405.docx"


def test_control_characters_do_not_break_the_export() -> None:
    """A pasted question or a model's answer may hold characters XML cannot carry (NUL, vertical tab)."""
    answer = _answer("Antwoord\x0b met\x00 tekens\x1f [1]", [Citation(n=1, url=SCAN, title="Scan\x08", passage_id="p1")],
                     question="Vraag\x0c met\x07 tekens?")
    text = _text(_read(conversation_to_docx([answer])))
    assert "Vraag met tekens?" in text and "Antwoord met tekens [1]" in text and "[1] Scan (" in text
