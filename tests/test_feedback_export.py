"""The local feedback store (assistant/feedback.py), the Markdown export (ui/export.py) and the render helpers."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
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
    return Settings(data_dir=tmp_path, store={"backend": "memory"}, embedding={"backend": "fake"})


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


# --- `praktijkkaart feedback`: feedback given in the app, read back by school IT ------------------------------

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
ROOT = Path(__file__).resolve().parent.parent
APP_QUESTION = "Hoe begeleiden we leerlingen goed bij de overstap van groep 8 naar het vo?"


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env["PRAKTIJKKAART_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "feedback", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _feedback_in_the_app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Ask a question in the app (AppTest), give thumbs down and a comment; returns the answer text."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PRAKTIJKKAART_STORE__BACKEND", "memory")
    monkeypatch.setenv("PRAKTIJKKAART_EMBEDDING__BACKEND", "fake")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.chat_input[0].set_value(APP_QUESTION).run()
    at.feedback[0].set_value(0).run()
    msg_id = at.session_state["messages"][-1]["id"]
    at.text_input(key=f"fbc_{msg_id}").input("Ik miste de tolk voor leerling Sami, bel 06-12345678.")
    [submit] = [b for b in at.button if b.label == "Verstuur toelichting"]
    submit.click().run()
    assert not at.exception, at.exception
    return str(at.session_state["messages"][-1]["answer"].answer)


@pytest.mark.slow
def test_feedback_given_in_the_app_is_listed_by_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _feedback_in_the_app(tmp_path, monkeypatch)
    save_feedback(Settings(data_dir=tmp_path), answer_id="b2", question="Wat doet een sleutelpersoon?",
                  answer="Zo [1].", passage_ids=[], thumbs=None, comment="Graag meer voorbeelden.", generator="llm")

    listed = _cli(tmp_path, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    [app_row] = [r for r in rows if r["question"] == APP_QUESTION]
    assert app_row["verdict"] == "niet nuttig" and app_row["thumbs"] == 0
    assert app_row["comment"] == "Ik miste de tolk voor leerling [naam], bel [telefoonnummer]."  # redacted
    assert app_row["generator"] == "extractive" and app_row["answer_id"]
    assert datetime.fromisoformat(app_row["created_at"]).tzinfo is not None
    [comment_only] = [r for r in rows if r["answer_id"] == "b2"]
    assert comment_only["verdict"] == "alleen opmerking" and comment_only["generator"] == "llm"
    assert "Sami" not in listed.stdout and "06-12345678" not in listed.stdout

    as_csv = _cli(tmp_path, "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["vraag"] for r in table] == [r["question"] for r in rows]
    assert table[0]["oordeel"] == "niet nuttig" and table[0]["toelichting"].startswith("Ik miste de tolk")

    human = _cli(tmp_path)
    assert human.returncode == 0 and APP_QUESTION in human.stdout and "niet nuttig" in human.stdout
    assert "2 feedbackregels" in human.stdout


def test_feedback_cli_on_an_empty_store(tmp_path: Path) -> None:
    empty = _cli(tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert "nog geen feedback" in empty.stdout.lower()
    assert json.loads(_cli(tmp_path, "--json").stdout) == []
    assert not (tmp_path / "feedback.sqlite3").exists()  # reading does not create the store
