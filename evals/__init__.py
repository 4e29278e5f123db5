"""Eval suite: golden questions, retrieval / citation / grounding metrics, runner, report and CI gate."""

from pathlib import Path

EVALS_DIR = Path(__file__).resolve().parent
GOLDEN_PATH = EVALS_DIR / "golden.yaml"
SUPPORT_PAIRS_PATH = EVALS_DIR / "support_pairs.yaml"
THRESHOLDS_PATH = EVALS_DIR / "thresholds.yaml"
REPORTS_DIR = EVALS_DIR / "reports"
