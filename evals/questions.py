"""The question sets and their gates: golden.yaml and the held-out sets, thresholds.yaml."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from corpus.model import Card, load_card
from evals import GOLDEN_PATH, THRESHOLDS_PATH

CATEGORIES = ("plain", "paraphrase", "abbreviation_typo", "long_story", "role", "english", "followup", "general",
              "out_of_scope", "near_domain")
OUT_OF_SCOPE_CATEGORIES = frozenset({"out_of_scope", "near_domain"})  # the assistant must decline these


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
