"""Grounding in the eval suite: the answer check itself lives in assistant.grounding (the LLM validator
uses it on the answer path); here is what only the evals need, the calibration of its lexical support
threshold on the hand-labelled pairs of evals/support_pairs.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

# Re-exported for the eval suite and its tests.
from assistant.grounding import SUPPORT_THRESHOLD as SUPPORT_THRESHOLD
from assistant.grounding import AnswerSentence as AnswerSentence
from assistant.grounding import GroundingReport as GroundingReport
from assistant.grounding import SentenceCheck as SentenceCheck
from assistant.grounding import check_answer as check_answer
from assistant.grounding import citation_markers as citation_markers
from assistant.grounding import content_stems as content_stems
from assistant.grounding import split_lines as split_lines
from assistant.grounding import split_sentences as split_sentences
from assistant.grounding import support_score as support_score
from assistant.grounding import verbatim_supported as verbatim_supported
from evals import SUPPORT_PAIRS_PATH


@dataclass(frozen=True)
class SupportPair:
    passage: str  # card item id
    sentence: str
    supported: bool


def load_support_pairs(path: Path = SUPPORT_PAIRS_PATH) -> list[SupportPair]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["pairs"]
    return [SupportPair(passage=p["passage"], sentence=p["sentence"], supported=bool(p["supported"])) for p in raw]


def calibrate_threshold(scored: Sequence[tuple[float, bool]]) -> float:
    """The threshold (score >= t means supported) with the best accuracy; ties: the middle candidate."""
    if not scored:
        raise ValueError("no pairs to calibrate on")
    values = sorted({s for s, _ in scored})
    candidates = [values[0]] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-9]
    best = max(threshold_accuracy(scored, t) for t in candidates)
    tied = [t for t in candidates if threshold_accuracy(scored, t) == best]
    return round(tied[len(tied) // 2], 4)


def threshold_accuracy(scored: Sequence[tuple[float, bool]], threshold: float) -> float:
    return sum((s >= threshold) == label for s, label in scored) / len(scored)


def score_pairs(pairs: Sequence[SupportPair]) -> list[tuple[float, bool]]:
    from corpus.model import load_card

    card = load_card()
    return [(support_score(p.sentence, card.by_id[p.passage].full_text), p.supported) for p in pairs]


@lru_cache(maxsize=1)
def support_threshold() -> float:
    """The lexical support threshold, calibrated on evals/support_pairs.yaml (assistant.grounding uses
    the same value as SUPPORT_THRESHOLD)."""
    return calibrate_threshold(score_pairs(load_support_pairs()))
