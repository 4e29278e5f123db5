"""Grounding checks: is every sentence of an answer backed by a passage it cites?

- `split_sentences` turns a Markdown answer into the sentences that make claims. Skipped: headings,
  lines that are entirely bold, non-bullet lines ending with ':' (template lines such as the opening line
  naming the themes), sentences ending with ':', and the 'Bronnen' list.
- `verbatim_supported` is the check for the extractive generator: the sentence (citation markers, bullet
  markers and emphasis removed, quotes and whitespace normalised) occurs in a passage.
- `support_score` is the check for LLM answers: Dutch-stemmed content-word recall of the sentence against
  the passage (synonym groups from corpus/synonyms.yaml folded together). Its threshold
  `SUPPORT_THRESHOLD` is calibrated on the hand-labelled pairs in evals/support_pairs.yaml
  (`evals.grounding.support_threshold`; a test checks that the two agree).
- `check_answer` combines these with structural checks into a `GroundingReport`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal

from assistant.types import Answer, Passage
from assistant.urls import extract_urls, foreign_urls, normalize_url
from corpus.text import GROUNDING_STOPWORDS, dutch_stemmer, strip_accents

Method = Literal["verbatim", "lexical"]

# Calibrated on evals/support_pairs.yaml (best accuracy); tests/test_eval_grounding.py recomputes it.
SUPPORT_THRESHOLD = 0.6905

_MARKER_RE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\](?!\()")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_HEADING_RE = re.compile(r"^\s*#{1,6}\s")
_RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.IGNORECASE)
_SOURCE_LINE_RE = re.compile(r"^\s*(?:[-*+]\s+)?(?:\[(\d+)\]|(\d+)[.)])")
# A sentence ends at . ! or ?, optionally followed by closing quotes and citation markers, before a
# space and a capital, digit, quote or bracket (or the end of the line).
_SENT_END_RE = re.compile(
    r"[.!?]+[\"'’”)]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*(?=\s+[\"'‘“(\[]?[A-ZÀ-Ý0-9]|\s*$)"
)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "`": "'", "“": '"', "”": '"', "„": '"',
                         "–": "-", "—": "-", "\u00a0": " "})


# --- sentences -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerSentence:
    text: str  # as written (markers included)
    citations: tuple[int, ...]
    bullet: bool
    line: int  # 1-based line number in the answer


def citation_markers(text: str) -> list[int]:
    """All [n] / [n, m] citation numbers in a text (Markdown link texts like [1](url) excluded)."""
    return [int(n) for m in _MARKER_RE.finditer(text) for n in m.group(1).split(",")]


def _strip_emphasis(text: str) -> str:
    return re.sub(r"(\*\*|__|\*|_(?=\S)|(?<=\S)_)", "", text).strip()


def _is_bronnen_heading(line: str) -> bool:
    bare = _strip_emphasis(line.strip().lstrip("#").strip()).rstrip(":").strip().casefold()
    return bare in {"bronnen", "bron", "links", "bronnen en links"}


def _is_source_line(line: str) -> bool:
    return bool(_SOURCE_LINE_RE.match(line)) and bool(extract_urls(line))


def _is_template_line(line: str) -> bool:
    s = line.strip()
    if _HEADING_RE.match(s) or _RULE_RE.match(s):
        return True
    if re.fullmatch(r"(\*\*|__).+(\*\*|__)", s):  # a line that is entirely bold acts as a heading
        return True
    return not _BULLET_RE.match(s) and _strip_emphasis(_MARKER_RE.sub("", s)).rstrip().endswith(":")


def split_lines(markdown: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(content lines, source-list lines), each as (line number, text); template lines are dropped."""
    content: list[tuple[int, str]] = []
    sources: list[tuple[int, str]] = []
    in_sources = False
    for no, raw in enumerate(markdown.splitlines(), start=1):
        line = raw.strip()
        if line.startswith(">"):
            line = line.lstrip("> ").strip()
        if not line:
            continue
        if _is_bronnen_heading(line):
            in_sources = True
            continue
        if in_sources and (_BULLET_RE.match(line) or _SOURCE_LINE_RE.match(line) or extract_urls(line)):
            sources.append((no, line))
            continue
        in_sources = False
        if _is_source_line(line):
            sources.append((no, line))
        elif not _is_template_line(line):
            content.append((no, line))
    return content, sources


def split_sentences(markdown: str) -> list[AnswerSentence]:
    """The claim-making sentences of a Markdown answer (see the module docstring for what is skipped)."""
    out: list[AnswerSentence] = []
    for no, line in split_lines(markdown)[0]:
        bullet = bool(_BULLET_RE.match(line))
        body = _BULLET_RE.sub("", line, count=1)
        start = 0
        pieces: list[str] = []
        for m in _SENT_END_RE.finditer(body):
            pieces.append(body[start:m.end()])
            start = m.end()
        pieces.append(body[start:])
        # In a bullet, the markers at its end cite the whole bullet: its other sentences inherit them.
        inherited = tuple(citation_markers(body)) if bullet else ()
        for piece in pieces:
            piece = piece.strip()
            claim = _claim(piece)
            if not re.search(r"[^\W\d_]", claim) or claim.endswith(":"):
                continue
            own = tuple(citation_markers(piece))
            out.append(AnswerSentence(text=piece, citations=own or inherited, bullet=bullet, line=no))
    return out


# --- verbatim support ----------------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    text = "\n".join(_BULLET_RE.sub("", ln, count=1) for ln in text.splitlines())
    return " ".join(_strip_emphasis(text).split()).casefold()


def _claim(sentence: str) -> str:
    """A sentence without citation markers, bullet marker, emphasis and trailing punctuation."""
    s = _MARKER_RE.sub(" ", sentence)
    s = _BULLET_RE.sub("", s, count=1)
    s = _normalise(s)
    return s.strip(" \"'").rstrip(" ;,.").strip(" \"'")


def verbatim_supported(sentence: str, passages_texts: Iterable[str]) -> bool:
    """True when the sentence (normalised, markers stripped) occurs word for word in one of the passages."""
    claim = _claim(sentence)
    if not claim:
        return False
    return any(claim in _normalise(t) for t in passages_texts)


# --- lexical support -----------------------------------------------------------------------------

_STOPWORDS = GROUNDING_STOPWORDS


@lru_cache(maxsize=1)
def _synonym_canon() -> dict[str, str]:
    """Stem -> canonical stem for the synonym groups of corpus/synonyms.yaml."""
    from corpus.model import load_synonyms

    canon: dict[str, str] = {}
    for group in load_synonyms().groups:
        stems = [dutch_stemmer().stemWord(strip_accents(w)) for g in group for w in re.findall(r"[\w-]+", g)]
        for s in stems:
            canon.setdefault(s, stems[0])
    return canon


def content_stems(text: str) -> set[str]:
    """Content words of a text: folded, stop words removed, Dutch-stemmed, synonyms canonicalised."""
    text = _MARKER_RE.sub(" ", text.translate(_QUOTES)).casefold()
    words = [strip_accents(w) for w in re.findall(r"\w+", text)]
    words = [w for w in words if w not in _STOPWORDS and (len(w) > 2 or w.isdigit())]
    canon = _synonym_canon()
    return {canon.get(s, s) for s in dutch_stemmer().stemWords(words)}


def _covered(stem: str, passage: set[str]) -> bool:
    if stem in passage:
        return True
    if len(stem) < 5:
        return False
    # Compounds: 'oudercontact' is covered by 'ouder' + 'contact'; 'kinderarmoede' by 'armoede'.
    return any(len(p) >= 4 and (stem.startswith(p) or stem.endswith(p) or p.startswith(stem)) for p in passage)


def support_score(sentence: str, passage_text: str) -> float:
    """Share of the sentence's content words (stemmed) that the passage contains; 1.0 without content."""
    claim = content_stems(sentence)
    if not claim:
        return 1.0
    passage = content_stems(passage_text)
    return sum(_covered(s, passage) for s in claim) / len(claim)


# --- the answer check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentenceCheck:
    text: str
    citations: tuple[int, ...]
    bullet: bool
    supported: bool
    score: float  # verbatim: 1.0 / 0.0; lexical: best support score over the allowed passages
    reason: str = ""  # why it is unsupported


@dataclass
class GroundingReport:
    method: Method
    checked: bool  # False for declined answers (nothing to ground; only structure is checked)
    sentences: list[SentenceCheck] = field(default_factory=list)
    unknown_citations: list[int] = field(default_factory=list)  # [n] used but not in the citations
    citation_errors: list[str] = field(default_factory=list)  # a citation whose URL its passage does not carry
    source_list_errors: list[str] = field(default_factory=list)  # a Bronnen line whose URL is not its citation's
    images: list[str] = field(default_factory=list)
    foreign_urls: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def supported(self) -> int:
        return sum(s.supported for s in self.sentences)

    @property
    def total(self) -> int:
        return len(self.sentences)

    @property
    def share(self) -> float | None:
        """Share of claim sentences that are supported; None when nothing was checked."""
        return self.supported / self.total if self.checked and self.total else None

    @property
    def structural_ok(self) -> bool:
        return not (self.unknown_citations or self.citation_errors or self.source_list_errors or self.images
                    or self.foreign_urls or self.other)

    @property
    def ok(self) -> bool:
        return self.structural_ok and self.supported == self.total

    def problems(self) -> list[str]:
        out = [f"unsupported ({s.reason}): {s.text}" for s in self.sentences if not s.supported]
        out += [f"unknown citation [{n}]" for n in self.unknown_citations]
        out += self.citation_errors + self.source_list_errors + self.other
        out += [f"image: {i}" for i in self.images] + [f"foreign URL: {u}" for u in self.foreign_urls]
        return out

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(share=self.share, ok=self.ok, problems=self.problems())
        return d


def _passage_urls(p: Passage) -> set[str]:
    urls = {normalize_url(lk.url) for lk in p.links}
    if p.source_url:
        urls.add(normalize_url(p.source_url))
    return urls


def check_answer(answer: Answer, corpus_urls: Iterable[str], *, method: Method | None = None) -> GroundingReport:
    """Structural and sentence-level grounding checks of one answer.

    Every [n] must be a citation; every citation URL must be carried by the passage it names; a Bronnen
    line [n] must show citation n's URL; no Markdown image; no URL outside the corpus. For in-scope answers,
    every claim sentence must be supported: one with markers by a passage it cites (the named passage or
    any answer passage carrying the cited URL), one without markers by one of the answer's passages. The
    markers at the end of a bullet cite every sentence of that bullet.
    """
    method = method or ("verbatim" if answer.generator == "extractive" else "lexical")
    report = GroundingReport(method=method, checked=answer.in_scope)
    text = answer.answer + (f"\n\n{answer.more}" if answer.more else "")  # the folded part is checked too
    by_n = {c.n: c for c in answer.citations}
    if len(by_n) != len(answer.citations):
        report.other.append("duplicate citation numbers")
    by_id = {p.id: p for p in answer.passages}

    report.unknown_citations = sorted({n for n in citation_markers(text) if n not in by_n})
    for c in answer.citations:
        p = by_id.get(c.passage_id)
        if p is None:
            report.citation_errors.append(f"[{c.n}] cites passage {c.passage_id}, which is not among the passages")
        elif normalize_url(c.url) not in _passage_urls(p):
            report.citation_errors.append(f"[{c.n}] {c.url} is not a link of passage {p.item_id}")
    for _, line in split_lines(text)[1]:
        m = _SOURCE_LINE_RE.match(line)
        n = int(m.group(1) or m.group(2)) if m else None
        urls = {normalize_url(u) for u in extract_urls(line)}
        if n is not None and n in by_n and urls and normalize_url(by_n[n].url) not in urls:
            report.source_list_errors.append(f"Bronnen [{n}] shows {sorted(urls)} instead of {by_n[n].url}")
    report.images = IMAGE_RE.findall(text)
    report.foreign_urls = foreign_urls(text, [c.url for c in answer.citations], corpus_urls)
    if not answer.in_scope:
        if answer.citations:
            report.other.append("a declined answer cites sources")
        return report

    threshold = SUPPORT_THRESHOLD if method == "lexical" else 1.0
    for s in split_sentences(text):
        if s.citations:
            known = [by_n[n] for n in s.citations if n in by_n]
            allowed = [p for p in answer.passages
                       if any(p.id == c.passage_id or normalize_url(c.url) in _passage_urls(p) for c in known)]
            missing_reason = "unknown citation" if not known else "not in the cited passage"
        else:
            allowed = list(answer.passages)
            missing_reason = "not in any passage of the answer"
        texts = [p.text for p in allowed]
        if method == "verbatim":
            score = 1.0 if verbatim_supported(s.text, texts) else 0.0
        else:
            score = max((support_score(s.text, t) for t in texts), default=0.0)
        ok = bool(texts) and score >= threshold
        report.sentences.append(SentenceCheck(text=s.text, citations=s.citations, bullet=s.bullet, supported=ok,
                                              score=round(score, 4), reason="" if ok else missing_reason))
    return report
