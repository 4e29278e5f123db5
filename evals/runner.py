"""Run the golden set through an assistant and compute every metric, overall, per category and per theme.

`run_eval` works with anything that has `.answer(question, history) -> Answer`; `eval_command` is the
`praktijkkaart eval` entry point (builds the real assistant, prints progress and a table, writes the report,
returns a non-zero exit code when a gate fails).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

from assistant.types import Answer
from corpus.model import Card, load_card
from evals import GOLDEN_PATH, REPORTS_DIR, THRESHOLDS_PATH
from evals.grounding import check_answer
from evals.metrics import (
    visible_words,
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
)

CATEGORIES = ("plain", "paraphrase", "abbreviation_typo", "long_story", "role", "english", "followup", "general",
              "out_of_scope", "near_domain")
OUT_OF_SCOPE_CATEGORIES = frozenset({"out_of_scope", "near_domain"})  # the assistant must decline these
RETRIEVAL_METRICS = ("theme_hit_at_1", "theme_hit_at_3", "theme_hit_at_5", "passage_hit_at_1", "passage_hit_at_3",
                     "passage_hit_at_5", "mrr_theme", "mrr_passage", "ndcg_at_5_theme", "ndcg_at_5_passage")
MEAN_METRICS = RETRIEVAL_METRICS + ("link_recall", "link_recall_visible", "link_hit", "link_in_first_two",
                                    "citation_precision", "grounded_answers", "dutch")


# --- golden set ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenQuestion:
    id: str
    question: str
    category: str
    themes: tuple[int, ...]
    passages: tuple[str, ...]
    links: tuple[str, ...]
    in_scope: bool
    history: tuple[dict[str, str], ...] = ()


def parse_golden(raw: Sequence[Mapping[str, Any]], card: Card) -> list[GoldenQuestion]:
    """Validate the golden entries against the card; raises ValueError with every problem found."""
    errors: list[str] = []
    out: list[GoldenQuestion] = []
    seen: set[str] = set()
    for e in raw:
        q = GoldenQuestion(
            id=str(e["id"]), question=str(e["question"]).strip(), category=str(e["category"]),
            themes=tuple(int(t) for t in e.get("themes", [])), passages=tuple(e.get("passages", [])),
            links=tuple(e.get("links", [])), in_scope=bool(e["in_scope"]),
            history=tuple({"role": str(h["role"]), "content": str(h["content"])} for h in e.get("history") or []),
        )
        where = f"{q.id}:"
        if q.id in seen:
            errors.append(f"{where} duplicate id")
        seen.add(q.id)
        if q.category not in CATEGORIES:
            errors.append(f"{where} unknown category {q.category!r}")
        if not q.question:
            errors.append(f"{where} empty question")
        if (q.category in OUT_OF_SCOPE_CATEGORIES) == q.in_scope:
            errors.append(f"{where} in_scope must be false exactly for out_of_scope and near_domain")
        if q.in_scope and (not q.themes or not q.passages):
            errors.append(f"{where} an in-scope question needs themes and passages")
        if not q.in_scope and (q.themes or q.passages or q.links):
            errors.append(f"{where} an out-of-scope question expects no themes, passages or links")
        if (q.category == "followup") != bool(q.history):
            errors.append(f"{where} history is required for followup and only for followup")
        if any(h["role"] not in ("user", "assistant") for h in q.history):
            errors.append(f"{where} history roles must be user or assistant")
        for t in q.themes:
            if not 0 <= t <= len(card.themes):
                errors.append(f"{where} unknown theme {t}")
        for pid in q.passages:
            item = card.by_id.get(pid)
            if item is None:
                errors.append(f"{where} unknown passage {pid}")
            elif item.theme not in q.themes:
                errors.append(f"{where} passage {pid} is theme {item.theme}, not in {list(q.themes)}")
        carried = {lk.url for pid in q.passages if pid in card.by_id for lk in card.by_id[pid].links}
        for url in q.links:
            if url not in card.link_by_url:
                errors.append(f"{where} link not in links.yaml: {url}")
            elif url not in carried:
                errors.append(f"{where} link {url} is not carried by any expected passage")
        out.append(q)
    if errors:
        raise ValueError("invalid golden set:\n" + "\n".join(errors))
    return out


def load_golden(path: Path = GOLDEN_PATH, card: Card | None = None) -> list[GoldenQuestion]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return parse_golden(raw, card or load_card())


# --- thresholds and gates --------------------------------------------------------------------------

Op = Literal[">=", "<=", "=="]


@dataclass(frozen=True)
class Gate:
    metric: str
    op: Op
    value: float
    generators: tuple[str, ...] = ()  # empty: applies to every generator

    def applies(self, generator: str | None) -> bool:
        return not self.generators or generator in self.generators

    def passes(self, actual: float | None) -> bool:
        if actual is None:
            return False
        if self.op == ">=":
            return actual >= self.value - 1e-12
        if self.op == "<=":
            return actual <= self.value + 1e-12
        return abs(actual - self.value) <= 1e-9


def load_thresholds(path: Path = THRESHOLDS_PATH) -> list[Gate]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["gates"]
    gates = []
    for metric, spec in raw.items():
        op, value = str(spec["op"]), float(spec["value"])
        if op not in (">=", "<=", "=="):
            raise ValueError(f"{metric}: unknown operator {op!r}")
        gates.append(Gate(metric=metric, op=op, value=value, generators=tuple(spec.get("generators", []))))  # type: ignore[arg-type]
    return gates


def check_gates(overall: Mapping[str, Any], gates: Sequence[Gate], generator: str | None) -> list[dict[str, Any]]:
    out = []
    for g in gates:
        if not g.applies(generator):
            continue
        actual = overall.get(g.metric)
        out.append({"metric": g.metric, "op": g.op, "threshold": g.value, "value": actual,
                    "passed": g.passes(actual)})
    return out


# --- one question ----------------------------------------------------------------------------------


class AnswersQuestions(Protocol):
    def answer(self, question: str, history: list[dict[str, str]] | None = None) -> Answer: ...


def score_question(q: GoldenQuestion, answer: Answer, latency_ms: float, corpus_urls: set[str]) -> dict[str, Any]:
    """All per-question metrics as a flat JSON-ready record (None = not applicable)."""
    themes = ranked_themes(answer.passages)
    items = ranked_items(answer.passages)
    rec: dict[str, Any] = {
        "id": q.id, "category": q.category, "question": q.question, "themes": list(q.themes),
        "expected_in_scope": q.in_scope, "answered_in_scope": answer.in_scope, "status": answer.status,
        "generator": answer.generator, "error": None, "latency_ms": round(latency_ms, 1),
        "scope_score": _num(answer.meta.get("scope_score")),
        "decline_threshold": _num(answer.meta.get("decline_threshold")),
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


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


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
        history = [dict(h) for h in q.history] or None
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


# --- the CLI command ---------------------------------------------------------------------------------


def _progress_line(i: int, n: int, rec: Mapping[str, Any]) -> None:
    if rec["error"]:
        verdict = f"FOUT {rec['error']}"
    elif not rec["expected_in_scope"]:
        verdict = "afgewezen" if rec["decline_correct"] else "NIET afgewezen"
    else:
        verdict = f"thema@3={'ja' if rec['theme_hit_at_3'] else 'NEE'}"
        if rec["link_recall"] is not None:
            verdict += f" links={rec['link_recall']:.2f}"
        if rec["grounded_answers"] is False:
            verdict += " ONGEGROND"
    print(f"[{i:>3}/{n}] {rec['id']} {rec['category']:<17} {verdict} ({rec['latency_ms']:.0f} ms)",
          file=sys.stderr, flush=True)


def eval_command(settings: Any, *, as_json: bool = False, baseline: str | Path | None = None,
                 generator: str | None = None, reports_dir: Path = REPORTS_DIR,
                 golden_path: Path = GOLDEN_PATH) -> int:
    """`praktijkkaart eval`: 0 when every gate passes, 1 when one fails, 2 when the eval cannot run."""
    from evals.report import compare_to_baseline, render_table, write_report

    if generator is not None:
        settings = settings.model_copy(update={"generator": generator})
    baseline_data: dict[str, Any] | None = None
    if baseline is not None:
        try:
            baseline_data = json.loads(Path(baseline).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"Kan het basisrapport {baseline} niet lezen: {exc}", file=sys.stderr)
            return 2
    try:
        from assistant.core import Assistant

        assistant = Assistant(settings)
    except Exception as exc:  # noqa: BLE001 - report any setup failure as a Dutch message
        print(f"De assistent kon niet starten ({type(exc).__name__}: {exc}). "
              "Heb je 'praktijkkaart ingest' al gedraaid?", file=sys.stderr)
        return 2
    golden = load_golden(golden_path)
    report = run_eval(assistant, golden, generator=generator or getattr(settings, "generator", None),
                      progress=_progress_line)
    if baseline_data is not None:
        report.baseline = {"path": str(baseline), "deltas": compare_to_baseline(report.overall, baseline_data)}
    # Another question set (e.g. the hold-out set) reports into its own folder, so the app's Evaluatie page
    # keeps showing the golden set's latest report.
    out_dir = reports_dir if Path(golden_path) == GOLDEN_PATH else reports_dir / Path(golden_path).stem
    paths = write_report(report, out_dir)
    if as_json:
        print(json.dumps(report.to_json() | {"files": {k: str(v) for k, v in paths.items()}},
                         ensure_ascii=False, indent=2))
    else:
        print(render_table(report))
        print(f"\nRapport: {paths['json']}")
    return 0 if report.passed else 1
