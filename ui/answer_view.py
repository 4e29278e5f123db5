"""One assistant turn in the chat: the short answer (its sections real headings, each [n] a link to source n of
the same answer), the rest of the theme folded, the numbered sources, the cited passages, a copy button and
the feedback. Renders an Answer; no retrieval logic."""

from __future__ import annotations

import logging
import re
from typing import Any

import streamlit as st

from assistant.feedback import store_feedback
from assistant.types import Answer
from praktijkkaart.settings import Settings
from ui.html_text import anchor_id, copy_button_html, sources_html
from ui.render import (
    answer_body,
    corpus_hrefs,
    domain,
    escape_markdown,
    link_markers,
    link_theme_pages,
    markdown_link,
    safe_answer_markdown,
    strip_images,
)
from ui.state import DEAD_LINK, EXAMPLES, STORE_NOT_READY

log = logging.getLogger(__name__)

ANSWER_HEADINGS = 2  # answer sections are h2 under the page's h1; the folded rest uses h3
_MARKER_TEXT = re.compile(r"\[(\d{1,3})\]")
_HEADING_MARKS = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_INLINE_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")


def ask_later(question: str) -> None:
    """Callback of an example-question button: the question is asked on the next run."""
    st.session_state.pending = question


def answer_markdown(answer: Answer, msg_id: str) -> str:
    """The short answer as rendered: safe Markdown, sections as h2, [n] linked to its source entry."""
    md = safe_answer_markdown(answer_body(answer.answer), heading_level=ANSWER_HEADINGS)
    return link_markers(md, {c.n for c in answer.citations}, lambda n: anchor_id("bron", msg_id, n))


def copy_text(answer: Answer) -> str:
    """The short answer as plain text with the sources it cites (what 'Kopieer antwoord' puts on the clipboard)."""
    body = _HEADING_MARKS.sub("", strip_images(answer_body(answer.answer))).replace("**", "")
    body = _INLINE_LINK.sub(r"\1", body).strip()  # plain text: a link keeps its words, never its target
    cited = {int(n) for n in _MARKER_TEXT.findall(body)}
    sources = [f"[{c.n}] {c.title} — {c.url}" for c in sorted(answer.citations, key=lambda c: c.n) if c.n in cited]
    return body + ("\n\nBronnen\n" + "\n".join(sources) if sources else "") + "\n"


def _render_sources(answer: Answer, msg_id: str) -> None:
    if not answer.citations:
        return
    st.markdown("#" * ANSWER_HEADINGS + " Bronnen", anchors=False)
    entries = [(c.n, c.title, c.url, c.dead) for c in sorted(answer.citations, key=lambda c: c.n)]
    st.html(sources_html(entries, msg_id, corpus_hrefs(), DEAD_LINK))


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


def _render_more(answer: Answer, msg_id: str) -> None:
    """The rest of the answer's theme(s), folded: the short answer stays one screen on a phone."""
    if not answer.more.strip():
        return
    label = " en ".join(f"thema {th}" for th in answer.themes if th) or "de praktijkkaart"
    with st.expander(f"Meer uit {label}", icon=":material/expand_more:"):
        md = safe_answer_markdown(answer_body(answer.more), heading_level=ANSWER_HEADINGS + 1)
        md = link_markers(md, {c.n for c in answer.citations}, lambda n: anchor_id("bron", msg_id, n))
        st.markdown(link_theme_pages(md), anchors=False)


def _render_scope(msg_id: str) -> None:
    """Under a declined answer (which names the five themes): example questions to click."""
    st.caption("Probeer bijvoorbeeld een van deze vragen:")
    for i, question in enumerate(EXAMPLES[:5]):
        st.button(question, key=f"example_{msg_id}_{i}", on_click=ask_later, args=(question,),
                  icon=":material/chat:")


def _store_feedback(settings: Settings, msg_id: str) -> None:
    msg = next((m for m in st.session_state.messages if m.get("id") == msg_id), None)
    if msg is None:
        return
    answer: Answer = msg["answer"]
    thumbs = st.session_state.get(f"fb_{msg_id}")
    comment = st.session_state.get(f"fbc_{msg_id}") or None
    try:
        result = store_feedback(
            settings, answer_id=msg_id, question=answer.question, answer=answer.answer,
            passage_ids=[p.id for p in answer.cited_passages], thumbs=thumbs, comment=comment,
            generator=answer.generator,
        )
    except Exception:  # a bug, not a write failure (those come back as result.problem): the answer stays
        log.exception("feedback could not be stored")
        msg["feedback_status"] = "error"
        return
    if not result.saved:  # e.g. a full disk: the reason is Dutch and says what to do
        msg["feedback_status"], msg["feedback_problem"] = "error", result.problem
        return
    msg["feedback_status"] = "comment" if comment else "thumbs"


def _render_feedback(settings: Settings, msg: dict[str, Any]) -> None:
    msg_id = msg["id"]
    st.feedback("thumbs", key=f"fb_{msg_id}", on_change=_store_feedback, args=(settings, msg_id))
    status = msg.get("feedback_status")
    if status == "error":
        st.caption(msg.get("feedback_problem") or "Je feedback kon niet worden opgeslagen.")
    elif status == "comment":
        st.caption("Dank je wel, je feedback en toelichting zijn op deze computer opgeslagen.")
    elif status == "thumbs":
        st.caption("Dank je wel, je feedback is op deze computer opgeslagen. Wil je iets toelichten?")
        with st.form(key=f"fbform_{msg_id}", border=False):
            st.text_input("Toelichting (optioneel)", key=f"fbc_{msg_id}",
                          placeholder="Wat was goed, wat miste je? Noem geen namen van leerlingen.")
            st.form_submit_button("Verstuur toelichting", on_click=_store_feedback, args=(settings, msg_id))


def render_answer(settings: Settings, msg: dict[str, Any], *, body_shown: bool = False) -> None:
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
    for warning in answer.warnings:  # e.g. the question log could not be written: the answer still stands
        st.caption(warning)
    if answer.followup_of:
        st.caption(f"Gelezen als vervolg op: „{escape_markdown(answer.followup_of)}”")
    if not body_shown:
        st.markdown(answer_markdown(answer, msg["id"]), anchors=False)
    if not answer.in_scope:
        _render_scope(msg["id"])
    else:
        if answer.generator == "llm":
            st.caption("Geformuleerd door een taalmodel op basis van de praktijkkaart; controleer de bronnen.")
        _render_more(answer, msg["id"])
        _render_sources(answer, msg["id"])
        _render_passages(answer)
        st.html(copy_button_html(copy_text(answer)))
    _render_feedback(settings, msg)
