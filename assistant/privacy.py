"""Detect and redact likely personal data in what staff type (AVG).

The assistant answers from the praktijkkaart and never needs data about an individual pupil, so a
question that contains any of these is not sent, and logs/feedback are redacted. `check_personal_data`
is the one decision that chat, CLI, Python API, logs and feedback share:

- BSN (burgerservicenummer): nine digits, whole or grouped ("12 34 56 782", "123/456/782"), that pass
  the elfproef (assistant/privacy_numbers.py);
- phone numbers: Dutch (06, 020, +31, 0031, any of space . / - as separator) and Belgian (+32, 0032),
  other "+" numbers of 10-15 digits;
- IBAN account numbers that pass the mod-97 check, compact or in groups;
- e-mail addresses, also written with [at], (at), " at ", [punt], " dot " (assistant/privacy_patterns.py);
- a date of birth right after "geboren", "geb.", "geboortedatum", "born", ...;
- a home address: street + house number, or a postcode "1234 AB";
- names of people: after a cue word ("leerling", "mijn mentorleerling", "het meisje", ...), or a
  first name from assistant/voornamen.txt as part of a full name, followed by a class ("uit groep 7"),
  as the subject of a verb, or capitalised mid-sentence. Names that are also ordinary words (Roos,
  Fleur, Mark, Bas, Wil, ...) need stronger evidence. The rules are in assistant/privacy_names.py.

Detection is explainable and errs on the side of asking once too often. Every detector is linear in
the length of the text (no regex that can backtrack catastrophically).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.privacy_names import find_names
from assistant.privacy_numbers import elfproef, iban_spans, is_valid_iban, number_spans
from assistant.privacy_patterns import address_spans, birth_date_spans, email_spans

__all__ = [
    "DESCRIPTIONS", "PLACEHOLDERS", "Finding", "FindingKind", "PrivacyCheck", "check_personal_data", "describe",
    "find_personal_data", "is_valid_bsn", "is_valid_iban", "redact",
]

FindingKind = Literal["bsn", "email", "telefoon", "iban", "naam", "geboortedatum", "adres"]

DESCRIPTIONS: dict[FindingKind, str] = {
    "bsn": "een burgerservicenummer (BSN)",
    "email": "een e-mailadres",
    "telefoon": "een telefoonnummer",
    "iban": "een bankrekeningnummer (IBAN)",
    "naam": "mogelijk de naam van een leerling",
    "geboortedatum": "een geboortedatum",
    "adres": "een (woon)adres",
}

PLACEHOLDERS: dict[FindingKind, str] = {
    "bsn": "[BSN]",
    "email": "[e-mailadres]",
    "telefoon": "[telefoonnummer]",
    "iban": "[IBAN]",
    "naam": "[naam]",
    "geboortedatum": "[geboortedatum]",
    "adres": "[adres]",
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


@dataclass(frozen=True)
class PrivacyCheck:
    """The privacy decision about one text: what was found, what to tell the user, what may be stored.

    `message` is empty when nothing was found; it names the kinds of data, never the data itself.
    `redacted` is the text with every finding replaced by a placeholder (the text itself when clean).
    """

    findings: tuple[Finding, ...]
    message: str
    redacted: str

    @property
    def ok(self) -> bool:
        """True when the text may be sent as it is."""
        return not self.findings


def is_valid_bsn(value: str) -> bool:
    """True when `value` (separators allowed) is a nine-digit number passing the elfproef."""
    return elfproef(re.sub(r"[ ./-]", "", value))


def _overlaps(start: int, end: int, taken: list[Finding]) -> bool:
    return any(start < f.end and f.start < end for f in taken)


def find_personal_data(text: str) -> list[Finding]:
    """All likely personal data in `text`, in order of appearance, without overlaps."""
    found: list[Finding] = []

    def add(kind: FindingKind, spans: list[tuple[int, int]]) -> None:
        for start, end in spans:
            if not _overlaps(start, end, found):
                found.append(Finding(kind=kind, start=start, end=end, text=text[start:end]))

    # Most specific first: an e-mail's or IBAN's digits are not also a phone number or BSN, and a
    # date of birth is not read as part of a number.
    add("email", email_spans(text))
    add("iban", iban_spans(text))
    add("geboortedatum", birth_date_spans(text))
    numbers = number_spans(text)
    add("telefoon", [(s, e) for kind, s, e in numbers if kind == "telefoon"])
    add("bsn", [(s, e) for kind, s, e in numbers if kind == "bsn"])
    add("adres", address_spans(text))
    add("naam", find_names(text))
    return sorted(found, key=lambda f: f.start)


def _redact_findings(text: str, findings: list[Finding]) -> str:
    out: list[str] = []
    pos = 0
    for f in findings:
        out.append(text[pos:f.start])
        out.append(PLACEHOLDERS[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def redact(text: str) -> str:
    """`text` with every finding replaced by a placeholder such as [BSN] or [naam]."""
    return _redact_findings(text, find_personal_data(text))


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


def check_personal_data(text: str) -> PrivacyCheck:
    """The one privacy decision for a question, a log line or a feedback comment."""
    findings = find_personal_data(text)
    if not findings:
        return PrivacyCheck(findings=(), message="", redacted=text)
    message = (
        f"Je vraag is niet verstuurd: hij lijkt persoonsgegevens te bevatten ({describe(findings)}). "
        "Voor een antwoord uit de praktijkkaart zijn die niet nodig. Haal ze weg, bijvoorbeeld "
        "'een leerling uit groep 7' in plaats van een naam, en verstuur je vraag opnieuw."
    )
    return PrivacyCheck(findings=tuple(findings), message=message, redacted=_redact_findings(text, findings))
