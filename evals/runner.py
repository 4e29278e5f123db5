"""Run the golden set through an assistant and compute every metric, overall, per category and per theme.

`run_eval` works with anything that has `.answer(question, history) -> Answer`; the question sets and
gates are in evals.questions, the `praktijkkaart eval` command in evals.command.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from assistant.types import Answer, Turn
from corpus.model import Card, load_card
from evals.grounding import check_answer
from evals.metrics import (
    CitedLink,
    aggregate,
    citation_precision,
    citation_recall,
    decline_scores,
    hit_at_k,
    is_dutch,
    latency_summary,
    link_hit,
    link_in_first,
    median,
    ndcg_at_k,
    ranked_items,
    ranked_themes,
    reciprocal_rank,
    visible_words,
)
from evals.questions import CATEGORIES as CATEGORIES
from evals.questions import OUT_OF_SCOPE_CATEGORIES as OUT_OF_SCOPE_CATEGORIES
from evals.questions import Gate as Gate
from evals.questions import GoldenQuestion as GoldenQuestion
from evals.questions import check_gates as check_gates
from evals.questions import load_golden as load_golden
from evals.questions import load_thresholds as load_thresholds
from evals.questions import parse_golden as parse_golden

RETRIEVAL_METRICS = ("theme_hit_at_1", "theme_hit_at_3", "theme_hit_at_5", "passage_hit_at_1", "passage_hit_at_3",
                     "passage_hit_at_5", "mrr_theme", "mrr_passage", "ndcg_at_5_theme", "ndcg_at_5_passage")
MEAN_METRICS = RETRIEVAL_METRICS + ("link_recall", "link_recall_visible", "link_hit", "link_in_first_two",
                                    "citation_precision", "grounded_answers", "dutch")


class AnswersQuestions(Protocol):
    def answer(self, question: str, history: Sequence[Turn] | None = None) -> Answer: ...


def score_question(q: GoldenQuestion, answer: Answer, latency_ms: float, corpus_urls: set[str]) -> dict[str, Any]:
    """All per-question metrics as a flat JSON-ready record (None = not applicable)."""
    themes = ranked_themes(answer.passages)
    items = ranked_items(answer.passages)
    rec: dict[str, Any] = {
        "id": q.id, "category": q.category, "question": q.question, "themes": list(q.themes),
        "expected_in_scope": q.in_scope, "answered_in_scope": answer.in_scope, "status": answer.status,
        "generator": answer.generator, "error": None, "latency_ms": round(latency_ms, 1),
        # No answer has carried a scope score since the calibrated scope model replaced it (the old meta
        # keys were read, always absent): both stay None until the scope plot reads the probability.
        "scope_score": None, "decline_threshold": None,
        "top_passages": items[:5], "cited_urls": [c.url for c in answer.citations],
    }
    rec["decline_correct"] = answer.in_scope == q.in_scope
    for m in RETRIEVAL_METRICS:
        rec[m] = None
    if q.in_scope:
        rel_themes, rel_items = set(q.themes), set(q.passages)
        for k in (1, 3, 5):
            rec[f"theme_hit_at_{k}"] = hit_at_k(themes, rel_themes, k)
            rec[f"passage_hit_at_{k}"] = hit_at_k(items, rel_items, k)
        rec["mrr_theme"] = reciprocal_rank(themes, rel_themes)
        rec["mrr_passage"] = reciprocal_rank(items, rel_items)
        rec["ndcg_at_5_theme"] = ndcg_at_k(themes, rel_themes, 5)
        rec["ndcg_at_5_passage"] = ndcg_at_k(items, rel_items, 5)
    by_id = {p.id: p for p in answer.passages}
    cited = [CitedLink(c.url, frozenset(_passage_link_urls(by_id.get(c.passage_id)))) for c in answer.citations]
    rec["citation_precision"] = citation_precision(cited, q.links)
    rec["link_recall"] = citation_recall(rec["cited_urls"], q.links) if q.in_scope else None
    rec["link_hit"] = link_hit(rec["cited_urls"], q.links) if q.in_scope else None
    visible = [c.url for c in sorted(answer.citations, key=lambda c: c.n) if not c.folded]
    rec["link_recall_visible"] = citation_recall(visible, q.links) if q.in_scope else None
    rec["link_in_first_two"] = link_in_first(visible, q.links, 2) if q.in_scope else None
    rec["visible_words"] = visible_words(answer.answer) if answer.in_scope else None
    report = check_answer(answer, corpus_urls)
    rec["foreign_urls"] = report.foreign_urls
    rec["sentences_supported"] = report.supported if report.checked else 0
    rec["sentences_total"] = report.total if report.checked else 0
    rec["grounding"] = report.share
    rec["grounded_answers"] = report.ok
    rec["grounding_method"] = report.method
    rec["grounding_problems"] = report.problems()
    rec["dutch"] = is_dutch(answer.answer)
    return rec


def error_record(q: GoldenQuestion, exc: BaseException, latency_ms: float) -> dict[str, Any]:
    """A question whose answer raised: it fails every applicable metric."""
    rec: dict[str, Any] = {
        "id": q.id, "category": q.category, "question": q.question, "themes": list(q.themes),
        "expected_in_scope": q.in_scope, "answered_in_scope": None, "status": "error", "generator": None,
        "error": f"{type(exc).__name__}: {exc}", "latency_ms": round(latency_ms, 1), "scope_score": None,
        "decline_threshold": None, "top_passages": [], "cited_urls": [], "decline_correct": False,
        "citation_precision": None, "foreign_urls": [], "sentences_supported": 0, "sentences_total": 0,
        "grounding": None, "grounded_answers": False, "grounding_method": None, "grounding_problems": [],
        "dutch": False,
    }
    for m in RETRIEVAL_METRICS:
        rec[m] = 0.0 if q.in_scope else None
    rec["link_recall"] = 0.0 if q.in_scope and q.links else None
    rec["link_hit"] = rec["link_recall_visible"] = rec["link_in_first_two"] = rec["link_recall"]
    rec["visible_words"] = None
    return rec


def _passage_link_urls(p: Any) -> list[str]:
    if p is None:
        return []
    urls = [lk.url for lk in p.links]
    return urls + [p.source_url] if p.source_url else urls


# --- summaries ---------------------------------------------------------------------------------------


def summarize(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics over a set of question records (overall, one category or one theme)."""
    in_scope = [r for r in records if r["expected_in_scope"]]
    out: dict[str, Any] = {"n": len(records), "n_in_scope": len(in_scope), "n_out_of_scope": len(records) - len(in_scope)}
    out.update(aggregate(records, MEAN_METRICS))
    total = sum(r["sentences_total"] for r in records)
    out["grounding"] = sum(r["sentences_supported"] for r in records) / total if total else None
    # An answer that raised counts as the wrong decision either way.
    answered = [r["answered_in_scope"] if r["answered_in_scope"] is not None else not r["expected_in_scope"]
                for r in records]
    d = decline_scores([r["expected_in_scope"] for r in records], answered)
    out.update(decline_precision=d.precision, decline_recall=d.recall, decline_accuracy=d.accuracy)
    n_in, n_out = d.fp + d.tn, d.tp + d.fn
    out["in_scope_declined"] = d.fp / n_in if n_in else None  # in-scope questions the assistant declined
    out["off_topic_declined"] = d.tp / n_out if n_out else None  # out-of-scope questions it declined
    out["visible_words_median"] = median([r["visible_words"] for r in records if r.get("visible_words") is not None])
    out["foreign_urls"] = sum(len(r["foreign_urls"]) for r in records)
    out["errors"] = sum(r["error"] is not None for r in records)
    return out


@dataclass
class EvalReport:
    created_at: str
    generator: str | None
    overall: dict[str, Any]
    per_category: dict[str, dict[str, Any]]
    per_theme: dict[str, dict[str, Any]]
    latency: dict[str, Any]
    questions: list[dict[str, Any]]
    gates: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] | None = None  # {"path": ..., "deltas": [...]} once compared

    @property
    def passed(self) -> bool:
        return all(g["passed"] for g in self.gates)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"passed": self.passed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalReport:
        fields = {k: data[k] for k in ("created_at", "generator", "overall", "per_category", "per_theme",
                                       "latency", "questions")}
        return cls(**fields, gates=list(data.get("gates", [])), baseline=data.get("baseline"))


Progress = Callable[[int, int, dict[str, Any]], None]


def run_eval(assistant: AnswersQuestions, golden: Sequence[GoldenQuestion], *, generator: str | None = None,
             progress: Progress | None = None, gates: Sequence[Gate] | None = None,
             card: Card | None = None) -> EvalReport:
    """Ask every golden question, score it, and summarise overall / per category / per theme.

    `generator` labels the run and selects which gates apply; by default it is the generator most answers
    report. `gates` default to evals/thresholds.yaml.
    """
    card = card or load_card()
    corpus_urls = {lk.url for lk in card.links}
    records: list[dict[str, Any]] = []
    for i, q in enumerate(golden, start=1):
        history = Turn.coerce(q.history) or None
        start = time.perf_counter()
        try:
            answer = assistant.answer(q.question, history=history)
        except Exception as exc:  # noqa: BLE001 - one failing question must not stop the eval
            rec = error_record(q, exc, (time.perf_counter() - start) * 1000)
        else:
            rec = score_question(q, answer, (time.perf_counter() - start) * 1000, corpus_urls)
        records.append(rec)
        if progress:
            progress(i, len(golden), rec)
    if generator is None:
        counts = Counter(r["generator"] for r in records if r["generator"])
        generator = counts.most_common(1)[0][0] if counts else None
    per_category = {c: summarize([r for r in records if r["category"] == c])
                    for c in CATEGORIES if any(r["category"] == c for r in records)}
    theme_ids = sorted({t for r in records for t in r["themes"]})
    per_theme = {str(t): summarize([r for r in records if t in r["themes"]]) for t in theme_ids}
    overall = summarize(records)
    report = EvalReport(
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), generator=generator, overall=overall,
        per_category=per_category, per_theme=per_theme,
        latency=latency_summary([r["latency_ms"] for r in records]), questions=records,
    )
    report.gates = check_gates(overall, load_thresholds() if gates is None else gates, generator)
    return report


