"""The local feedback store (assistant/feedback.py), the Markdown export (ui/export.py) and the render helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from assistant.feedback import db_path, forget_before, list_feedback, save_feedback
from assistant.types import Answer, Citation, LinkRef, Passage
from praktijkkaart.settings import Settings
from ui.export import conversation_to_markdown, export_filename
from ui.render import (
    answer_body,
    escape_markdown,
    markdown_link,
    safe_answer_markdown,
    safe_url,
    stream_without_images,
    strip_images,
    until_sources,
)

URL = "https://www.hr.nl/onderzoek/scan-oudercontact"


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, store_backend="memory", embedding_backend="fake")


def _answer(question: str = "Hoe betrekken we ouders die slecht Nederlands spreken?") -> Answer:
    passage = Passage(
        id="c-t2.direct.1", item_id="t2.direct.1", theme=2, theme_title="Belang van brede samenwerking",
        kind="suggestie_direct", heading="Direct", text="Ga na hoe het contact met ouders/verzorgers nu loopt.",
        score=0.9, links=(LinkRef(url=URL, title="Scan oudercontact"),),
    )
    return Answer(
        question=question, answer="Uit thema 2:\n\n- Ga na hoe het contact met ouders/verzorgers nu loopt [1].",
        in_scope=True, generator="extractive", passages=[passage], themes=[2],
        citations=[Citation(n=1, url=URL, title="Scan oudercontact", passage_id="c-t2.direct.1"),
                   Citation(n=2, url="https://example.org/weg", title="Oude link", passage_id="c-t2.direct.1",
                            dead=True)],
    )


# --- feedback -------------------------------------------------------------------------------------


def test_feedback_is_stored_with_question_answer_and_passages(settings: Settings) -> None:
    save_feedback(settings, answer_id="a1", question="Hoe betrek ik ouders?", answer="Zo [1].",
                  passage_ids=["c-t2.direct.1"], thumbs=1, generator="extractive")
    assert db_path(settings) == settings.data_dir / "feedback.sqlite3"
    [rec] = list_feedback(settings)
    assert (rec.id, rec.question, rec.answer, rec.passage_ids, rec.thumbs, rec.comment) == (
        "a1", "Hoe betrek ik ouders?", "Zo [1].", ("c-t2.direct.1",), 1, None)
    assert rec.created_at.tzinfo is not None


def test_comment_updates_the_same_row_and_is_redacted(settings: Settings) -> None:
    save_feedback(settings, answer_id="a1", question="q", answer="a", passage_ids=[], thumbs=0)
    save_feedback(settings, answer_id="a1", question="q", answer="a", passage_ids=[], thumbs=None,
                  comment="Miste iets voor leerling Ahmed, bel 06-12345678")
    [rec] = list_feedback(settings)
    assert rec.thumbs == 0  # kept
    assert rec.comment == "Miste iets voor leerling [naam], bel [telefoonnummer]"
    raw = db_path(settings).read_bytes()
    assert b"Ahmed" not in raw and b"06-12345678" not in raw


def test_invalid_thumbs_value_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError):
        save_feedback(settings, answer_id="a1", question="q", answer="a", passage_ids=[], thumbs=5)


def test_forget_before_removes_only_older_feedback(settings: Settings) -> None:
    old = datetime(2023, 1, 10, 12, 0, tzinfo=UTC)
    new = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    save_feedback(settings, answer_id="old", question="q", answer="a", passage_ids=[], thumbs=1, now=old)
    save_feedback(settings, answer_id="new", question="q", answer="a", passage_ids=[], thumbs=0, now=new)
    assert forget_before(settings, date(2024, 1, 1)) == 1
    assert [r.id for r in list_feedback(settings)] == ["new"]
    assert forget_before(settings, datetime(2024, 6, 1, 9, 30, 1)) == 1  # naive datetimes are UTC
    assert list_feedback(settings) == []
    with sqlite3.connect(db_path(settings)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)


def test_forget_before_without_a_database_does_nothing(settings: Settings) -> None:
    assert forget_before(settings, date(2030, 1, 1)) == 0
    assert not db_path(settings).exists()


# --- export ---------------------------------------------------------------------------------------


def test_export_contains_questions_answers_and_sources() -> None:
    first = _answer()
    declined = Answer(question="wat is de cao-salarisschaal?", answer="Daar gaat de praktijkkaart niet over.",
                      in_scope=False, generator="extractive", status="declined")
    md = conversation_to_markdown([first, declined], now=datetime(2024, 5, 1, 14, 5))
    assert md.startswith("# Gesprek met de praktijkkaart-assistent\n")
    assert "01-05-2024 14:05" in md
    assert "## Vraag 1" in md and "## Vraag 2" in md
    assert "Hoe betrekken we ouders die slecht Nederlands spreken?" in md
    assert "Ga na hoe het contact met ouders/verzorgers nu loopt [1]." in md
    assert f"1. [Scan oudercontact]({URL}) (hr.nl) — <{URL}>" in md
    assert "2. [Oude link](https://example.org/weg)" in md and "werkte bij de laatste controle niet" in md
    assert "Thema 2 · Belang van brede samenwerking · Direct aan de slag" in md
    assert "Daar gaat de praktijkkaart niet over." in md
    # the declined answer has no sources section of its own
    assert md.count("**Bronnen**") == 1


def test_export_escapes_questions_and_drops_images() -> None:
    answer = _answer(question="<script>alert(1)</script> **vet**")
    answer.answer = "Tekst ![logo](https://tracker.example/x.png) en meer [1]."
    md = conversation_to_markdown([answer])
    assert "<script>" not in md and "\\<script\\>" in md
    assert "\\*\\*vet\\*\\*" in md
    assert "tracker.example" not in md and "[afbeelding: logo]" in md


def test_markdown_export_has_no_needless_backslash_escapes() -> None:
    """Clean Markdown: a full stop, a domain or a hyphen is not escaped; only what would start markup is."""
    url = "https://www.yumpu.com/nl/document/read/56733340/adviesgesprek-groep-8"
    answer = _answer(question="Wat doen we na de brugklas? En (hoe) met 8-jarigen?")
    answer.answer = "Uit thema 4: een kansrijke doorstroom na de brugklas. Zie de handreiking [1]."
    answer.citations = [Citation(n=1, url=url, title="Handreiking ‘kansrijke doorstroom na de brugklas’.",
                                 passage_id="c-t2.direct.1")]
    md = conversation_to_markdown([answer])
    assert "\\" not in md, md
    assert "brugklas’.](" in md and "(yumpu.com)" in md
    assert "> Wat doen we na de brugklas? En (hoe) met 8-jarigen?" in md
    assert "Thema 2 · Belang van brede samenwerking · Direct aan de slag" in md


def test_export_of_an_empty_conversation_and_file_name() -> None:
    assert "nog geen vragen" in conversation_to_markdown([])
    assert export_filename(datetime(2024, 5, 1, 14, 5)) == "gesprek-praktijkkaart-2024-05-01-1405.md"


# --- render helpers -------------------------------------------------------------------------------


def test_escape_markdown_neutralises_markup() -> None:
    assert escape_markdown("<b>*x*</b> [a](b)") == "\\<b\\>\\*x\\*\\</b\\> \\[a\\]\\(b\\)"
    assert escape_markdown("regel 1\nregel 2") == "regel 1  \nregel 2"


def test_images_are_stripped_and_html_is_shown_as_text() -> None:
    assert strip_images("a ![x](http://e/x.png) b ![](u) c ![r][ref]") == (
        "a [afbeelding: x] b [afbeelding] c [afbeelding: r]")
    assert safe_answer_markdown("<img src=x onerror=alert(1)> kost $5") == "&lt;img src=x onerror=alert(1)> kost \\$5"
    assert safe_answer_markdown("### Direct aan de slag:\n- doe dit") == "**Direct aan de slag:**\n- doe dit"


def test_streamed_images_are_stripped_even_when_split_over_pieces() -> None:
    pieces = ["Zie ", "!", "[lo", "go](https://tracker.", "example/p.png)", " en verder! Klaar."]
    out = "".join(stream_without_images(pieces))
    assert out == "Zie [afbeelding: logo] en verder! Klaar."


def test_links_only_for_http_urls() -> None:
    assert markdown_link("Titel [1]", URL) == f"[Titel \\[1\\]]({URL})"
    assert markdown_link("Klik", "javascript:alert(1)") == "Klik"
    assert safe_url("https://e.org/a (b)") is None
    assert safe_url("https://e.org/a_(b)") == "https://e.org/a_%28b%29"


def test_answer_body_and_stream_leave_out_the_answers_own_sources_list() -> None:
    text = "Intro [1].\n\n### Direct aan de slag:\n- Doe dit [1]\n\n### Bronnen\n[1] Titel — https://e.org/x\n"
    assert answer_body(text) == "Intro [1].\n\n### Direct aan de slag:\n- Doe dit [1]"
    assert answer_body("Geen bronnen hier.") == "Geen bronnen hier."
    consumed: list[str] = []

    def pieces() -> Iterator[str]:
        for piece in ["Intro [1].\n\n### Dir", "ect aan de slag:\n- Doe dit [1]\n\n### Bron", "nen\n[1] Titel", " — x\n"]:
            consumed.append(piece)
            yield piece

    assert "".join(until_sources(pieces())) == "Intro [1].\n\n### Direct aan de slag:\n- Doe dit [1]\n\n"
    assert len(consumed) == 4  # the stream behind it ran to its end (the final Answer comes last)
