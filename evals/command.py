"""`praktijkkaart eval`: build the real assistant, print progress and a table, write the report, and
return a non-zero exit code when a gate fails."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals import GOLDEN_PATH, REPORTS_DIR
from evals.questions import load_golden
from evals.report import compare_to_baseline, render_table, write_report
from evals.runner import run_eval


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
    if generator is not None:
        settings = settings.with_changes(generation={"mode": generator})
    baseline_data: dict[str, Any] | None = None
    if baseline is not None:
        try:
            baseline_data = json.loads(Path(baseline).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"Kan het basisrapport {baseline} niet lezen: {exc}", file=sys.stderr)
            return 2
    try:
        from assistant.wiring import build_assistant

        assistant = build_assistant(settings)
    except Exception as exc:  # noqa: BLE001 - report any setup failure as a Dutch message
        print(f"De assistent kon niet starten ({type(exc).__name__}: {exc}). "
              "Heb je 'praktijkkaart ingest' al gedraaid?", file=sys.stderr)
        return 2
    golden = load_golden(golden_path)
    report = run_eval(assistant, golden, generator=settings.generation.mode,
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
