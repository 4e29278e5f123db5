"""Does the card speak to this question? A calibrated decision from several signals together.

Signals (`ScopeFeatures`): the nearest card item or asked-as question against the nearest question of the
off-topic bank (corpus/offtopic.yaml), their top-5 margin, the in-scope share of the 10 nearest
neighbours, how much of the question's rare words the card side's vocabulary covers, how much only the
off-topic bank uses, the best keyword score, whether the question is English, and what kind of thing it asks
for (a rule, an amount, a product, a diagnosis, a text: assistant/request_frames.py). A logistic regression
over these (weights, standardisation and thresholds fitted by `praktijkkaart scope-fit` on development
questions, stored per embedder in corpus/scope_model.json) gives P(in scope). Three outcomes:
answer; "the card does not cover this, but something related is in it"; decline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.request_frames import request_frames
from assistant.scope_types import ScopeDecision as ScopeDecision
from assistant.scope_types import ScopeFeatures as ScopeFeatures
from praktijkkaart.settings import ScopeSettings

if TYPE_CHECKING:
    from assistant.index import IndexSnapshot

MODEL_FILE = "scope_model.json"
KNN = 10  # part of the feature definition the scope model is fitted on: changing it means a refit


def _mean_top(values: np.ndarray, k: int) -> float:
    if not len(values):
        return 0.0
    k = min(k, len(values))
    return float(np.mean(np.partition(values, len(values) - k)[-k:]))


def features_from(in_sims: np.ndarray, off_sims: np.ndarray, *, coverage: float, off_vocab: float,
                  keyword_max: float, english: bool, frames: int = 0) -> ScopeFeatures:
    """Pure: the features from the question's cosines to the in-scope and the off-topic records (the fitter
    calls this with a question's own fold of the off-topic bank left out)."""
    dense_in = float(in_sims.max()) if len(in_sims) else 0.0
    dense_off = float(off_sims.max()) if len(off_sims) else 0.0
    both = np.concatenate([in_sims, off_sims])
    k = min(KNN, len(both))
    if k:
        nearest = np.argpartition(-both, k - 1)[:k]
        knn_in = float(np.mean(nearest < len(in_sims)))
    else:
        knn_in = 0.0
    return ScopeFeatures(dense_in=dense_in, dense_off=dense_off,
                         margin=_mean_top(in_sims, 5) - _mean_top(off_sims, 5), knn_in=knn_in,
                         coverage=coverage, off_vocab=off_vocab, keyword=math.log1p(max(0.0, keyword_max)),
                         english=1.0 if english else 0.0, frames=float(frames))


def in_scope_sims(snapshot: IndexSnapshot, vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of a question to every in-scope record (card items, then asked-as) and off-topic record."""
    parts = [snapshot.card_vectors @ vec if len(snapshot.card_rows) else np.zeros(0)]
    if len(snapshot.asked):
        parts.append(snapshot.asked_vectors @ vec)
    off = snapshot.offtopic_vectors @ vec if len(snapshot.offtopic_texts) else np.zeros(0)
    return np.concatenate(parts).astype(np.float64), np.asarray(off, dtype=np.float64)


def off_vocab_share(snapshot: IndexSnapshot, query: str) -> float:
    from assistant.text import stem, words

    stems = [stem(w) for w in words(query)]
    return sum(s in snapshot.offtopic_vocab for s in stems) / len(stems) if stems else 0.0


def scope_features(snapshot: IndexSnapshot, query: str, vec: np.ndarray, *, english: bool,
                   keyword_max: float) -> ScopeFeatures:
    in_sims, off_sims = in_scope_sims(snapshot, vec)
    return features_from(in_sims, off_sims, coverage=snapshot.analyzer.overlap(query),
                         off_vocab=off_vocab_share(snapshot, query), keyword_max=keyword_max, english=english,
                         frames=request_frames(query))


@dataclass(frozen=True)
class ScopeModel:
    """Logistic regression on standardised features, with two probability thresholds."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    answer_threshold: float  # P(in scope) at or above: answer
    related_threshold: float  # below answer, at or above this: "not covered, but related"

    def probability(self, f: ScopeFeatures) -> float:
        if tuple(self.features) != ScopeFeatures.names():
            raise ValueError("scope model was fitted on other features; run `praktijkkaart scope-fit`")
        z = (f.vector() - np.array(self.mean)) / np.array(self.scale)
        return float(1.0 / (1.0 + math.exp(-float(z @ np.array(self.weights) + self.bias))))

    def to_json(self) -> dict[str, object]:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias, "answer_threshold": self.answer_threshold,
                "related_threshold": self.related_threshold}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> ScopeModel:
        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(x) for x in d[key])  # type: ignore[attr-defined]

        return cls(features=tuple(str(x) for x in d["features"]), mean=floats("mean"),  # type: ignore[attr-defined]
                   scale=floats("scale"), weights=floats("weights"), bias=float(d["bias"]),  # type: ignore[arg-type]
                   answer_threshold=float(d["answer_threshold"]),  # type: ignore[arg-type]
                   related_threshold=float(d["related_threshold"]))  # type: ignore[arg-type]


def load_scope_model(corpus_dir: Path, fingerprint: str) -> ScopeModel | None:
    """The fitted model for this embedder, or None (then `nearest_neighbour_probability` decides)."""
    path = corpus_dir / MODEL_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    entry = (data.get("models") or {}).get(fingerprint)
    return ScopeModel.from_json(entry["model"]) if entry else None


def nearest_neighbour_probability(f: ScopeFeatures) -> float:
    """Without a fitted model (another embedder): the neighbours vote, nudged by the vocabulary signals."""
    return float(np.clip(0.5 * f.knn_in + 0.5 * (f.dense_in > f.dense_off) + 0.2 * (f.coverage - f.off_vocab),
                         0.0, 1.0))


@dataclass(frozen=True)
class Scope:
    decision: ScopeDecision
    probability: float
    features: ScopeFeatures


def decide_best(candidates: Sequence[ScopeFeatures | None], model: ScopeModel | None,
                fallback: ScopeSettings) -> Scope:
    """The most in-scope reading: the question itself, an English question also through its Dutch gloss (E5
    scores English against Dutch text lower; on the off-topic bank's English questions the second look
    changed nothing), a situation sketch also by its asking sentence (assistant/retrieval.py)."""
    scopes = [decide(f, model, fallback) for f in candidates if f is not None]
    return max(scopes, key=lambda s: s.probability)


def decide(f: ScopeFeatures, model: ScopeModel | None, fallback: ScopeSettings) -> Scope:
    if model is None:
        p = nearest_neighbour_probability(f)
        answer_t, related_t = fallback.fallback_answer_threshold, fallback.fallback_related_threshold
    else:
        p = model.probability(f)
        answer_t, related_t = model.answer_threshold, model.related_threshold
    if p >= answer_t:
        decision = ScopeDecision.ANSWER
    elif p >= related_t:
        decision = ScopeDecision.NOT_COVERED
    else:
        decision = ScopeDecision.DECLINE
    return Scope(decision, p, f)
