"""Pure metric functions of the eval suite (no I/O; unit-tested in tests/test_eval_metrics.py).

Ranking metrics work on a ranked list of *keys* (theme numbers or card item ids, one per retrieved
passage) and a set of relevant keys. A key counts once: the second passage of an already-seen theme
adds nothing, so hit@k, MRR and nDCG@k agree on what "relevant" means.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

# Re-exported: the evals read these from here; they live below the answer path that uses them too.
from assistant.text import is_dutch as is_dutch
from assistant.types import Passage
from assistant.urls import extract_urls as extract_urls
from assistant.urls import foreign_urls as foreign_urls
from assistant.urls import normalize_url as normalize_url

K = TypeVar("K", bound=Hashable)

# --- retrieval ------------------------------------------------------------------------------------


def passage_theme(p: Passage) -> int | None:
    """The theme a passage counts for: its own, or for a linked-resource chunk its parent item's."""
    return p.theme if p.theme is not None else p.parent_theme


def passage_item(p: Passage) -> str:
    """The card item a passage counts for: its own id, or for a linked-resource chunk its parent item."""
    if p.theme is None and p.parent_item_id:
        return p.parent_item_id
    return p.item_id


def ranked_themes(passages: Sequence[Passage]) -> list[int | None]:
    return [passage_theme(p) for p in passages]


def ranked_items(passages: Sequence[Passage]) -> list[str]:
    return [passage_item(p) for p in passages]


def _first_relevant_rank(ranked: Sequence[K | None], relevant: Collection[K]) -> int | None:
    """1-based rank of the first relevant key, or None."""
    for rank, key in enumerate(ranked, start=1):
        if key is not None and key in relevant:
            return rank
    return None


def hit_at_k(ranked: Sequence[K | None], relevant: Collection[K], k: int) -> float:
    """1.0 when any of the top-k keys is relevant, else 0.0."""
    if k < 1:
        raise ValueError("k must be >= 1")
    rank = _first_relevant_rank(ranked, relevant)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(ranked: Sequence[K | None], relevant: Collection[K]) -> float:
    rank = _first_relevant_rank(ranked, relevant)
    return 0.0 if rank is None else 1.0 / rank


def mrr(rankings: Sequence[Sequence[K | None]], relevant: Sequence[Collection[K]]) -> float:
    """Mean reciprocal rank over several questions."""
    if len(rankings) != len(relevant):
        raise ValueError("one relevant set per ranking")
    if not rankings:
        raise ValueError("mrr of no rankings")
    return sum(reciprocal_rank(r, rel) for r, rel in zip(rankings, relevant)) / len(rankings)


def ndcg_at_k(ranked: Sequence[K | None], relevant: Collection[K], k: int) -> float:
    """Binary-relevance nDCG@k; each relevant key is rewarded once (at its first position)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    if not relevant:
        raise ValueError("nDCG needs at least one relevant key")
    seen: set[K] = set()
    dcg = 0.0
    for i, key in enumerate(ranked[:k]):
        if key is not None and key in relevant and key not in seen:
            seen.add(key)
            dcg += 1.0 / math.log2(i + 2)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(set(relevant)))))
    return dcg / ideal


# --- URLs and citations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CitedLink:
    """One citation of an answer: its URL and the links of the passage it says it comes from."""

    url: str
    passage_urls: frozenset[str] = frozenset()


def citation_precision(cited: Sequence[CitedLink], expected_links: Collection[str]) -> float | None:
    """Share of citations whose URL is expected or is a link of the passage it cites; None if nothing cited."""
    if not cited:
        return None
    expected = {normalize_url(u) for u in expected_links}
    good = 0
    for c in cited:
        url = normalize_url(c.url)
        if url in expected or url in {normalize_url(u) for u in c.passage_urls}:
            good += 1
    return good / len(cited)


def citation_recall(cited_urls: Collection[str], expected_links: Collection[str]) -> float | None:
    """Share of expected links that are cited; None when nothing is expected."""
    expected = {normalize_url(u) for u in expected_links}
    if not expected:
        return None
    cited = {normalize_url(u) for u in cited_urls}
    return len(expected & cited) / len(expected)


def link_hit(cited_urls: Collection[str], expected_links: Collection[str]) -> float | None:
    """1.0 when at least one expected link is cited; None when nothing is expected."""
    recall = citation_recall(cited_urls, expected_links)
    return None if recall is None else float(recall > 0)


def link_in_first(cited_in_order: Sequence[str], expected_links: Collection[str], n: int = 2) -> float | None:
    """1.0 when an expected link is among the first `n` citations of the short answer; None when nothing
    is expected (the reader meets [1] and [2] first: the right resource should be one of them)."""
    expected = {normalize_url(u) for u in expected_links}
    if not expected:
        return None
    return float(any(normalize_url(u) in expected for u in cited_in_order[:n]))


_SOURCES_HEADING_RE = re.compile(r"^\s*#{1,6}\s*bronnen\s*$", re.IGNORECASE | re.MULTILINE)
_MARKERS_RE = re.compile(r"\[\d+\]")


def visible_words(answer_markdown: str) -> int:
    """Words of the short answer before its sources (citation markers and Markdown marks not counted)."""
    head = _SOURCES_HEADING_RE.split(answer_markdown, maxsplit=1)[0]
    head = _MARKERS_RE.sub(" ", head)
    return len([w for w in re.split(r"\s+", head) if re.search(r"\w", w)])


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50) if values else None


# --- declines ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclineScores:
    """Declining is the positive class: an out-of-scope question that is declined is a true positive."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def accuracy(self) -> float | None:
        total = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / total if total else None


def decline_scores(expected_in_scope: Sequence[bool], answered_in_scope: Sequence[bool]) -> DeclineScores:
    if len(expected_in_scope) != len(answered_in_scope):
        raise ValueError("one prediction per question")
    tp = fp = fn = tn = 0
    for expected, answered in zip(expected_in_scope, answered_in_scope):
        should_decline, declined = not expected, not answered
        if should_decline and declined:
            tp += 1
        elif declined:
            fp += 1
        elif should_decline:
            fn += 1
        else:
            tn += 1
    return DeclineScores(tp=tp, fp=fp, fn=fn, tn=tn)


# --- latency -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (as numpy's default), q in [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int | None]:
    if not values_ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 1),
        "p95_ms": round(percentile(values_ms, 95), 1),
        "mean_ms": round(sum(values_ms) / len(values_ms), 1),
        "max_ms": round(max(values_ms), 1),
    }


# --- aggregation -------------------------------------------------------------------------------------


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the defined values (None = not applicable); None when none is defined."""
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def aggregate(records: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> dict[str, float | None]:
    """Per metric, the mean over the records where it is defined."""
    return {m: mean(r.get(m) for r in records) for m in metrics}


def group_records(records: Sequence[Mapping[str, Any]],
                  keys: Callable[[Mapping[str, Any]], Iterable[Hashable]]) -> dict[Hashable, list[Mapping[str, Any]]]:
    """Group records; a record may belong to several groups (e.g. a question with two themes)."""
    groups: dict[Hashable, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        for key in keys(r):
            groups[key].append(r)
    return dict(groups)


def aggregate_by(records: Sequence[Mapping[str, Any]], keys: Callable[[Mapping[str, Any]], Iterable[Hashable]],
                 metrics: Sequence[str]) -> dict[Hashable, dict[str, float | int | None]]:
    return {k: {"n": len(rs), **aggregate(rs, metrics)} for k, rs in group_records(records, keys).items()}
