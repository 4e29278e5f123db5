"""Detect and redact likely personal data in what staff type (AVG).

The assistant answers from the praktijkkaart and never needs data about an individual pupil, so the UI
refuses to send a question that contains any of these, and logs/feedback are redacted with `redact`:

- BSN (burgerservicenummer): 9 digits (dots/spaces allowed) that pass the elfproef;
- e-mail addresses;
- Dutch phone numbers (06-..., 020 ..., +31 6 ..., 0031 ...);
- IBAN account numbers that pass the mod-97 check;
- a name after "leerling" (also "mijn leerling", "leerlinge", "zoon", "dochter", ...).

Detection is deliberately simple and explainable; it errs on the side of asking once too often.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FindingKind = Literal["bsn", "email", "telefoon", "iban", "naam"]

DESCRIPTIONS: dict[FindingKind, str] = {
    "bsn": "een burgerservicenummer (BSN)",
    "email": "een e-mailadres",
    "telefoon": "een telefoonnummer",
    "iban": "een bankrekeningnummer (IBAN)",
    "naam": "mogelijk de naam van een leerling",
}

PLACEHOLDERS: dict[FindingKind, str] = {
    "bsn": "[BSN]",
    "email": "[e-mailadres]",
    "telefoon": "[telefoonnummer]",
    "iban": "[IBAN]",
    "naam": "[naam]",
}


@dataclass(frozen=True)
class Finding:
    """One piece of likely personal data: where it is in the text and what it looks like."""

    kind: FindingKind
    start: int
    end: int
    text: str

    @property
    def description(self) -> str:
        """Dutch description for the user, e.g. 'een burgerservicenummer (BSN)'."""
        return DESCRIPTIONS[self.kind]


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)

# IBAN: country code and check digits start a candidate; `_iban_spans` then finds how far it runs.
_IBAN_START = re.compile(r"\b[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])", re.IGNORECASE)

# Dutch phone numbers: 0 or +31 / 0031 (optionally "(0)"), then nine digits with optional separators.
_PHONE = re.compile(
    r"(?<![\w+(])(?:(?:\+|00)31[\s.-]?(?:\(0\)[\s.-]?)?|\(?0)[1-9](?:[\s.()-]{0,2}\d){8}(?!\d)"
)

# BSN: nine digits, optionally written as 123.456.789, 123 456 789 or 1234.56.789.
_BSN = re.compile(r"(?<![\d+])(?:\d{3}([ .-]?)\d{3}\1\d{3}|\d{4}([ .])\d{2}\2\d{3})(?![\d])")

_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’-]+"
_PARTICLE = r"(?:van|de|der|den|ter|ten|te|el|al|op|in|'t)"
# The trigger word is case-insensitive; the name must start with a capital letter.
_NAME = re.compile(
    r"(?i:\b(?:leerlinge?|scholier|pupil|zoon|dochter|kleuter|puber|jongen|meisje)\b)(?:\s+(?i:genaamd|heet))?,?\s+"
    rf"(?P<name>(?:[A-Z]\.\s*)+(?:{_PARTICLE}\s+)*{_NAME_WORD}"
    rf"|{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_NAME_WORD}|\s+[A-Z]\.)*)"
)

# Capitalised words that follow "leerling" in ordinary questions but are not names.
_NOT_NAMES = frozenset({
    "nederlands", "engels", "frans", "duits", "spaans", "arabisch", "turks", "pools", "oekraïens",
    "marokkaans", "syrisch", "nieuwkomer", "nieuwkomers", "groep", "klas", "ik", "hij", "zij", "ze", "die",
    "dat", "het", "de", "een", "met", "in", "op", "van", "voor", "wat", "hoe", "wie", "waar", "welke",
    "wanneer", "waarom", "en", "of", "maar", "als", "dan", "bij", "uit", "naar", "over", "heeft", "is",
    "zit", "komt", "gaat", "kan", "moet", "wil", "mentor", "leraar", "leerkracht", "school", "thuis",
    "ouders", "ouder", "the", "a", "an", "with", "who", "is", "has",
})


def _elfproef(digits: str) -> bool:
    """The BSN eleven-test: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11 (and not all zeros)."""
    if len(digits) != 9 or not digits.isdigit() or int(digits) == 0:
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 == 0


def is_valid_bsn(value: str) -> bool:
    """True when `value` (separators allowed) is a nine-digit number passing the elfproef."""
    return _elfproef(re.sub(r"[ .-]", "", value))


def is_valid_iban(value: str) -> bool:
    """True when `value` (spaces allowed, any case) passes the ISO 13616 mod-97 check."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _iban_spans(text: str) -> list[tuple[int, int]]:
    """Spans of valid IBANs, written compact or in groups separated by single spaces."""
    spans: list[tuple[int, int]] = []
    for m in _IBAN_START.finditer(text):
        compact = m.group()
        best: int | None = None
        i = m.end()
        while i < len(text) and len(compact) < 34:
            if text[i] == " " and i + 1 < len(text) and text[i + 1].isalnum():
                i += 1
                continue
            if not text[i].isalnum() or not text[i].isascii():
                break
            compact += text[i]
            i += 1
            at_word_end = i == len(text) or not text[i].isalnum()
            if at_word_end and is_valid_iban(compact):
                best = i
        if best is not None:
            spans.append((m.start(), best))
    return spans


def _overlaps(start: int, end: int, taken: list[Finding]) -> bool:
    return any(start < f.end and f.start < end for f in taken)


def find_personal_data(text: str) -> list[Finding]:
    """All likely personal data in `text`, in order of appearance, without overlaps."""
    found: list[Finding] = []

    def add(kind: FindingKind, start: int, end: int) -> None:
        if not _overlaps(start, end, found):
            found.append(Finding(kind=kind, start=start, end=end, text=text[start:end]))

    # Most specific first, so that an IBAN's digits are not also reported as a phone number or BSN.
    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end())
    for start, end in _iban_spans(text):
        add("iban", start, end)
    for m in _PHONE.finditer(text):
        add("telefoon", m.start(), m.end())
    for m in _BSN.finditer(text):
        if is_valid_bsn(m.group()):
            add("bsn", m.start(), m.end())
    for m in _NAME.finditer(text):
        first = m.group("name").split()[0]
        if first.lower() not in _NOT_NAMES:
            add("naam", m.start("name"), m.end("name"))
    return sorted(found, key=lambda f: f.start)


def redact(text: str) -> str:
    """`text` with every finding replaced by a placeholder such as [BSN] or [naam]."""
    out: list[str] = []
    pos = 0
    for f in find_personal_data(text):
        out.append(text[pos:f.start])
        out.append(PLACEHOLDERS[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def describe(findings: list[Finding]) -> str:
    """A Dutch, comma-separated list of what was found, each kind once ('een e-mailadres en een BSN')."""
    kinds: list[FindingKind] = []
    for f in findings:
        if f.kind not in kinds:
            kinds.append(f.kind)
    parts = [DESCRIPTIONS[k] for k in kinds]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " en " + parts[-1]
