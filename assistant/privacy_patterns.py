"""E-mail addresses, dates of birth and home addresses; part of assistant/privacy.py.

Every pattern starts at a word boundary that cannot also start in the middle of the same word (a
look-behind), and its repeated parts are separated by characters they cannot contain, so no input
makes the regex engine backtrack more than linearly.

- E-mail: local@domain.tld, also written "[at]", "(at)", "{at}", " at " and "[punt]", "(dot)", " punt ".
  The bare " at " form ("look at pharos.nl") needs a local part that looks like an address
  (a dot, digit, '_', '+' or '-' in it) or a well-known mail provider.
- Date of birth: a date (12-03-2015, 03/12/2015, 2015-03-12, 3 maart 2014, March 3, 2014) right after
  "geboren (op)", "geb.", "geboortedatum", "born (on)", "date of birth" or "dob". A date alone
  ("op 12 maart 2025 is de studiedag") is not personal data.
- Address: a street name (a word ending in -straat, -laan, -weg, -plein, -gracht, ...) with a house
  number ("Kerkstraat 12", "Lindenlaan 4a", "Goghlaan 3-II"), capitalised or after "woont"/"adres";
  and a postcode "1234 AB" (capitals; "1234ab" glued) other than letter pairs that are school
  acronyms ("2021 PO", "2023 VO").
"""

from __future__ import annotations

import re

_AT = (r"(?P<at>\s*@\s*|\s*[\[({<]\s*(?:at|@|apenstaartje)\s*[\])}>]\s*"
       r"|\s+(?:at|apenstaartje)\s+)")
_DOT = r"(?:\.|\s*[\[({<]\s*(?:punt|dot)\s*[\])}>]\s*|\s+(?:punt|dot)\s+)"
_EMAIL = re.compile(
    rf"(?<![\w.+-])(?P<local>[\w.+-]+){_AT}(?P<domain>[\w-]+)(?:{_DOT}[\w-]+)*?{_DOT}[a-z]{{2,}}\b",
    re.IGNORECASE,
)
_PROVIDERS = frozenset({
    "gmail", "hotmail", "outlook", "live", "icloud", "yahoo", "ziggo", "kpnmail", "kpnplanet", "planet",
    "home", "xs4all", "telfort", "upcmail", "msn", "proton", "protonmail", "skynet", "telenet",
})

_MONTHS = (r"(?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
           r"|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec"
           r"|january|february|march|may|june|july|august|october)")
_DATE = (r"(?:\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)?\d{2}"
         r"|(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}"
         rf"|\d{{1,2}}\s+{_MONTHS}\.?\s+(?:19|20)\d{{2}}"
         rf"|{_MONTHS}\.?\s+\d{{1,2}},?\s+(?:19|20)\d{{2}})")
_BIRTH = re.compile(
    r"\b(?:geboren|geb\.?|geboortedatum|geboortedag|born|birthday|date\s+of\s+birth|dob)"
    rf"(?:\s*[:=]\s*|\s+(?:op|on)\s+|\s+)(?P<date>{_DATE})(?!\d)",
    re.IGNORECASE,
)

_STREET_SUFFIX = (r"(?:straat|straatweg|laan|weg|plein|gracht|kade|singel|dijk|dreef|steeg|markt|hof"
                  r"|park|erf|wal|veld|haven|plantsoen|allee|boulevard|dam|brink|burg|hoven|wijk)")
_STREET = re.compile(
    rf"(?<![\w-])(?P<street>[^\W\d_][^\W\d_'’-]*{_STREET_SUFFIX})\s+"
    r"(?P<number>\d{1,4}(?:[-/](?:[IVX]{1,4}|\d{1,3}|[a-zA-Z]{1,2})|[a-zA-Z]{1,2})?)(?!\w)"
    # "het Kerkplein 2 keer per jaar": a count, not a house number.
    r"(?!\s+(?:keer|maal|x|uur|minuten|dagen|weken|maanden|jaar|leerlingen|kinderen|klassen|groepen)\b)",
)
_HOME_CUE = re.compile(r"\b(?:woon|woont|wonen|woonde|adres|verhuisd|lives|address)\b", re.IGNORECASE)
_NOT_STREETS = frozenset({"schoolplein", "speelplein", "schoolpark", "werkveld", "leerveld"})
_POSTCODE = re.compile(r"(?<![\w-])[1-9]\d{3}(?:\s?(?P<upper>[A-Z]{2})|(?P<lower>[a-z]{2}))(?![\w-])")
_NOT_POSTCODE_LETTERS = frozenset({
    "PO", "VO", "SO", "BO", "HO", "WO", "OK", "IB", "EN", "OF", "NL", "BE", "SA", "SD", "SS", "JR",
    "km", "cm", "mm", "kg", "mg", "ml", "cl", "dl", "kb", "mb", "gb", "st", "nd", "rd", "th", "pk", "uu",
})


def email_spans(text: str) -> list[tuple[int, int]]:
    """Spans of e-mail addresses, plain or obfuscated."""
    spans: list[tuple[int, int]] = []
    for m in _EMAIL.finditer(text):
        if m.group("at").strip().lower() in ("at", "apenstaartje"):
            looks_like_address = re.search(r"[\d._+-]", m.group("local")) is not None
            if not looks_like_address and m.group("domain").lower() not in _PROVIDERS:
                continue
        spans.append((m.start(), m.end()))
    return spans


def birth_date_spans(text: str) -> list[tuple[int, int]]:
    """Spans of dates written right after 'geboren', 'geb.', 'geboortedatum', 'born', ..."""
    return [(m.start("date"), m.end("date")) for m in _BIRTH.finditer(text)]


def address_spans(text: str) -> list[tuple[int, int]]:
    """Spans of street + house number and of postcodes."""
    spans: list[tuple[int, int]] = []
    for m in _STREET.finditer(text):
        street = m.group("street")
        if street.lower() in _NOT_STREETS or len(street) < 6:
            continue
        cue_before = _HOME_CUE.search(text, max(0, m.start() - 40), m.start()) is not None
        if street[0].isupper() or cue_before:
            spans.append((m.start(), m.end()))
    for m in _POSTCODE.finditer(text):
        if (m.group("upper") or m.group("lower")) not in _NOT_POSTCODE_LETTERS:
            spans.append((m.start(), m.end()))
    return sorted(spans)
