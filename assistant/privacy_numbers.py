"""Numbers that identify a person: BSN, phone numbers and IBAN; part of assistant/privacy.py.

Digits are found as runs: a digit, then digits or short separators (space, dot, slash, hyphen,
parentheses) up to the last digit. A run is split into its digit groups, and windows of whole groups
are tested, so that "12 34 56 782", "123/456/782" and "06 - 12 34 56 78" are read as one number while
"groep 8 in 2023-2024" is not. Each window spans at most 15 digits, which keeps the work linear.

- Phone: 0 + nine digits (06..., 020..., also Belgian 04xx mobile numbers), +31 / 0031 + nine digits
  (an optional trunk "(0)" allowed), +32 / 0032 + eight or nine digits, or any other "+" number of
  10-15 digits.
- BSN: nine digits that pass the elfproef, written whole or in groups of two or more digits.
"""

from __future__ import annotations

import re

_RUN = re.compile(r"(?<!\d)\d(?:[ ./()\-]{1,3}\d|\d)*")
_GROUP = re.compile(r"\d+")
_MAX_PHONE_DIGITS = 15


def elfproef(digits: str) -> bool:
    """The BSN eleven-test: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11 (and not all zeros)."""
    if len(digits) != 9 or not digits.isdigit() or int(digits) == 0:
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 == 0


def is_valid_iban(value: str) -> bool:
    """True when `value` (spaces allowed, any case) passes the ISO 13616 mod-97 check."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


# IBAN: country code and check digits start a candidate; `iban_spans` then finds how far it runs.
_IBAN_START = re.compile(r"\b[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])", re.IGNORECASE)


def iban_spans(text: str) -> list[tuple[int, int]]:
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


def _is_phone(digits: str, plus: bool) -> bool:
    if plus or digits.startswith("00"):
        rest = digits if plus else digits[2:]
        country, national = rest[:2], rest[2:]
        if country in ("31", "32"):
            # "+31 (0)6 ..." writes the trunk zero that callers from abroad leave out.
            national = national.removeprefix("0")
            sizes = (9,) if country == "31" else (8, 9)
            return len(national) in sizes and national[0] != "0"
        return plus and 10 <= len(rest) <= _MAX_PHONE_DIGITS
    return len(digits) == 10 and digits[0] == "0" and digits[1] != "0"


def _phone_start(text: str, start: int) -> tuple[int, bool]:
    """Where a phone number beginning at digit `start` really starts ('+', '(' or '(+'), and if it has '+'."""
    i = start
    if i > 0 and text[i - 1] == "+":
        i -= 1
    if i > 0 and text[i - 1] == "(":
        i -= 1
    return i, "+" in text[i:start]


def _longest_phone(text: str, groups: list[tuple[int, int]], i: int) -> tuple[int, int] | None:
    begin, plus = _phone_start(text, groups[i][0])
    digits, best = "", None
    for j in range(i, len(groups)):
        digits += text[groups[j][0]:groups[j][1]]
        if len(digits) > _MAX_PHONE_DIGITS:
            break
        if _is_phone(digits, plus):
            best = (begin, groups[j][1])
    return best


def _spaced_apart(text: str, groups: list[tuple[int, int]], i: int, j: int) -> bool:
    """True when groups i..j are not glued by '-', '.' or '/' to more digits ('978-90-244-0123-4')."""
    before_ok = i == 0 or any(c.isspace() for c in text[groups[i - 1][1]:groups[i][0]])
    after_ok = j == len(groups) - 1 or any(c.isspace() for c in text[groups[j][1]:groups[j + 1][0]])
    return before_ok and after_ok


def _bsn_at(text: str, groups: list[tuple[int, int]], i: int) -> tuple[int, int] | None:
    digits = ""
    for j in range(i, len(groups)):
        digits += text[groups[j][0]:groups[j][1]]
        if len(digits) >= 9:
            window = groups[i:j + 1]
            # Single digits in a row are counts or lists ("1 2 3 ..."), not a written-out BSN.
            grouped = len(window) == 1 or all(end - start >= 2 for start, end in window)
            ok = len(digits) == 9 and grouped and _spaced_apart(text, groups, i, j) and elfproef(digits)
            return (groups[i][0], groups[j][1]) if ok else None
    return None


def number_spans(text: str) -> list[tuple[str, int, int]]:
    """('telefoon' | 'bsn', start, end) for every phone number and BSN, in order, not overlapping."""
    found: list[tuple[str, int, int]] = []
    for run in _RUN.finditer(text):
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in _GROUP.finditer(run.group())]
        i = 0
        while i < len(groups):
            phone = _longest_phone(text, groups, i)
            bsn = None if phone else _bsn_at(text, groups, i)
            span = phone or bsn
            if span is None:
                i += 1
                continue
            found.append(("telefoon" if phone else "bsn", span[0], span[1]))
            while i < len(groups) and groups[i][0] < span[1]:
                i += 1
    return found
