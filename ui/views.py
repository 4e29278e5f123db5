"""The four pages of the app (Chat, Bronnen, Evaluatie, Over) and the cached resources they share.

The UI holds no retrieval logic: it passes the question, the earlier turns and the filters to
`assistant.core.Assistant` and renders the `Answer` it gets back. User text and document text are never
rendered as HTML (see ui/render.py).
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from assistant.core import Assistant
from assistant.wiring import build_assistant
from assistant.privacy import describe, find_personal_data, redact
from assistant.types import Answer, Filters
from corpus.model import Card, Item, load_card
from evals import GOLDEN_PATH, REPORTS_DIR
from praktijkkaart.settings import Settings
from ui.export import conversation_to_markdown, export_filename
from ui.feedback import save_feedback
from ui.render import (
    answer_body, domain, escape_markdown, markdown_link, safe_answer_markdown, stream_without_images, strip_images,
    until_sources,
)
from vectorstore.base import StoreError

log = logging.getLogger(__name__)


INTRO = (
    "Deze assistent vat de NPO-praktijkkaart *Welbevinden en gelijke kansen* voor je samen, met de bronnen "
    "erbij. Hij geeft geen individueel advies over een leerling en kent je leerlingen niet."
)

# One example question per theme, plus one about the card itself.
EXAMPLES: tuple[str, ...] = (
    "Hoe hangt welbevinden samen met gelijke kansen op school?",
    "Hoe betrekken we ouders die slecht Nederlands spreken?",
    "Welke interventies helpen nieuwkomers zich welkom te voelen?",
    "Hoe begeleiden we leerlingen goed bij de overstap van groep 8 naar het vo?",
    "Wat kan ik als leraar dagelijks doen om kansengelijkheid te vergroten?",
    "Voor wie is deze praktijkkaart bedoeld?",
)

STORE_NOT_READY = (
    "De zoekindex van de praktijkkaart is nog niet klaar of niet bereikbaar, dus de assistent kan nu geen "
    "vragen beantwoorden. Vraag de beheerder om `praktijkkaart ingest` uit te voeren (en `praktijkkaart doctor` "
    "voor meer uitleg). Intussen kun je de praktijkkaart zelf lezen op de pagina Bronnen."
)
ANSWER_FAILED = (
    "Er ging iets mis bij het beantwoorden van je vraag. Probeer het nog eens; blijft het misgaan, "
    "meld het dan bij de beheerder."
)
DEAD_LINK = "deze link werkte bij de laatste controle niet"
SCHOOL_LABELS = {"beide": "Beide", "po": "PO", "vo": "VO"}
MODE_LABELS = {"extractive": "Samengesteld uit de praktijkkaart", "llm": "Taalmodel"}


# --- shared resources ---------------------------------------------------------------------------


def current_settings() -> Settings:
    """The settings from the environment, read once per distinct PRAKTIJKKAART_* environment."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PRAKTIJKKAART_")))
    return _settings_for(env)


@st.cache_resource(show_spinner=False)
def _settings_for(env: tuple[tuple[str, str], ...]) -> Settings:  # noqa: ARG001 - the cache key
    return Settings()


@st.cache_resource(show_spinner="De praktijkkaart-assistent wordt geladen…")
def _assistant_for(key: str, _settings: Settings) -> Assistant:  # noqa: ARG001 - `key` is the cache key
    assistant = build_assistant(_settings)
    assistant.warm()
    return assistant


def get_assistant(settings: Settings) -> tuple[Assistant | None, str | None]:
    """The warm, shared assistant, or None and a Dutch message when the store is not ready."""
    try:
        return _assistant_for(settings.model_dump_json(), settings), None
    except StoreError as exc:  # the failure is not cached, so the next rerun tries again
        log.warning("store not ready: %s", exc)
        return None, f"{exc} Intussen kun je de praktijkkaart zelf lezen op de pagina Bronnen."
    except Exception:
        log.exception("assistant could not be loaded")
        return None, STORE_NOT_READY


@st.cache_resource(show_spinner=False)
def get_card(corpus_dir: str) -> Card:
    return load_card(Path(corpus_dir))


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
        answers = _answers()
        st.download_button(
            "Exporteer gesprek", data=conversation_to_markdown(answers), file_name=export_filename(),
            mime="text/markdown", disabled=not answers, icon=":material/download:", width="stretch",
            on_click="ignore", help="Vragen, antwoorden en bronnen als Markdown, bijvoorbeeld voor een teamoverleg.",
        )
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
    final: list[Answer] = []

    def pieces() -> Iterator[str]:
        for item in assistant.stream(question, history=history, filters=filters, generator=generator):
            if isinstance(item, Answer):
                final.append(item)
            elif item:
                yield item

    placeholder = st.empty()
    try:
        with placeholder.container():
            st.write_stream(stream_without_images(until_sources(pieces())))
    except Exception:
        log.exception("answering failed")
        placeholder.empty()
        return None
    if not final:
        log.error("the answer stream ended without a final Answer")
        placeholder.empty()
        return None
    answer = final[-1]
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
    for msg in messages:
        with st.chat_message(msg["role"]):
            if msg["role"] == "user":
                st.text(msg["content"])
            else:
                _render_answer(settings, msg)

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


# --- Bronnen ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _matches(item: Item, words: list[str]) -> bool:
    haystack = _fold(" ".join([item.full_text, item.heading, *(f"{lk.title} {lk.url}" for lk in item.links)]))
    return all(w in haystack for w in words)


def _item_markdown(item: Item) -> str:
    lines = [escape_markdown(item.text)]
    lines += [f"- {escape_markdown(s)}" for s in item.subitems]
    body = "\n".join([lines[0], "", *lines[1:]]) if item.subitems else lines[0]
    links = [f":material/link: {markdown_link(lk.title, lk.url)} · {escape_markdown(lk.domain)}" for lk in item.links]
    return body + ("\n\n" + "  \n".join(links) if links else "")


def sources_page() -> None:
    settings = current_settings()
    card = get_card(str(settings.corpus_dir))
    st.title("Bronnen: de praktijkkaart")
    st.markdown(
        f"Hier lees je de hele *{escape_markdown(card.title)}*: per thema de vragen om jezelf te "
        "stellen, de suggesties om direct mee aan de slag te gaan en die voor de langere termijn, met alle links."
    )
    query = st.text_input("Zoek in de praktijkkaart", placeholder="bijvoorbeeld: ouders, nieuwkomers, brugklas",
                          key="sources_query")
    words = _fold(query).split()

    sections: list[tuple[str, list[tuple[str, tuple[Item, ...]]]]] = [
        ("Algemeen", [("", card.general)]),
    ]
    for t in card.themes:
        sections.append((f"Thema {t.number} · {t.title}", [
            ("Inleiding", t.intro), ("Vragen om jezelf te stellen", t.vragen),
            ("Direct aan de slag", t.direct), ("Op langere termijn", t.lang),
        ]))

    total = 0
    for title, parts in sections:
        visible = [(label, [i for i in items if _matches(i, words)]) for label, items in parts]
        count = sum(len(items) for _, items in visible)
        total += count
        if words and not count:
            continue
        label = f"{escape_markdown(title)} ({count})" if words else escape_markdown(title)
        with st.expander(label, expanded=bool(words)):
            for part_label, items in visible:
                if not items:
                    continue
                if part_label:
                    st.markdown(f"**{escape_markdown(part_label)}**")
                for item in items:
                    if not part_label:
                        st.markdown(f"**{escape_markdown(item.heading)}**")
                    st.markdown(_item_markdown(item))
    if words and not total:
        st.info("Niets gevonden in de praktijkkaart. Probeer een ander woord.")

    links = [lk for lk in card.links if all(w in _fold(f"{lk.title} {lk.url} {lk.publisher}") for w in words)]
    if links:
        with st.expander(f"Alle links van de praktijkkaart ({len(links)})", expanded=False):
            st.markdown("\n".join(
                f"- {markdown_link(lk.title, lk.url)} · {escape_markdown(lk.publisher)} · "
                f"{escape_markdown(lk.domain)}"
                for lk in links))


# --- Evaluatie ----------------------------------------------------------------------------------


def _report_pngs(report: Path) -> list[Path]:
    pngs = set(report.parent.glob(f"{report.stem}*.png"))
    folder = report.parent / report.stem
    if folder.is_dir():
        pngs |= set(folder.glob("*.png"))
    return sorted(pngs)


def _summary_metrics(data: Any) -> dict[str, str]:
    """The numbers of the report's top-level "summary" object, formatted for st.metric."""
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        return {}
    shown: dict[str, str] = {}
    for key, value in summary.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, int):
            shown[str(key)] = str(value)
        else:
            shown[str(key)] = f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
    return shown


def _report_sets() -> dict[str, Path]:
    """Question set -> its report folder, as the eval runner writes them: the golden set's reports in
    REPORTS_DIR itself, another set's (`praktijkkaart eval --golden evals/holdout2.yaml`) in a subfolder
    named after its file."""
    if not REPORTS_DIR.is_dir():
        return {}
    sets = {GOLDEN_PATH.stem: REPORTS_DIR} if any(REPORTS_DIR.glob("*.json")) else {}
    for sub in sorted(p for p in REPORTS_DIR.iterdir() if p.is_dir() and any(p.glob("*.json"))):
        sets[sub.name] = sub
    return sets


def _set_label(name: str) -> str:
    if name == GOLDEN_PATH.stem:
        return f"Gouden vragen (evals/{name}.yaml, gebruikt bij het afstemmen)"
    return f"Achtergehouden vragen: {name} (evals/{name}.yaml)"


def eval_page() -> None:
    st.title("Evaluatie")
    st.markdown("Hoe goed vindt de assistent de juiste delen van de praktijkkaart en de juiste links? "
                "Het nieuwste evaluatierapport staat hieronder.")
    sets = _report_sets()
    if not sets:
        st.info("Er is nog geen evaluatierapport. De beheerder maakt er een met `praktijkkaart eval`.")
        return
    name = next(iter(sets))
    if len(sets) > 1:
        name = st.selectbox("Vragenset", list(sets), format_func=_set_label, key="eval_set")
        st.caption("De gouden vragen zijn gebruikt om de assistent af te stellen; achtergehouden vragen zijn "
                   "geschreven zonder de antwoorden te zien. Die laatste laten zien wat een nieuwe vraag krijgt.")
    reports = sorted(sets[name].glob("*.json"), reverse=True)
    report = st.selectbox("Rapport", reports, format_func=lambda p: p.stem, key="eval_report")
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        st.error("Dit rapport kon niet worden gelezen.")
        return
    metrics = _summary_metrics(data)
    if metrics:
        cols = st.columns(min(4, len(metrics)))
        for i, (name, value) in enumerate(metrics.items()):
            cols[i % len(cols)].metric(name, value)
    summary_md = report.with_suffix(".md")
    if summary_md.exists():
        st.markdown(safe_answer_markdown(strip_images(summary_md.read_text(encoding="utf-8"))))
    for png in _report_pngs(report):
        try:
            st.image(str(png), caption=png.stem)
        except Exception:  # noqa: BLE001 - one unreadable plot must not take the page down
            st.warning(f"De grafiek {png.name} kon niet worden getoond.")
    with st.expander("Alle gegevens (JSON)"):
        st.json(data, expanded=False)


# --- Over ---------------------------------------------------------------------------------------

_STATUS_LABELS = {
    "version": "Versie van de index", "embedder": "Embeddingmodel", "created_at": "Gemaakt op",
    "ingested_at": "Ingelezen op", "chunks": "Aantal tekstdelen", "per_theme": "Tekstdelen per thema",
    "per_kind": "Tekstdelen per soort",
}


def _llm_leaves_machine(settings: Settings) -> bool:
    if settings.llm_provider == "openai":
        base = settings.llm_base_url or "https://api.openai.com"
        host = domain(base).split(":", 1)[0]
        return host not in {"localhost", "127.0.0.1", "::1", "[::1]"}
    return False


def about_page() -> None:
    settings = current_settings()
    card = get_card(str(settings.corpus_dir))
    st.title("Over deze assistent")
    st.markdown(INTRO)

    st.subheader("Bronnen")
    st.markdown(
        "De antwoorden komen uit de praktijkkaart *Welbevinden en gelijke kansen* van het Nationaal Programma "
        f"Onderwijs (NPO): {len(card.themes)} thema's, {len(card.items)} onderdelen en {len(card.links)} links "
        "naar achtergrondinformatie en tools. Het standaardantwoord bestaat alleen uit zinnen uit de praktijkkaart, "
        "met een genummerde bron bij elke suggestie. Op de pagina Bronnen lees je de hele kaart."
    )

    st.subheader("Privacy")
    lines = [
        "- De assistent draait op deze computer of server van de school; je vragen worden hier beantwoord.",
        "- Vragen met persoonsgegevens (zoals een BSN, e-mailadres, telefoonnummer, rekeningnummer of de naam "
        "van een leerling) worden niet verstuurd; je krijgt eerst de vraag ze weg te halen.",
        "- Als je feedback geeft (duim omhoog of omlaag), worden je vraag, het antwoord en je toelichting op deze "
        f"computer bewaard, zonder je naam. Na {settings.retention_days} dagen worden ze verwijderd.",
    ]
    if settings.log_questions:
        lines.append("- De beheerder heeft het bijhouden van vragen aangezet: vragen worden lokaal bewaard, "
                     "met persoonsgegevens weggehaald.")
    else:
        lines.append("- Vragen worden verder niet bewaard.")
    if _llm_leaves_machine(settings):
        lines.append("- Let op: de beheerder heeft een extern taalmodel ingesteld. Kies je de antwoordvorm "
                     "'Taalmodel', dan gaan je vraag en de gevonden tekst uit de praktijkkaart naar "
                     f"{escape_markdown(domain(settings.llm_base_url or 'https://api.openai.com'))}.")
    else:
        lines.append("- Er gaat niets naar internet: er worden geen gebruiksgegevens verzameld.")
    st.markdown("\n".join(lines))

    st.subheader("Versie van de index")
    assistant, error = get_assistant(settings)
    if assistant is None:
        st.warning(error or STORE_NOT_READY)
        return
    try:
        status = assistant.status()
    except Exception:
        log.exception("status failed")
        st.warning(STORE_NOT_READY)
        return
    rows = []
    for key, value in status.items():
        label = _STATUS_LABELS.get(key, key)
        shown = ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        rows.append(f"- **{escape_markdown(label)}**: {escape_markdown(shown)}")
    st.markdown("\n".join(rows) if rows else "Geen gegevens over de index beschikbaar.")
