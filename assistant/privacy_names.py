"""Find the names of people (pupils, parents) in what staff type; part of assistant/privacy.py.

The text is split into word tokens once; every rule looks only at a token and a few characters or
tokens around it, so the work is linear in the length of the text. A token starts a name when:

1. Cue word: it follows a word for a pupil or child ("leerling", "mijn mentorleerling", "zorgleerling",
   "leerlinge", "de jongen", "het meisje", "zoon", "dochter", ...; also "leerling: ", "leerling, " and
   "leerling heet/genaamd"). After a cue a capitalised word is a name unless it is an ordinary word
   that follows such cues ("leerling Nederlands", "leerling In groep 8"); a lowercase word is a name
   only when it is on the first-name list and is not also an ordinary word ("mijn leerling sanne" is,
   "mijn leerling wil" is not). Initials work too ("leerling J. de Vries").
2. Full name: a capitalised first name from assistant/voornamen.txt followed by a capitalised surname,
   optionally after particles ("Sanne de Vries", "Fatima El Amrani", "Noah van der Meer").
3. Person context: a first name from the list followed by a class ("uit groep 7", "in klas 3b",
   "uit 2b", "(groep 6)", "(8 jaar)") or, when capitalised, by a verb that makes it the subject
   ("Daan heeft ...", "Mila is ..."). Lowercase list names count here only with a class context.
   A capitalised word that is not on the list counts in the middle of a sentence, not after an
   article, and only "uit groep 7" / "uit 2b" / "(groep 6)" ("Mag ik Xylia uit groep 7 schorsen?").
4. Mid-sentence: a capitalised list name that does not start a sentence ("de ouders van Mohammed");
   Dutch does not capitalise ordinary words there.

Names that are also ordinary words or places (marked "*" in voornamen.txt: Roos, Fleur, Mark, Bas,
Wil, Kim, Sterre, Dan, Frans, ...) never count in lowercase and never by rule 4; capitalised they
need a cue word, a particle surname ("Roos de Boer") or a class context ("Roos uit groep 4").
Names of the card's own authors (Orhan Agirdag, Iliass El Hadioui, Leony Coppens, ...) are public,
not personal data, and are skipped by their surname.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_LIST_PATH = Path(__file__).with_name("voornamen.txt")

_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

_PARTICLES = frozenset({
    "van", "de", "der", "den", "ter", "ten", "te", "het", "'t", "el", "al", "ben", "bin", "bint", "abou",
    "abu", "ait", "aït", "op", "in", "la", "le", "du", "da", "di", "dos", "von", "zu", "mac", "mc",
})

# Capitalised words that follow a cue word or a first name in ordinary questions but are not names.
_NOT_NAMES = frozenset({
    "nederlands", "engels", "frans", "duits", "spaans", "arabisch", "turks", "pools", "oekraïens",
    "marokkaans", "syrisch", "tigrinya", "somalisch", "nieuwkomer", "nieuwkomers", "groep", "klas",
    "ik", "hij", "zij", "ze", "die", "dat", "het", "de", "een", "met", "in", "op", "van", "voor", "wat",
    "hoe", "wie", "waar", "welke", "wanneer", "waarom", "en", "of", "maar", "als", "dan", "bij", "uit",
    "naar", "over", "heeft", "is", "zit", "komt", "gaat", "kan", "moet", "wil", "mentor", "leraar",
    "leerkracht", "school", "thuis", "ouders", "ouder", "the", "a", "an", "with", "who", "has", "and",
    "or", "on", "at", "to", "for", "isk", "vo", "po", "mbo", "havo", "vwo", "vmbo", "thema",
    "wiskunde", "rekenen", "taal", "lezen", "geschiedenis", "aardrijkskunde", "biologie", "mijn",
    # English pronouns and auxiliaries after "pupil"/"child": "show every pupil I believe in them"
    "i", "we", "you", "he", "she", "they", "it", "my", "our", "his", "her", "their", "was", "does", "did",
    "can", "will", "who's", "seems", "keeps",
})

_CUE_WORDS = frozenset({
    "leerling", "leerlinge", "leerlingen", "scholier", "scholiere", "pupil", "zoon", "zoontje", "dochter",
    "dochtertje", "kleuter", "puber", "jongen", "jongetje", "meisje", "meid", "kind", "kindje", "broer",
    "broertje", "zus", "zusje", "student", "studente", "peuter", "son", "daughter", "boy", "girl",
})
_CUE_LINKS = frozenset({"heet", "genaamd", "named", "called"})

# Surnames of the card's authors: public persons, named by the card itself (corpus/praktijkkaart.yaml,
# corpus/links.yaml).
_PUBLIC_SURNAMES = frozenset({
    "agirdag", "kambel", "hadioui", "slootman", "lusse", "kassenberg", "goedhart", "coppens",
})

# A capitalised word right after a name makes it the name of a place or body, not of a person:
# "het Anne Frank Huis", "de Maria Montessori School", "Augeo Foundation".
_INSTITUTIONS = frozenset({
    "huis", "stichting", "fonds", "school", "basisschool", "college", "lyceum", "academie", "instituut",
    "museum", "centrum", "kliniek", "prijs", "park", "foundation", "institute", "house", "centre",
})

_CLASS_WORDS = r"(?:groep|klas|leerjaar|mentorgroep|mentorklas|brugklas|stamgroep|jaarlaag|class|grade|year)"
_CLASS_AFTER = re.compile(
    r",?\s+(?:zit\s+)?(?:uit|in|van|from|of)\s+(?:de\s+|het\s+|the\s+)?"
    rf"(?:{_CLASS_WORDS}\b|\d{{1,2}}[a-z]{{1,2}}\b|[a-z]{{1,4}}\s?\d[a-z]?\b)"
    rf"|\s*\(\s*(?:{_CLASS_WORDS}\s*)?\d{{1,2}}[a-z]{{0,2}}\s*(?:jaar|jr)?\s*\)"
    r"|,?\s+\d{1,2}\s+(?:jaar|jr|years?)\b",
    re.IGNORECASE,
)
_NUMBERED_CLASS_AFTER = re.compile(
    rf",?\s+(?:uit|from)\s+(?:{_CLASS_WORDS}\s+\d{{1,2}}[a-z]{{0,2}}|\d{{1,2}}[a-z]{{1,2}})\b"
    rf"|\s*\(\s*(?:{_CLASS_WORDS}\s*)?\d{{1,2}}[a-z]{{0,2}}\s*\)",
    re.IGNORECASE,
)
_ARTICLES = frozenset({"de", "het", "een", "the", "a", "an", "onze", "ons", "mijn", "jouw", "deze", "die", "dat"})
_SUBJECT_VERB = re.compile(
    r"\s+(?:is|was|heeft|had|zit|zat|wil|wilde|kan|kon|doet|deed|krijgt|kreeg|gaat|ging|komt|kwam|praat|"
    r"huilt|pest|wordt|werd|vertelt|vertelde|zegt|zei|durft|lijkt|blijft|speelt|leest|voelt|spijbelt|"
    r"slaat|scheldt|loopt|woont|mag|moet|reageert|weigert|vindt|snapt|begrijpt|spreekt|verzuimt|"
    r"has|does|did|keeps|won't|can't|doesn't)\b"
    r"|['’]s\s",
)


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def capitalised(self) -> bool:
        # All-caps words of two or more letters are acronyms (NPO, ISK, VVE), not names.
        return self.text[0].isupper() and not (len(self.text) > 1 and self.text.isupper())


@lru_cache(maxsize=1)
def first_names() -> Mapping[str, bool]:
    """The first-name list: lowercase name -> True when it is also an ordinary word (marked '*')."""
    names: dict[str, bool] = {}
    for line in _LIST_PATH.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, mark = line.partition(" ")
            names[word] = mark.strip() == "*"
    return names


def _lookup(word: str) -> bool | None:
    """None when `word` is no list name, else whether it is also an ordinary word.

    A hyphenated name counts when the whole is on the list, or every part is ('Ellen-Rose').
    """
    names = first_names()
    # NFC, and Turkish capital İ lowercases to i + a combining dot: "İbrahim" is "ibrahim".
    key = unicodedata.normalize("NFC", word.lower()).replace("i\u0307", "i").replace("’", "'")
    if key in names:
        return names[key]
    parts = key.split("-")
    if len(parts) > 1 and all(p in names for p in parts):
        return all(names[p] for p in parts)
    return None


def _only_spaces(text: str, start: int, end: int) -> bool:
    return start <= end and (start == end or text[start:end].isspace()) and "\n" not in text[start:end]


def _joined(text: str, toks: list[_Tok], k: int) -> bool:
    """True when token k follows token k-1 with only spaces between (after an initial: '. ')."""
    gap_start = toks[k - 1].end
    if len(toks[k - 1].text) == 1 and text.startswith(".", gap_start):
        gap_start += 1
    return _only_spaces(text, gap_start, toks[k].start)


def _surname_end(text: str, toks: list[_Tok], j: int) -> tuple[int, bool] | None:
    """If a surname starts at token j: index of its last token, and whether particles came first."""
    k = j
    while k < len(toks) and k - j < 3 and toks[k].lower in _PARTICLES and _joined(text, toks, k):
        k += 1
    if k >= len(toks) or not _joined(text, toks, k):
        return None
    tok = toks[k]
    # One capital letter is a pronoun or an initial ("Can I ..."), not a surname.
    if len(tok.text) < 2 or not tok.capitalised or tok.lower in _NOT_NAMES or tok.lower in _CUE_WORDS:
        return None
    return k, k > j


def _initials_end(text: str, toks: list[_Tok], i: int) -> int | None:
    """'J. de Vries', 'A.B. Jansen': index of the surname's last token after one or more initials."""
    k = i
    while k < len(toks) and len(toks[k].text) == 1 and toks[k].text.isupper() and text.startswith(".", toks[k].end):
        k += 1
    if k == i:
        return None
    surname = _surname_end(text, toks, k)
    return surname[0] if surname else None


def _after_cue(text: str, toks: list[_Tok], i: int) -> bool:
    """True when token i follows a cue word ('leerling Sanne', 'leerling: Sanne', 'leerling heet Sanne')."""
    j = i - 1
    if j >= 0 and toks[j].lower in _CUE_LINKS:
        j -= 1
        if j >= 0 and toks[j].lower == "die":
            j -= 1
        gap_ok = j >= 0 and _only_spaces(text, toks[j].end, toks[j + 1].start)
    else:
        gap_ok = j >= 0 and re.fullmatch(r"\s*[:,]?\s*", text[toks[j].end:toks[i].start]) is not None
    if not gap_ok:
        return False
    cue = toks[j].lower
    return cue in _CUE_WORDS or cue.endswith(("leerling", "leerlinge"))


def _sentence_start(text: str, start: int) -> bool:
    """True when nothing but opening quotes, bullets or spaces stand between a sentence end and `start`."""
    before = text[max(0, start - 12):start].rstrip(" \t‘“\"'(«*•-–")
    return not before or before[-1] in ".!?:;\n"


def _cue_name_ok(tok: _Tok) -> bool:
    if tok.lower in _NOT_NAMES:
        return False
    return tok.capitalised or _lookup(tok.text) is False


def _name_after_cue(text: str, toks: list[_Tok], i: int) -> int | None:
    """Rule 1: the last token of a name that follows a cue word, or None."""
    end = _initials_end(text, toks, i)
    if end is not None:
        return end
    if not _cue_name_ok(toks[i]):
        return None
    if not toks[i].capitalised:
        return i
    surname = _surname_end(text, toks, i + 1)
    return surname[0] if surname else i


def _name_without_cue(text: str, toks: list[_Tok], i: int) -> int | None:
    """Rules 2-4: the last token of a name that starts at token i without a cue word, or None."""
    tok = toks[i]
    if len(tok.text) < 2:
        return None
    tag = _lookup(tok.text)
    in_class = _CLASS_AFTER.match(text, tok.end) is not None
    if tag is None:
        # Any capitalised mid-sentence word from a numbered class: "Mag ik Xylia uit groep 7 ...". Not
        # "in groep 5" (methods and devices are used in a group: "Snappet in groep 5") and not after an
        # article ("de Chromebooks uit groep 7"): Dutch names take none.
        mid = tok.capitalised and not _sentence_start(text, tok.start) and not _after_article(toks, i)
        numbered = _NUMBERED_CLASS_AFTER.match(text, tok.end) is not None
        return i if mid and numbered and tok.lower not in _NOT_NAMES else None
    if tok.lower in _NOT_NAMES:
        return None
    if not tok.capitalised:
        return i if in_class and not tag else None
    surname = _surname_end(text, toks, i + 1)
    if surname is not None and (surname[1] or not tag):
        return surname[0]
    if in_class:
        return i
    if tag:
        return None
    if _SUBJECT_VERB.match(text, tok.end) or not _sentence_start(text, tok.start):
        return i
    return None


def _after_article(toks: list[_Tok], i: int) -> bool:
    return i > 0 and toks[i - 1].lower in _ARTICLES


def _is_word(text: str, tok: _Tok) -> bool:
    """False for letters glued to digits ('1F', '3b', 'H2O'): codes, not words."""
    glued_before = tok.start > 0 and text[tok.start - 1].isdigit()
    glued_after = tok.end < len(text) and text[tok.end].isdigit()
    return not (glued_before or glued_after)


def _is_public(toks: list[_Tok]) -> bool:
    return any(part in _PUBLIC_SURNAMES for tok in toks for part in tok.lower.split("-"))


def _names_an_institution(toks: list[_Tok], last: int) -> bool:
    nxt = toks[last + 1] if last + 1 < len(toks) else None
    return nxt is not None and nxt.capitalised and nxt.lower in _INSTITUTIONS


def find_names(text: str) -> list[tuple[int, int]]:
    """(start, end) of every likely personal name in `text`, in order, not overlapping."""
    toks = [_Tok(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        if not _is_word(text, toks[i]):
            i += 1
            continue
        last = _name_after_cue(text, toks, i) if _after_cue(text, toks, i) else None
        if last is None:
            last = _name_without_cue(text, toks, i)
        if last is None:
            i += 1
            continue
        if not _is_public(toks[i:last + 1]) and not _names_an_institution(toks, last):
            spans.append((toks[i].start, toks[last].end))
        i = last + 1
    return spans
