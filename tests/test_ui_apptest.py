"""The Streamlit app driven headless with streamlit.testing.v1.AppTest, against the real assistant.

The assistant runs on the in-memory store (it ingests itself on first use) with the default embedder: the fake
embedder's vectors carry no meaning, so with it every question is declined as out of scope. The assistant is
cached per settings, so the model loads once for the whole module. The app reads its settings from the
PRAKTIJKKAART_* environment like in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import assistant.core
from assistant.feedback import list_feedback
from praktijkkaart.settings import Settings
from ui import views
from ui.render import strip_images

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
TIMEOUT = 120

QUESTION = "Hoe betrekken we ouders die slecht Nederlands spreken?"
DECLINED = "wat is de cao-salarisschaal?"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir, so one cached assistant for the whole module (its memory store ingests on first use)."""
    return tmp_path_factory.mktemp("ui-data")


@pytest.fixture()
def env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("PRAKTIJKKAART_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PRAKTIJKKAART_STORE__BACKEND", "memory")
    return Settings()


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Records every call the UI makes to Assistant.stream (question, history, filters, generator)."""
    recorded: list[dict[str, Any]] = []
    original = assistant.core.Assistant.stream

    def spy(self: Any, question: str, history: Any = None, filters: Any = None, generator: Any = None) -> Iterator[Any]:
        recorded.append({"question": question, "history": list(history or []), "filters": filters,
                         "generator": generator})
        return original(self, question, history=history, filters=filters, generator=generator)

    monkeypatch.setattr(assistant.core.Assistant, "stream", spy)
    return recorded


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def assistant_messages(at: AppTest) -> list[Any]:
    return [m for m in at.chat_message if m.name == "assistant"]


def markdown_of(block: Any) -> str:
    return "\n".join(md.value for md in block.markdown)


def html_of(block: Any) -> str:
    return "\n".join(h.value for h in block.html)


def test_start_screen_offers_example_questions(env: Settings) -> None:
    at = start()
    labels = [b.label for b in at.button]
    assert set(views.EXAMPLES) <= set(labels)
    assert any("geen individueel advies" in md.value for md in at.markdown)
    assert at.chat_input[0].placeholder.startswith("Stel je vraag")
    assert [r.label for r in at.sidebar.radio][:1] == ["Schooltype"]
    assert at.sidebar.download_button[0].proto.disabled  # nothing to export yet


def test_question_gets_a_streamed_answer_with_links_and_passages(env: Settings, calls: list[dict[str, Any]]) -> None:
    at = ask(start(), QUESTION)
    [user] = [m for m in at.chat_message if m.name == "user"]
    assert user.text[0].value == QUESTION
    [reply] = assistant_messages(at)
    text = markdown_of(reply)
    assert "## Bronnen" in text  # answer sections are real headings (h2 under the page's h1)
    assert "](https://" in text or "](http://" in text
    # Each [n] marker links to the numbered source entry with that id, in the same answer.
    msg_id = at.session_state["messages"][-1]["id"]
    answer = at.session_state["messages"][-1]["answer"]
    assert f'[\\[1\\]](#bron-{msg_id}-1 "Bron 1")' in text
    sources = html_of(reply)
    for c in answer.citations:
        assert f'<li id="bron-{msg_id}-{c.n}">' in sources and f'href="{c.url}"' in sources
    assert reply.expander, "every cited passage gets an expander"
    assert any("Thema " in e.label for e in reply.expander)
    # The rest of the theme is folded away under "Meer uit thema 2".
    [more] = [e for e in reply.expander if e.label.startswith("Meer uit thema")]
    assert "thema 2" in more.label and "Direct aan de slag" in markdown_of(more)
    assert "[Lees het hele thema 2 „Belang van brede samenwerking” op de pagina Bronnen](bronnen?thema=2)" in (
        markdown_of(more))
    # A copy button with the short answer and its sources (page.js copies it; no code from outside).
    assert 'data-kopieer="' in html_of(reply) and "Kopieer antwoord" in html_of(reply)
    assert len(reply.feedback) == 1
    assert calls[0]["question"] == QUESTION and calls[0]["history"] == []
    # the example questions of the start screen are gone
    assert not [b for b in at.button if b.label == views.EXAMPLES[0]]


def test_follow_up_question_passes_the_conversation(env: Settings, calls: list[dict[str, Any]]) -> None:
    at = ask(ask(start(), QUESTION), "En hoe doen we dat in het VO?")
    assert len(assistant_messages(at)) == 2
    history = calls[1]["history"]
    assert [h.role for h in history] == ["user", "assistant"]  # typed turns (assistant.types.Turn)
    assert history[0].content == QUESTION and history[1].content
    second = assistant_messages(at)[1]
    assert "](http" in markdown_of(second)
    # Read as a follow-up: the chat says so.
    assert any(f"Gelezen als vervolg op: „{QUESTION}”" in c.value for c in second.caption)


def test_filters_and_mode_are_passed_to_the_assistant(env: Settings, calls: list[dict[str, Any]]) -> None:
    at = start()
    at.sidebar.radio[0].set_value("vo").run()
    at.sidebar.multiselect[0].set_value([4]).run()
    ask(at, "Hoe helpen we leerlingen bij de overstap?")
    filters = calls[0]["filters"]
    assert filters.school_type == "vo" and filters.themes == (4,)
    assert calls[0]["generator"] == "extractive"


def test_declined_question_shows_what_the_card_covers(env: Settings, calls: list[dict[str, Any]]) -> None:
    at = ask(start(), DECLINED)
    [reply] = assistant_messages(at)
    text = markdown_of(reply)
    assert "Bronnen" not in text and not reply.expander
    assert "Gevoelige overgangen" in text
    examples = [b for b in reply.button if b.label in views.EXAMPLES]
    assert examples
    examples[0].click().run()
    assert not at.exception
    assert len(assistant_messages(at)) == 2
    assert calls[-1]["question"] == examples[0].label


def test_personal_data_is_not_sent_and_the_text_is_kept(env: Settings, calls: list[dict[str, Any]]) -> None:
    typed = "Leerling met BSN 111222333 komt niet meer, wat nu?"
    at = ask(start(), typed)
    assert calls == []
    assert not assistant_messages(at) and not [m for m in at.chat_message if m.name == "user"]
    [warning] = at.warning
    assert "niet verstuurd" in warning.value and "burgerservicenummer" in warning.value
    assert at.text_area[0].value == typed
    # sending it unchanged is refused again
    at.button(key="draft_send").click().run()
    assert calls == [] and at.warning
    # replacing the personal data and sending works
    at.button(key="draft_redact").click().run()
    assert at.text_area[0].value == "Leerling met BSN [BSN] komt niet meer, wat nu?"
    at.button(key="draft_send").click().run()
    assert not at.exception
    assert [c["question"] for c in calls] == ["Leerling met BSN [BSN] komt niet meer, wat nu?"]
    assert not at.warning and not at.text_area


def test_html_in_a_question_is_shown_as_text(env: Settings) -> None:
    question = "<script>alert(1)</script> <img src=x onerror=alert(2)> hoe betrek ik ouders?"
    at = ask(start(), question)
    [user] = [m for m in at.chat_message if m.name == "user"]
    assert user.text[0].value == question  # st.text: never parsed as Markdown or HTML
    for block in [*at.markdown, *at.html]:
        assert "<script>alert" not in block.value and "<img src=x" not in block.value
    for md in at.markdown:
        assert "<script>" not in md.value and "<img" not in md.value


def test_export_contains_question_answer_and_sources(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads: list[tuple[bytes, str | None]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self: Any, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        downloads.append((path_or_data, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    at = ask(start(), QUESTION)
    button = at.sidebar.download_button[0]
    assert button.label == "Exporteer gesprek" and not button.proto.disabled
    [(data, filename)] = [(d, f) for d, f in downloads if f and f.endswith(".md")][-1:]
    md = data.decode("utf-8") if isinstance(data, bytes) else data
    answer = at.session_state["messages"][-1]["answer"]
    assert filename.startswith("gesprek-praktijkkaart-")
    assert QUESTION in md
    assert strip_images(answer.answer).splitlines()[0].strip() in md
    assert answer.citations and all(c.url in md for c in answer.citations)


def test_feedback_is_stored_locally(env: Settings) -> None:
    at = ask(start(), QUESTION)
    before = {r.id for r in list_feedback(env)}
    at.feedback[0].set_value(0).run()
    assert not at.exception
    [record] = [r for r in list_feedback(env) if r.id not in before]
    answer = at.session_state["messages"][-1]["answer"]
    assert record.question == QUESTION and record.answer == answer.answer and record.thumbs == 0
    assert record.passage_ids and set(record.passage_ids) == {p.id for p in answer.cited_passages}
    at.text_input(key=f"fbc_{record.id}").input("Ik miste iets over de tolk van leerling Sami.")
    [submit] = [b for b in at.button if b.label == "Verstuur toelichting"]
    submit.click().run()
    assert not at.exception
    assert any("toelichting zijn op deze computer opgeslagen" in c.value for c in at.caption)
    [updated] = [r for r in list_feedback(env) if r.id == record.id]
    assert updated.comment == "Ik miste iets over de tolk van leerling [naam]."
    assert updated.thumbs == 0


def test_feedback_that_cannot_be_saved_says_why_and_keeps_the_answer(env: Settings) -> None:
    at = ask(start(), QUESTION)
    db = env.data_dir / "feedback.sqlite3"
    if db.exists():
        db.unlink()
    db.mkdir(parents=True)  # a real fault: sqlite cannot open a directory as its database
    try:
        at.feedback[0].set_value(1).run()
        assert not at.exception
        assert any("feedback kon nu niet worden opgeslagen" in c.value for c in at.caption)
        assert at.session_state["messages"][-1]["answer"].in_scope  # the answer stays
    finally:
        db.rmdir()  # the data dir is shared with the other tests of this module


def test_new_conversation_starts_over(env: Settings) -> None:
    at = ask(start(), QUESTION)
    at.sidebar.button[0].click().run()
    assert not at.chat_message
    assert set(views.EXAMPLES) <= {b.label for b in at.button}


def test_store_not_ready_shows_a_dutch_message(env: Settings, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(tmp_path))  # a new cache key: the assistant loads again

    def broken(self: Any) -> None:
        raise RuntimeError("store missing")

    monkeypatch.setattr(assistant.core.Assistant, "warm", broken)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("zoekindex" in e.value and "praktijkkaart ingest" in e.value for e in at.error)
    assert at.chat_input[0].proto.disabled


def _sources_app() -> None:
    from ui import views

    views.sources_page()


def _about_app() -> None:
    from ui import views

    views.about_page()


def test_sources_page_lists_the_card_and_searches(env: Settings) -> None:
    at = AppTest.from_function(_sources_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert labels[0] == "Algemeen" and sum(lbl.startswith("Thema ") for lbl in labels) == 5
    assert any("Gevoelige overgangen" in lbl for lbl in labels)
    text = "\n".join(h.value for h in at.html)
    assert 'href="https://www.pharos.nl/infosheets/welbevinden-op-school/"' in text
    at.text_input(key="sources_query").input("brugklas").run()
    labels = [e.label for e in at.expander]
    assert any(lbl.startswith("Thema 4") for lbl in labels)
    assert not any(lbl.startswith("Thema 1") for lbl in labels)
    at.text_input(key="sources_query").input("xyzzyq").run()
    assert any("Niets gevonden" in i.value for i in at.info)


def test_about_page_shows_privacy_and_index_version(env: Settings) -> None:
    at = AppTest.from_function(_about_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    text = "\n".join(md.value for md in at.markdown)
    assert "Vragen worden verder niet bewaard" in text and "Er gaat niets naar internet" in text
    # what retention does, exactly (issue 16): the configured period, when it runs, the manual route
    assert f"ouder zijn dan {env.privacy.retention_days} dagen: telkens wanneer de assistent start" in text
    assert "na elke update van de index" in text and "praktijkkaart forget --before" in text
    assert [h.value for h in at.header] == ["Bronnen", "Privacy", "Versie van de index"]  # h2 under the h1
    status = views.get_assistant(env)[0].status()
    shown = at.markdown[-1].value
    assert status["version"] and views.escape_markdown(str(status["version"])) in shown
    assert f"**Aantal tekstdelen**: {status['chunks']}" in shown


def _render_app() -> None:
    import streamlit as st

    from assistant.types import Answer, Citation, LinkRef, Passage
    from ui import views

    url = "https://www.pharos.nl/infosheets/welbevinden-op-school/"
    passage = Passage(
        id="p1", item_id="t1.direct.3", theme=1, theme_title="Welbevinden en gelijke kansen",
        kind="suggestie_direct", heading="Direct", text="Infosheets <b>Pharos</b> over welbevinden.", score=1.0,
        links=(LinkRef(url=url, title="Pharos-infosheet Welbevinden op school", dead=True),),
    )
    answer = Answer(
        question="q", answer="Zie ![pixel](https://tracker.example/p.png) <script>alert(1)</script> [1].",
        in_scope=True, generator="llm", passages=[passage], themes=[1], status="llm_fallback",
        notice="Het antwoord van het taalmodel is vervangen door het standaardantwoord.",
        citations=[Citation(n=1, url=url, title="Pharos-infosheet Welbevinden op school", passage_id="p1",
                            dead=True)],
    )
    settings = views.current_settings()
    views.render_answer(settings, {"id": "x", "answer": answer})
    st.session_state.setdefault("messages", [])


def test_answer_rendering_marks_dead_links_and_neutralises_markup(env: Settings) -> None:
    at = AppTest.from_function(_render_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    text = "\n".join(md.value for md in at.markdown) + "\n".join(h.value for h in at.html)
    assert "tracker.example" not in text and "[afbeelding: pixel]" in text
    assert "<script>" not in text and "&lt;script>" in text
    assert "\\<b\\>Pharos\\</b\\>" in text  # passage text shown literally
    assert text.count("werkte bij de laatste controle niet") == 2  # in the sources and in the passage
    assert [i.value for i in at.info] == ["Het antwoord van het taalmodel is vervangen door het standaardantwoord."]
    assert any("taalmodel" in c.value for c in at.caption)
    assert [e.label for e in at.expander] == ["\\[1\\] Thema 1 · Welbevinden en gelijke kansen · Direct aan de slag"]


def test_too_long_question_gets_the_dutch_message_and_is_not_answered(
        env: Settings, calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKTIJKKAART_PRIVACY__LOG_QUESTIONS", "true")  # even then: nothing of it is logged
    settings = Settings()
    paste = ("Op onze school merken we dat ouders die weinig Nederlands spreken moeilijk te bereiken zijn. " * 40)[:3000]
    at = start()
    assert at.chat_input[0].proto.max_chars >= 50_000  # the box takes the paste, so the message can show
    ask(at, paste)
    assert calls == []  # not answered
    assert not assistant_messages(at) and not [m for m in at.chat_message if m.name == "user"]
    [warning] = at.warning
    assert "Je vraag is te lang (3.000 tekens; maximaal 2.000)" in warning.value
    assert at.text_area[0].value == paste  # kept, to shorten and send again
    assert not any(b.label == "Vervang persoonsgegevens" for b in at.button)
    at.button(key="draft_send").click().run()  # unchanged: still held back
    assert calls == [] and "te lang" in at.warning[0].value
    at.text_area[0].input(paste[:200]).run()
    at.button(key="draft_send").click().run()
    assert not at.exception
    assert [c["question"] for c in calls] == [paste[:200].strip()]
    logged = "".join(p.read_text(encoding="utf-8") for p in (settings.data_dir / "logs").glob("*.log"))
    assert paste[:200].strip() in logged and paste not in logged
    assert all(r.question != paste for r in list_feedback(settings))


def test_start_screen_puts_the_question_box_before_the_examples(env: Settings) -> None:
    """Keyboard users reach the box first: it sits in the page right under the title, not at the bottom."""
    at = start()
    main = [type(el).__name__ for el in at.main]
    assert at.chat_input[0] in list(at.main)  # inline, in the main flow
    assert main.index("Title") < main.index("ChatInput") < main.index("Button")


def test_sources_deep_link_opens_the_theme(env: Settings) -> None:
    at = AppTest.from_function(_sources_app, default_timeout=TIMEOUT)
    at.query_params["thema"] = "3"
    at.run()
    assert not at.exception
    opened = [e.label for e in at.expander if e.proto.expanded]
    assert opened == ["Thema 3 · Interventies met impact"]
    at = AppTest.from_function(_sources_app, default_timeout=TIMEOUT)
    at.query_params["thema"] = "<script>"  # not a theme: nothing opens, nothing breaks
    at.run()
    assert not at.exception and not [e for e in at.expander if e.proto.expanded]


def test_sources_search_marks_hits_and_escapes_the_rest(env: Settings) -> None:
    at = AppTest.from_function(_sources_app, default_timeout=TIMEOUT).run()
    at.text_input(key="sources_query").input("Brugklas").run()
    text = "\n".join(h.value for h in at.html)
    assert "<mark>brugklas</mark>" in text or "<mark>Brugklas</mark>" in text
    assert "<mark>" in text and text.count("<mark>") == text.count("</mark>")
    at.text_input(key="sources_query").input("<b>").run()  # markup typed into the search box stays text
    assert not at.exception
    assert all("<b>" not in h.value for h in at.html)
