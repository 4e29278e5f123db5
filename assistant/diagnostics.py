"""How an answer came about, typed: the index version, the query read from the conversation, the scope
decision, the theme scores, per-stage timings and, for the LLM generator, what the model did.

Evals and benchmarks read these fields; `to_json()` writes the dict the `meta` key of `ask --json` has
always held (same keys), so scripts that read the JSON keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.scope_types import ScopeDecision, ScopeFeatures

# Stage name -> milliseconds: the retrieval stages (`*_ms`), compose_ms and total_ms.
Timings = Mapping[str, float]


@dataclass(frozen=True)
class RetrievalDiagnostics:
    """What retrieval and the scope decision saw (set whenever a question reached the index)."""

    version: str  # the index version the answer was read from
    query: str  # the question as searched (a follow-up merged with the earlier question)
    scope: ScopeDecision
    scope_probability: float
    scope_features: ScopeFeatures  # of the question itself (not of its Dutch gloss)
    school_type: str | None  # the school type the retrieval filtered on
    theme_scores: Mapping[int, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "query": self.query, "scope": str(self.scope),
                "scope_probability": round(self.scope_probability, 4),
                "scope_features": self.scope_features.to_json(), "school_type": self.school_type,
                "theme_scores": {str(k): round(v, 5) for k, v in self.theme_scores.items()}}


@dataclass(frozen=True)
class LlmDiagnostics:
    """What the LLM generator did; `problems` is set when its answer was replaced by the extractive one."""

    provider: str
    model: str | None = None
    ms: float | None = None
    first_token_ms: float | None = None
    min_support: float | None = None  # lowest grounding support over the accepted answer's sentences
    extractive_citations: int | None = None
    problems: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """The legacy `llm_*` keys; a value that was never measured is left out (it was written as null)."""
        out: dict[str, Any] = {"llm_provider": self.provider, "llm_model": self.model, "llm_ms": self.ms,
                               "llm_first_token_ms": self.first_token_ms, "llm_min_support": self.min_support,
                               "extractive_citations": self.extractive_citations,
                               "llm_problems": None if self.problems is None else list(self.problems)}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Diagnostics:
    """All of it; empty for answers that never reached the index (invalid input, personal data, store error)."""

    retrieval: RetrievalDiagnostics | None = None
    timings: Timings = field(default_factory=dict)
    llm: LlmDiagnostics | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.retrieval is not None:
            out.update(self.retrieval.to_json())
        if self.retrieval is not None or self.timings:
            out["timings"] = dict(self.timings)
        if self.llm is not None:
            out.update(self.llm.to_json())
        return out
