"""The Chat page: the question box with its length and privacy checks, the sidebar (filters, answer form,
export) and the conversation, each answer rendered by ui/answer_view.py. No retrieval logic: it passes the
question, the earlier turns and the filters to the Assistant and renders the Answer it gets back."""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from typing import Any

import streamlit as st

from assistant.core import Assistant
from assistant.inputs import check_question
from assistant.privacy import describe, find_personal_data, redact
from assistant.types import Answer, Filters, Turn
from corpus.model import Card
from praktijkkaart.settings import Settings
from ui.answer_view import ANSWER_HEADINGS, answer_markdown, ask_later, render_answer
from ui.export_buttons import export_buttons
from ui.render import stream_without_images, until_sources
from ui.state import (
    ANSWER_FAILED,
    EXAMPLES,
    INTRO,
    MODE_LABELS,
    SCHOOL_LABELS,
    current_settings,
    get_assistant,
    get_card,
)

INPUT_MAX_CHARS = 50_000  # what the question box takes; longer than max_question_chars gets the Dutch message

log = logging.getLogger(__name__)

# --- chat ---------------------------------------------------------------------------------------


def _init_state() -> None:
    defaults: dict[str, Any] = {"messages": [], "pending": None, "draft": None, "school": "beide", "themes": []}
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def _new_conversation() -> None:
    st.session_state.messages = []
    st.session_state.pending = None
    st.session_state.draft = None


def _answers() -> list[Answer]:
    return [m["answer"] for m in st.session_state.messages if m["role"] == "assistant" and "answer" in m]


def _filters() -> Filters:
    school = st.session_state.get("school", "beide")
    return Filters(
        school_type=None if school == "beide" else school,
        themes=tuple(sorted(st.session_state.get("themes", []))),
    )


def _history() -> list[dict[str, str]]:
    history: list[dict[str, str]] = []
    for m in st.session_state.messages:
        if m["role"] == "user":
            history.append({"role": "user", "content": m["content"]})
        elif "answer" in m:
            history.append({"role": "assistant", "content": m["answer"].answer})
    return history


def _sidebar(settings: Settings, assistant: Assistant | None, card: Card) -> str | None:
    """Filters, answer mode, new conversation and export; returns the chosen generator."""
    titles = {t.number: t.title for t in card.themes}
    generator: str | None = None
    with st.sidebar:
        st.button("Nieuw gesprek", on_click=_new_conversation, icon=":material/add_comment:", width="stretch")
        st.subheader("Filters", anchor=False)
        st.radio("Schooltype", list(SCHOOL_LABELS), format_func=SCHOOL_LABELS.__getitem__, key="school",
                 horizontal=True)
        st.multiselect("Thema's", list(titles), format_func=lambda n: f"{n}. {titles[n]}", key="themes",
                       placeholder="Alle thema's")
        st.subheader("Antwoordvorm", anchor=False)
        if assistant is not None and assistant.llm_available:
            st.session_state.setdefault("mode", settings.generation.mode)
            generator = st.radio("Antwoordvorm", list(MODE_LABELS), format_func=MODE_LABELS.__getitem__,
                                 key="mode", label_visibility="collapsed")
        else:
            st.caption("Antwoorden worden samengesteld uit de tekst van de praktijkkaart "
                       "(er is geen taalmodel ingesteld).")
            generator = "extractive"
        export_buttons(_answers())
    return generator


def _start_screen(card: Card) -> None:
    st.markdown(INTRO)
    st.markdown("**Probeer bijvoorbeeld:**")
    for i, question in enumerate(EXAMPLES):
        st.button(question, key=f"example_start_{i}", on_click=ask_later, args=(question,), icon=":material/chat:")
    themes = ", ".join(f"{t.number}. {t.title}" for t in card.themes)
    st.caption(f"De praktijkkaart heeft vijf thema's: {themes}.")


def _stream_answer(assistant: Assistant, question: str, history: list[dict[str, str]], filters: Filters,
                   generator: str | None, msg_id: str) -> Answer | None:
    """Stream the answer text into place and return the final Answer (None when streaming failed)."""
    stream = assistant.stream(question, history=Turn.coerce(history), filters=filters, generator=generator)
    placeholder = st.empty()
    try:
        with placeholder.container():
            st.write_stream(stream_without_images(until_sources(p for p in stream if p), heading_level=ANSWER_HEADINGS))
        answer = stream.result
    except Exception:
        log.exception("answering failed")
        placeholder.empty()
        return None
    if answer.status in ("ok", "declined", "not_covered", "llm_fallback"):
        # The final text can differ from the streamed one (e.g. an LLM answer replaced by the default).
        placeholder.markdown(answer_markdown(answer, msg_id), anchors=False)
    else:
        placeholder.empty()
    return answer


def too_long_message(text: str, max_chars: int) -> str | None:
    """The assistant's own Dutch 'te lang' message when `text` is over the limit, else None."""
    return check_question(text, max_chars).problem if len(text) > max_chars else None


def _check_draft(max_chars: int) -> None:
    """Callback of 'Verstuur aangepaste vraag': send the edited text once it is short enough and free of
    personal data."""
    text = (st.session_state.get("draft_edit") or "").strip()
    if not text:
        return
    if too_long_message(text, max_chars) or find_personal_data(text):
        st.session_state.draft = text
        return
    st.session_state.draft = None
    st.session_state.pending = text


def _redact_draft() -> None:
    st.session_state.draft_edit = redact(st.session_state.get("draft_edit") or "")


def _cancel_draft() -> None:
    st.session_state.draft = None


def _block(question: str) -> None:
    st.session_state.draft = question
    st.session_state.draft_edit = question


def _render_draft(max_chars: int) -> None:
    """A question that was not sent (too long, or with personal data), back in an editable field."""
    draft: str = st.session_state.draft
    too_long = too_long_message(draft, max_chars)
    if too_long:
        st.warning(too_long, icon=":material/short_text:")
    else:
        st.warning(
            f"Je vraag is niet verstuurd: hij lijkt persoonsgegevens te bevatten "
            f"({describe(find_personal_data(draft))}). Voor een antwoord uit de praktijkkaart zijn die niet nodig. "
            "Haal ze weg, bijvoorbeeld 'een leerling uit groep 7' in plaats van een naam, en verstuur je vraag "
            "opnieuw.",
            icon=":material/privacy_tip:",
        )
    st.text_area("Je vraag (nog niet verstuurd)", key="draft_edit")
    c1, c2, c3 = st.columns(3)
    c1.button("Verstuur aangepaste vraag", on_click=_check_draft, args=(max_chars,), type="primary", key="draft_send")
    if not too_long:
        c2.button("Vervang persoonsgegevens", on_click=_redact_draft, key="draft_redact")
    c3.button("Annuleren", on_click=_cancel_draft, key="draft_cancel")


def _question_box(settings: Settings, assistant: Assistant | None) -> str | None:
    """The question box and what was sent (typed or an example clicked); a question that is too long or holds
    personal data is held back as a draft: not answered, logged or stored."""
    # On the start screen the box sits right under the title, before the example questions: the first stop
    # after the sidebar for a keyboard user. In a conversation it sits at the bottom, as in any chat.
    with st.container() if not st.session_state.messages else nullcontext():
        # INPUT_MAX_CHARS, not max_question_chars: at the limit the box silently stops taking text, so a long
        # paste would do nothing and the Dutch 'te lang' message could never show.
        prompt = st.chat_input("Stel je vraag over welbevinden en gelijke kansen…", max_chars=INPUT_MAX_CHARS,
                               disabled=assistant is None)
    question = (prompt if isinstance(prompt, str) else None) or st.session_state.pending
    st.session_state.pending = None
    if question and (too_long_message(question, settings.answer.max_question_chars) or find_personal_data(question)):
        _block(question)
        return None
    if question:
        st.session_state.draft = None
    return question


def chat_page() -> None:
    settings = current_settings()
    _init_state()
    card = get_card(str(settings.corpus_dir))
    assistant, error = get_assistant(settings)
    generator = _sidebar(settings, assistant, card)

    st.title("Praktijkkaart-assistent", anchor=False)
    question = _question_box(settings, assistant)
    if error:
        st.error(error, icon=":material/error:")
        return
    assert assistant is not None

    messages: list[dict[str, Any]] = st.session_state.messages
    if not messages and not question and st.session_state.draft is None:
        _start_screen(card)
    for shown in messages:
        with st.chat_message(shown["role"]):
            if shown["role"] == "user":
                st.text(shown["content"])
            else:
                render_answer(settings, shown)

    if st.session_state.draft is not None:
        _render_draft(settings.answer.max_question_chars)

    if question:
        _answer_now(settings, assistant, question, generator)
        st.rerun()  # once more, so that the sidebar export includes this answer


def _answer_now(settings: Settings, assistant: Assistant, question: str, generator: str | None) -> None:
    """Show the question, stream its answer and add both to the conversation."""
    history = _history()
    messages: list[dict[str, Any]] = st.session_state.messages
    messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        msg: dict[str, Any] = {"role": "assistant", "id": uuid.uuid4().hex}
        answer = _stream_answer(assistant, question, history, _filters(), generator, msg["id"])
        if answer is None:
            msg["error"] = ANSWER_FAILED
        else:
            msg["answer"] = answer
        messages.append(msg)
        render_answer(settings, msg, body_shown=answer is not None)
