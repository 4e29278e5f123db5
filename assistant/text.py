"""Dutch text normalisation for keyword search: accents folded, Snowball stems, compounds split,
staff abbreviations expanded from the corpus synonym list."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from assistant.urls import URL_RE
from corpus.model import Synonyms
from corpus.text import SEARCH_STOPWORDS, collapse_repeats
from corpus.text import fold as fold
from corpus.text import stem as stem

# Function words that carry no topic: corpus/text.py (SEARCH_STOPWORDS).
STOPWORDS = SEARCH_STOPWORDS

# Function words that tell English from Dutch (short, frequent, rarely shared between the two).
_ENGLISH = frozenset("""
the a an of to and or is are be for on with what how do does did can could should would i we my our you your it
this that at as about which who where when why there their they from into have has not don't doesn't
""".split())
_DUTCH = frozenset("""
de het een en van is zijn hoe wat wie waar wanneer waarom ik we wij jij je mijn onze ons met voor op aan bij om te
dat die dit niet kan kunnen
""".split())

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_LINKING = ("s", "en", "e", "")


def words(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(fold(text)) if w not in STOPWORDS and len(w) > 1]


@dataclass
class Analyzer:
    """Turns text into stemmed tokens; splits compounds into parts known from the corpus vocabulary."""

    synonyms: Synonyms = field(default_factory=Synonyms)
    vocabulary: set[str] = field(default_factory=set)  # stems seen in the corpus
    doc_freq: dict[str, int] = field(default_factory=dict)
    n_docs: int = 0
    _shorthand: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def learn(self, texts: list[str]) -> None:
        for t in texts:
            stems = {stem(w) for w in words(t)}
            self.vocabulary.update(stems)
            for s_ in stems:
                self.doc_freq[s_] = self.doc_freq.get(s_, 0) + 1
            self.n_docs += 1

    def idf(self, stemmed: str) -> float:
        """Rarity of a stem in the corpus; words the corpus never uses are the rarest of all."""
        return math.log((self.n_docs + 1) / (self.doc_freq.get(stemmed, 0) + 0.5))

    def _split(self, word: str) -> list[str]:
        """'nieuwkomerskinderen' -> ['nieuwkomer', 'kinder'] when both halves are corpus words."""
        if len(word) < 9:
            return []
        for i in range(len(word) - 4, 3, -1):
            head, tail = word[:i], word[i:]
            tail_stem = stem(tail)
            if tail_stem not in self.vocabulary or len(tail) < 4:
                continue
            for link in _LINKING:
                if link and not head.endswith(link):
                    continue
                base = head[: len(head) - len(link)] if link else head
                if len(base) >= 4 and stem(base) in self.vocabulary:
                    return [stem(base), tail_stem]
        return []

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for w in words(text):
            s = stem(w)
            out.append(s)
            out.extend(p for p in self._split(w) if p != s)
        return out

    def expand_query(self, text: str) -> str:
        """Append the card words that the staff terms in `text` stand for."""
        folded = " " + re.sub(r"[^\w'/ -]+", " ", fold(text)) + " "
        extra: list[str] = []
        for term, targets in self.synonyms.expand.items():
            if f" {fold(term)} " in folded:
                extra.extend(targets)
        present = set(folded.split())
        for group in self.synonyms.groups:
            if any(fold(g) in present for g in group):
                extra.extend(group)
        return text if not extra else f"{text} {' '.join(extra)}"

    def embedding_text(self, text: str) -> str:
        """The text the embedder sees for a question: repeated filler collapsed, Dutch shorthand written out.
        Retrieval, the sketch's asking sentence and the scope fitter all embed through this one function,
        so the scope model is fitted on the same vectors it later judges."""
        return self.spell_out(collapse_repeats(text))

    def spell_out(self, text: str) -> str:
        """Chat shorthand written out ("lln gr 7" -> "leerlingen groep 7") in a Dutch question; any other
        text comes back unchanged (the same string, so its embedding is the one already cached)."""
        if not self.synonyms.spell_out or self.is_english(text):
            return text
        pattern = self._shorthand_pattern()
        if not pattern.search(text):
            return text
        return pattern.sub(lambda m: self.synonyms.spell_out[m.group(0).lower()], text)

    def _shorthand_pattern(self) -> re.Pattern[str]:
        if self._shorthand is None:
            terms = sorted(self.synonyms.spell_out, key=len, reverse=True)
            self._shorthand = re.compile(r"(?<![\w'-])(?:" + "|".join(map(re.escape, terms)) + r")(?![\w'-])",
                                         re.IGNORECASE)
        return self._shorthand

    @staticmethod
    def is_english(text: str) -> bool:
        """More English than Dutch function words (at least two): the question is English."""
        tokens = re.findall(r"[a-z][a-z'-]*", fold(text))
        n_en = sum(t in _ENGLISH for t in tokens)
        return n_en >= 2 and n_en > sum(t in _DUTCH for t in tokens)

    def english_gloss(self, text: str) -> tuple[str, float] | None:
        """For an English question: its words the glossary knows, as card words, and the share of its
        content words that the glossary covered. None for a question that is not English.

        multilingual-e5-small scores English questions against Dutch passages lower than their Dutch
        translation (by 0.025 on average, measured on evals/language_pairs.yaml), so retrieval also
        embeds the Dutch gloss, weighted by how much of the question it covers (assistant/retrieval.py)."""
        if not self.is_english(text):
            return None
        tokens = re.findall(r"[a-z][a-z'-]*", fold(text))
        content = [t for t in tokens if t not in STOPWORDS and t not in _ENGLISH and len(t) > 1]
        glossed = [t for t in content if t in self.synonyms.english]
        if not glossed:
            return None
        gloss = " ".join(dict.fromkeys(w for t in glossed for w in self.synonyms.english[t]))
        return gloss, len(glossed) / len(content)

    def overlap(self, text: str) -> float:
        """How much of the question the card speaks to (0..1): the IDF-weighted share of its content
        words that the card knows (directly, as a compound of card words, or via a synonym). Common
        school words (leerling, ouders, groep) weigh little; an unknown word weighs most."""
        base = words(text)
        if not base:
            return 0.0
        group_words = {fold(w) for g in self.synonyms.groups for w in g}
        total = known = 0.0
        for w in base:
            s = stem(w)
            targets = [stem(x) for t in self.synonyms.expand.get(w, ()) for x in words(t)]
            if s in self.vocabulary:
                weight, hit = self.idf(s), True
            elif (parts := self._split(w)):
                weight, hit = max(self.idf(p) for p in parts), True
            elif any(t in self.vocabulary for t in targets):
                weight, hit = min(self.idf(t) for t in targets if t in self.vocabulary), True
            elif w in group_words:
                weight, hit = self.idf(stem(w)), True
            else:
                weight, hit = self.idf(s), False
            total += weight
            known += weight if hit else 0.0
        return known / total if total else 0.0


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def question_sentence(text: str, min_sentences: int) -> str | None:
    """The sentence that asks (the last one ending in '?', else the last one) of a text with at least
    `min_sentences` sentences; None for a shorter text."""
    parts = [s for s in _SENTENCE_END.split(text.strip()) if s]
    if len(parts) < min_sentences:
        return None
    return next((s for s in reversed(parts) if s.endswith("?")), parts[-1])


# --- language of an answer (the LLM validator and the evals) -------------------------------------------
# The same function-word lists as the question check above. (Two wider lists, _DUTCH_COMMON and
# _ENGLISH_COMMON, stood here unused; they were removed rather than switched on, which would change the
# evals' 'dutch' metric.)

_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def is_dutch(text: str, *, min_hits: int = 2, min_share: float = 0.7) -> bool:
    """Stop-word heuristic: enough Dutch function words, and far more Dutch than English ones."""
    words = [w.lower() for w in _WORD_RE.findall(URL_RE.sub(" ", text))]
    nl = sum(w in _DUTCH for w in words)
    en = sum(w in _ENGLISH for w in words)
    return nl >= min_hits and nl / (nl + en) >= min_share
