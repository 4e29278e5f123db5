"""Text primitives shared by every layer: accent folding, the one Dutch stemmer, the stop-word lists and
the card's sentence splitter. Sits at the bottom (corpus/) so ingest, the answer path, the grounding check,
the injection screen and the evals all use the same code.

Two stop-word lists on purpose: search drops few words ('ouders', 'school' matter for ranking), the
grounding check drops more (its support threshold was calibrated on that list)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer


def strip_accents(text: str) -> str:
    """Diacritics removed (NFKD, combining marks dropped); case and everything else kept."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower case, accents removed, typographic quotes unified."""
    return strip_accents(text.lower()).replace("’", "'").replace("‘", "'")


# A character run of 4+ or a piece of 1-60 characters repeated 3+ times in a row: filler, not meaning.
_CHAR_RUN = re.compile(r"(.)\1{3,}", re.DOTALL)
_PIECE_RUN = re.compile(r"(.{2,60}?)\1{2,}", re.DOTALL)


def collapse_repeats(text: str) -> str:
    """text with runs cut short: a character repeated 4+ times kept 3 times ("zoooo" -> "zooo"), a piece
    repeated 3+ times in a row kept twice. Repeats add no meaning but cost the embedder a token each, so a
    pasted "é" * 1990 would otherwise cost ~5 normal questions. Real questions are left as they are."""
    return _PIECE_RUN.sub(r"\1\1", _CHAR_RUN.sub(r"\1\1\1", text))


@lru_cache(maxsize=1)
def dutch_stemmer() -> Stemmer.Stemmer:
    """The one Snowball Dutch stemmer (building one costs more than stemming a question)."""
    return Stemmer.Stemmer("dutch")


def stem(word: str) -> str:
    return str(dutch_stemmer().stemWord(word))


# Function words that carry no topic (kept short on purpose: 'ouders', 'school' etc. matter here).
SEARCH_STOPWORDS = frozenset("""
aan al alle alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een eens en er
ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in is ja je jij jou jouw jullie
kan kun kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat onder ons onze ook op over
reeds te tegen toch toen tot u uit uw van veel voor want waren was wat we wel welk welke wie wij wil worden wordt
zal ze zelf zich zij zijn zo zonder zou zouden zoals wanneer waarom waar hoeveel graag iemand even eigenlijk
the a an of to and or is are be for in on with what how do does can i we my our you your it this that at as about
""".split())

# Stop words of the grounding check (assistant/grounding.py: content words of a claim and its passage).
GROUNDING_STOPWORDS = frozenset(
    """aan af al alle alles als altijd andere ben bij daar daarom dan dat de der deze die dit doch doen door
    dus een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in
    is ja je jij jou jouw jullie kan kon kunnen kunt maar me meer men met mij mijn moet moeten na naar niet
    niets nog nu of om omdat onder ons onze ook op over reeds te tegen toch toen tot u uit uw van veel voor
    want waren was wat we wel werd wezen wie wij wil wordt worden zal ze zelf zich zij zijn zo zonder zou
    zoals zodat waar waarin waarbij welke hierbij daarbij daarnaast bijvoorbeeld bijv etc oa elkaar
    hen hierover ermee erbij jezelf eigen vaak soms echter zowel ofwel enkel alleen juist extra goed""".split()
)


# --- sentences of card text ---------------------------------------------------------------------------
# Card text: a sentence ends at . ! ? before a capital or an opening quote/bracket, not after an abbreviation.
_ABBREV = ("o.a.", "bijv.", "etc.", "d.w.z.", "m.b.t.", "e.d.", "i.p.v.")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý‘'“(])")


def card_sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in _SPLIT.split(text.strip()):
        if out and out[-1].endswith(_ABBREV):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s for s in out if s]
