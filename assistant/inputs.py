"""Check and clean a question before anything else sees it. Messages are Dutch and say what to do."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2060-\u206f]")
_TAG = re.compile(r"<[^>]{0,200}>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


@dataclass(frozen=True)
class CheckedQuestion:
    text: str  # cleaned text for retrieval ('' when refused)
    problem: str | None  # Dutch message when the question cannot be answered as is


def check_question(raw: object, max_chars: int) -> CheckedQuestion:
    if not isinstance(raw, str):
        return CheckedQuestion("", "Typ je vraag als tekst.")
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", raw))
    if not text.strip():
        return CheckedQuestion("", "Je vraag is leeg. Typ een vraag over welbevinden en gelijke kansen, "
                                   "bijvoorbeeld: ‘Hoe betrek ik ouders die weinig Nederlands spreken?’")
    if len(text) > max_chars:
        return CheckedQuestion("", f"Je vraag is te lang ({len(text):,} tekens; maximaal {max_chars:,}). "
                                   "Vat je vraag samen in een paar zinnen; je tekst blijft in het invoerveld staan."
                               .replace(",", "."))
    text = _MD_IMAGE.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = " ".join(text.split())
    if not any(ch.isalpha() for ch in text):
        return CheckedQuestion("", "Ik kan in je bericht geen vraag in woorden vinden. Typ je vraag in gewone "
                                   "woorden, bijvoorbeeld: ‘Wat kan ik doen aan chronische stress bij leerlingen?’")
    return CheckedQuestion(text, None)
