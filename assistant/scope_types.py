"""The scope decision's value types, apart from the model that computes them, so the answer's typed
diagnostics (assistant/diagnostics.py, read by assistant/types.py) can name them without importing the
scope model and, through it, the index (an import cycle)."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from enum import StrEnum

import numpy as np


class ScopeDecision(StrEnum):
    ANSWER = "answer"
    NOT_COVERED = "not_covered"  # outside the card, but a related part exists
    DECLINE = "decline"


@dataclass(frozen=True)
class ScopeFeatures:
    dense_in: float  # best cosine to a card item or one of its asked-as questions
    dense_off: float  # best cosine to a question of the off-topic bank
    margin: float  # mean of the 5 best in-scope cosines minus that of the 5 best off-topic ones
    knn_in: float  # share of in-scope records among the 10 nearest (in-scope and off-topic together)
    coverage: float  # IDF-weighted share of the question's words that the card side knows
    off_vocab: float  # share of the question's content words that only the off-topic bank uses
    keyword: float  # log(1 + best BM25 score over card items and asked-as questions)
    english: float  # 1.0 for an English question
    frames: float = 0.0  # how many kinds of request the card never serves it makes (rule, amount, product, ...)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def vector(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)

    def to_json(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in zip(self.names(), astuple(self))}
