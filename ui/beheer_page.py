"""The Beheer page (only with PRAKTIJKKAART_APP__BEHEER_PAGE=true): the feedback staff gave in the chat, the same rows
as `praktijkkaart feedback` (already redacted when stored), and the evaluation report in plain Dutch."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.feedback import FeedbackRecord, list_feedback
from praktijkkaart.settings import Settings
from ui.eval_page import eval_report
from ui.render import escape_markdown
from ui.state import MODE_LABELS, current_settings

log = logging.getLogger(__name__)

VERDICTS = {1: "Nuttig", 0: "Niet nuttig", None: "Alleen een toelichting"}
OFF = ("De pagina Beheer staat uit. De beheerder zet hem aan met PRAKTIJKKAART_APP__BEHEER_PAGE=true; iedereen die de "
       "chat kan openen, ziet hem dan.")


def _cell(text: str | None, limit: int = 400) -> str:
    """Text for one Markdown table cell: literal (escaped), on one line, not endless."""
    flat = " ".join((text or "").split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return escape_markdown(flat) or "–"


def feedback_table(records: list[FeedbackRecord]) -> str:
    """Newest first: date, question, verdict, comment and the answer form that gave the answer."""
    rows = ["| Datum | Vraag | Oordeel | Toelichting | Antwoordvorm |", "|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: r.created_at, reverse=True):
        when = r.created_at.astimezone().strftime("%d-%m-%Y %H:%M")
        form = MODE_LABELS.get(r.generator or "", r.generator or "onbekend")
        rows.append(f"| {when} | {_cell(r.question)} | {VERDICTS.get(r.thumbs, VERDICTS[None])} | "
                    f"{_cell(r.comment)} | {_cell(form)} |")
    return "\n".join(rows)


def _feedback_section(settings: Settings) -> None:
    st.header("Feedback uit de chat", anchor=False)
    try:
        records = list_feedback(settings)
    except Exception:
        log.exception("feedback could not be read")
        st.error("De feedback kon niet worden gelezen. `praktijkkaart doctor` zegt meer.")
        return
    if not records:
        st.info("Er is nog geen feedback gegeven (of alles is al na de bewaartermijn verwijderd).")
        return
    counts = {label: sum(VERDICTS.get(r.thumbs) == label for r in records) for label in VERDICTS.values()}
    st.markdown(f"{len(records)} keer feedback: " + ", ".join(f"{n} × {label.lower()}" for label, n in counts.items())
                + f". Vragen en toelichtingen zijn bij het opslaan ontdaan van persoonsgegevens; na "
                f"{settings.privacy.retention_days} dagen worden ze verwijderd.")
    st.markdown(feedback_table(records))
    st.caption("Dezelfde gegevens, ook als JSON of CSV: `praktijkkaart feedback --json` of `--csv`.")


def beheer_page() -> None:
    settings = current_settings()
    st.title("Beheer", anchor=False)
    if not settings.app.beheer_page:  # the page is not in the navigation then; this guards a direct call
        st.info(OFF)
        return
    st.markdown("Voor de beheerder: wat collega's van de antwoorden vinden, en hoe goed de assistent het doet op "
                "de testvragen.")
    _feedback_section(settings)
    eval_report()
