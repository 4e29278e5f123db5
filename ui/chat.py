"""The Chat page: the question box with its privacy check, streamed answers with their sources, feedback
and export. No retrieval logic: it passes the question, the earlier turns and the filters to the
Assistant and renders the Answer it gets back."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import streamlit as st

from assistant.core import Assistant
from assistant.feedback import save_feedback
from assistant.privacy import describe, find_personal_data, redact
from assistant.types import Answer, Filters, Turn
from corpus.model import Card
from praktijkkaart.settings import Settings
from ui.export_buttons import export_buttons
from ui.render import (
    answer_body,
    domain,
    escape_markdown,
    markdown_link,
    safe_answer_markdown,
    stream_without_images,
    until_sources,
)
from ui.state import (
    ANSWER_FAILED,
    DEAD_LINK,
    EXAMPLES,
    INTRO,
    MODE_LABELS,
    SCHOOL_LABELS,
    STORE_NOT_READY,
    current_settings,
    get_assistant,
    get_card,
)

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


def _ask(question: str) -> None:
    st.session_state.pending = question


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
        st.subheader("Filters")
        st.radio("Schooltype", list(SCHOOL_LABELS), format_func=SCHOOL_LABELS.__getitem__, key="school",
                 horizontal=True)
        st.multiselect("Thema's", list(titles), format_func=lambda n: f"{n}. {titles[n]}", key="themes",
                       placeholder="Alle thema's")
        st.subheader("Antwoordvorm")
        if assistant is not None and assistant.llm_available:
            st.session_state.setdefault("mode", settings.generator)
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
        st.button(question, key=f"example_start_{i}", on_click=_ask, args=(question,), icon=":material/chat:")
    themes = ", ".join(f"{t.number}. {t.title}" for t in card.themes)
    st.caption(f"De praktijkkaart heeft vijf thema's: {themes}.")


def _render_sources(answer: Answer) -> None:
    if not answer.citations:
        return
    lines = []
    for c in sorted(answer.citations, key=lambda c: c.n):
        line = f"\\[{c.n}\\] {markdown_link(c.title, c.url)} · {escape_markdown(domain(c.url))}"
        if c.dead:
            line += f" — :warning: *{DEAD_LINK}*"
        lines.append(line)
    st.markdown("**Bronnen**  \n" + "  \n".join(lines))


def _render_passages(answer: Answer) -> None:
    for p in answer.cited_passages:
        numbers = ", ".join(str(c.n) for c in answer.citations if c.passage_id == p.id)
        with st.expander(f"\\[{numbers}\\] {escape_markdown(p.location)}", icon=":material/menu_book:"):
            st.markdown(escape_markdown(p.text))
            for lk in p.links:
                line = f":material/link: {markdown_link(lk.title, lk.url)} · {escape_markdown(domain(lk.url))}"
                st.markdown(line + (f" — :warning: *{DEAD_LINK}*" if lk.dead else ""))
            if p.source_url:
                st.markdown(f"Uit de gelinkte bron: {markdown_link(p.source_title or p.source_url, p.source_url)}")


def _render_more(answer: Answer) -> None:
    """The rest of the answer's theme(s), folded: the short answer stays one screen on a phone."""
    if not answer.more.strip():
        return
    label = " en ".join(f"thema {th}" for th in answer.themes if th) or "de praktijkkaart"
    with st.expander(f"Meer uit {label}", icon=":material/expand_more:"):
        st.markdown(safe_answer_markdown(answer_body(answer.more)))


def _render_scope(msg_id: str) -> None:
    """Under a declined answer (which names the five themes): example questions to click."""
    st.caption("Probeer bijvoorbeeld een van deze vragen:")
    for i, question in enumerate(EXAMPLES[:5]):
        st.button(question, key=f"example_{msg_id}_{i}", on_click=_ask, args=(question,), icon=":material/chat:")


def _store_feedback(settings: Settings, msg_id: str) -> None:
    msg = next((m for m in st.session_state.messages if m.get("id") == msg_id), None)
    if msg is None:
        return
    answer: Answer = msg["answer"]
    thumbs = st.session_state.get(f"fb_{msg_id}")
    comment = st.session_state.get(f"fbc_{msg_id}") or None
    try:
        save_feedback(
            settings, answer_id=msg_id, question=answer.question, answer=answer.answer,
            passage_ids=[p.id for p in answer.cited_passages], thumbs=thumbs, comment=comment,
            generator=answer.generator,
        )
    except Exception:
        log.exception("feedback could not be stored")
        msg["feedback_status"] = "error"
        return
    msg["feedback_status"] = "comment" if comment else "thumbs"


def _render_feedback(settings: Settings, msg: dict[str, Any]) -> None:
    msg_id = msg["id"]
    st.feedback("thumbs", key=f"fb_{msg_id}", on_change=_store_feedback, args=(settings, msg_id))
    status = msg.get("feedback_status")
    if status == "error":
        st.caption("Je feedback kon niet worden opgeslagen.")
    elif status == "comment":
        st.caption("Dank je wel, je feedback en toelichting zijn op deze computer opgeslagen.")
    elif status == "thumbs":
        st.caption("Dank je wel, je feedback is op deze computer opgeslagen. Wil je iets toelichten?")
        with st.form(key=f"fbform_{msg_id}", border=False):
            st.text_input("Toelichting (optioneel)", key=f"fbc_{msg_id}",
                          placeholder="Wat was goed, wat miste je? Noem geen namen van leerlingen.")
            st.form_submit_button("Verstuur toelichting", on_click=_store_feedback, args=(settings, msg_id))


def _render_answer(settings: Settings, msg: dict[str, Any], *, body_shown: bool = False) -> None:
    """Everything of one assistant turn; `body_shown` when the text was just streamed into place."""
    if "error" in msg:
        st.error(msg["error"])
        return
    answer: Answer = msg["answer"]
    if answer.status == "store_error":
        st.error(answer.notice or STORE_NOT_READY)
        return
    if answer.status == "invalid_input":
        st.warning(answer.notice or answer.answer)
        return
    if answer.notice:
        st.info(answer.notice)
    if answer.followup_of:
        st.caption(f"Gelezen als vervolg op: „{escape_markdown(answer.followup_of)}”")
    if not body_shown:
        st.markdown(safe_answer_markdown(answer_body(answer.answer)))
    if not answer.in_scope:
        _render_scope(msg["id"])
    else:
        if answer.generator == "llm":
            st.caption("Geformuleerd door een taalmodel op basis van de praktijkkaart; controleer de bronnen.")
        _render_more(answer)
        _render_sources(answer)
        _render_passages(answer)
    _render_feedback(settings, msg)


def _stream_answer(assistant: Assistant, question: str, history: list[dict[str, str]], filters: Filters,
                   generator: str | None) -> Answer | None:
    """Stream the answer text into place and return the final Answer (None when streaming failed)."""
    stream = assistant.stream(question, history=Turn.coerce(history), filters=filters, generator=generator)
    placeholder = st.empty()
    try:
        with placeholder.container():
            st.write_stream(stream_without_images(until_sources(p for p in stream if p)))
        answer = stream.result
    except Exception:
        log.exception("answering failed")
        placeholder.empty()
        return None
    if answer.status in ("ok", "declined", "not_covered", "llm_fallback"):
        # The final text can differ from the streamed one (e.g. an LLM answer replaced by the default).
        placeholder.markdown(safe_answer_markdown(answer_body(answer.answer)))
    else:
        placeholder.empty()
    return answer


def _check_draft() -> None:
    """Callback of 'Verstuur aangepaste vraag': send the edited text if it is now free of personal data."""
    text = (st.session_state.get("draft_edit") or "").strip()
    if not text:
        return
    if find_personal_data(text):
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


def _render_draft() -> None:
    draft: str = st.session_state.draft
    what = describe(find_personal_data(draft))
    st.warning(
        f"Je vraag is niet verstuurd: hij lijkt persoonsgegevens te bevatten ({what}). "
        "Voor een antwoord uit de praktijkkaart zijn die niet nodig. Haal ze weg, bijvoorbeeld "
        "'een leerling uit groep 7' in plaats van een naam, en verstuur je vraag opnieuw.",
        icon=":material/privacy_tip:",
    )
    st.text_area("Je vraag (nog niet verstuurd)", key="draft_edit")
    c1, c2, c3 = st.columns(3)
    c1.button("Verstuur aangepaste vraag", on_click=_check_draft, type="primary", key="draft_send")
    c2.button("Vervang persoonsgegevens", on_click=_redact_draft, key="draft_redact")
    c3.button("Annuleren", on_click=_cancel_draft, key="draft_cancel")


def chat_page() -> None:
    settings = current_settings()
    _init_state()
    card = get_card(str(settings.corpus_dir))
    assistant, error = get_assistant(settings)
    generator = _sidebar(settings, assistant, card)

    st.title("Praktijkkaart-assistent")
    prompt = st.chat_input("Stel je vraag over welbevinden en gelijke kansen…",
                           max_chars=settings.max_question_chars, disabled=assistant is None)
    question = (prompt if isinstance(prompt, str) else None) or st.session_state.pending
    st.session_state.pending = None
    if question and find_personal_data(question):
        _block(question)
        question = None
    elif question:
        st.session_state.draft = None

    if error:
        st.error(error, icon=":material/error:")
        return
    assert assistant is not None

    messages: list[dict[str, Any]] = st.session_state.messages
    if not messages and not question:
        _start_screen(card)
    for shown in messages:
        with st.chat_message(shown["role"]):
            if shown["role"] == "user":
                st.text(shown["content"])
            else:
                _render_answer(settings, shown)

    if st.session_state.draft is not None:
        _render_draft()

    if question:
        history = _history()
        messages.append({"role": "user", "content": question})
        with st.chat_message("user"):
            st.text(question)
        with st.chat_message("assistant"):
            answer = _stream_answer(assistant, question, history, _filters(), generator)
            msg: dict[str, Any] = {"role": "assistant", "id": uuid.uuid4().hex}
            if answer is None:
                msg["error"] = ANSWER_FAILED
            else:
                msg["answer"] = answer
            messages.append(msg)
            _render_answer(settings, msg, body_shown=answer is not None)
        # Re-run once so the sidebar export includes this answer.
        st.rerun()
