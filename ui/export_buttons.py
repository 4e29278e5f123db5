"""The chat's two downloads of the conversation: a Word meeting note (what schools write their notes in) and
clean Markdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import streamlit as st

from assistant.types import Answer
from ui.export import conversation_to_markdown, export_filename
from ui.export_docx import conversation_to_docx, docx_filename

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx_later(answers: Sequence[Answer], now: datetime) -> Callable[[], bytes]:
    """Build the Word file only when it is downloaded: ~45 ms even for one answer, which every rerun of the
    chat would otherwise pay (Markdown takes ~2 ms and is built eagerly)."""
    kept = list(answers)
    return lambda: conversation_to_docx(kept, now=now)


def export_buttons(answers: Sequence[Answer]) -> None:
    """The Word and Markdown downloads (disabled until there is an answer)."""
    now = datetime.now()
    st.download_button(
        "Exporteer gesprek", data=_docx_later(answers, now), file_name=docx_filename(now), mime=DOCX_MIME,
        disabled=not answers, icon=":material/description:", width="stretch", on_click="ignore",
        help="Als Word-document, met de bronnen als links: bijvoorbeeld voor het verslag van een teamoverleg.",
    )
    st.download_button(
        "Als Markdown", data=conversation_to_markdown(answers, now=now), file_name=export_filename(now),
        mime="text/markdown", disabled=not answers, icon=":material/download:", width="stretch",
        on_click="ignore", help="Vragen, antwoorden en bronnen als platte tekst (Markdown).",
    )
