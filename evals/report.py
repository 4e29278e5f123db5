"""Write an eval report: JSON, a Markdown summary, PNG plots, and the change against a baseline report."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from evals.runner import EvalReport

LOWER_IS_BETTER = frozenset({"foreign_urls", "errors", "in_scope_declined", "visible_words_median"})
THEME_LABELS = {"0": "Algemeen", "1": "1 Welbevinden", "2": "2 Samenwerking", "3": "3 Interventies",
                "4": "4 Overgangen", "5": "5 Dagelijks"}
SUMMARY_METRICS = (
    "theme_hit_at_1", "theme_hit_at_3", "theme_hit_at_5", "passage_hit_at_1", "passage_hit_at_3", "passage_hit_at_5",
    "mrr_theme", "mrr_passage", "ndcg_at_5_theme", "ndcg_at_5_passage", "link_recall", "link_recall_visible",
    "link_hit", "link_in_first_two", "citation_precision", "grounding", "grounded_answers", "decline_precision",
    "decline_recall", "decline_accuracy", "in_scope_declined", "off_topic_declined", "visible_words_median",
    "dutch", "foreign_urls", "errors",
)
TABLE_COLUMNS = (("n", "n"), ("theme_hit_at_3", "thema@3"), ("passage_hit_at_3", "passage@3"),
                 ("mrr_passage", "MRR"), ("link_recall", "links"), ("link_in_first_two", "link@2"),
                 ("citation_precision", "cit.prec"), ("grounding", "grounding"), ("off_topic_declined", "afgew."),
                 ("in_scope_declined", "ten onr."), ("visible_words_median", "woorden"), ("dutch", "NL"))


# --- baseline ----------------------------------------------------------------------------------------


def compare_to_baseline(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per summary metric: baseline value, current value, delta and whether it got better.

    `baseline` is a report JSON (its `overall` is used) or an `overall` mapping itself.
    """
    base = baseline.get("overall", baseline)
    out = []
    for m in SUMMARY_METRICS:
        cur, old = current.get(m), base.get(m)
        if not isinstance(cur, int | float) or not isinstance(old, int | float):
            out.append({"metric": m, "baseline": old, "current": cur, "delta": None, "better": None})
            continue
        delta = cur - old
        better = None if abs(delta) < 1e-12 else (delta < 0) == (m in LOWER_IS_BETTER)
        out.append({"metric": m, "baseline": old, "current": cur, "delta": round(delta, 6), "better": better})
    return out


# --- text renderings ---------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "ja" if v else "nee"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _delta(d: Mapping[str, Any] | None) -> str:
    if not d or d["delta"] is None:
        return ""
    arrow = "" if d["better"] is None else (" ▲" if d["better"] else " ▼")
    return f"{d['delta']:+.3f}{arrow}"


def _failures(report: EvalReport, limit: int = 20) -> list[str]:
    out = []
    for r in report.questions:
        why = []
        if r["error"]:
            why.append(r["error"])
        if not r["decline_correct"]:
            why.append("niet afgewezen" if not r["expected_in_scope"] else "onterecht afgewezen")
        if r["expected_in_scope"] and r.get("theme_hit_at_3") == 0:
            why.append(f"thema niet in top-3 (top: {', '.join(r['top_passages'][:3]) or '–'})")
        if r.get("link_recall") is not None and r["link_recall"] < 1:
            why.append(f"link-recall {r['link_recall']:.2f}")
        if r["foreign_urls"]:
            why.append(f"vreemde URL's {r['foreign_urls']}")
        if r["grounded_answers"] is False and r["grounding_problems"]:
            why.append(f"grounding: {r['grounding_problems'][0][:100]}")
        if why:
            out.append(f"{r['id']} ({r['category']}): " + "; ".join(why))
    return out[:limit]


def render_table(report: EvalReport) -> str:
    """The plain-text summary `praktijkkaart eval` prints."""
    deltas = {d["metric"]: d for d in (report.baseline or {}).get("deltas", [])}
    lines = [f"Evaluatie praktijkkaart-assistent · generator {report.generator or '–'} · "
             f"{report.overall['n']} vragen · {report.created_at}", ""]
    lines.append(f"{'metric':<22}{'waarde':>10}{'basis':>10}{'verschil':>12}")
    for m in SUMMARY_METRICS:
        d = deltas.get(m)
        lines.append(f"{m:<22}{_fmt(report.overall.get(m)):>10}{_fmt(d['baseline']) if d else '':>10}"
                     f"{_delta(d):>12}")
    for title, groups in (("Per categorie", report.per_category), ("Per thema", report.per_theme)):
        lines += ["", title, f"{'':<18}" + "".join(f"{h:>11}" for _, h in TABLE_COLUMNS)]
        for name, vals in groups.items():
            label = THEME_LABELS.get(name, name)
            lines.append(f"{label:<18}" + "".join(f"{_fmt(vals.get(k)):>11}" for k, _ in TABLE_COLUMNS))
    lat = report.latency
    lines += ["", f"Latency: p50 {_fmt(lat.get('p50_ms'))} ms · p95 {_fmt(lat.get('p95_ms'))} ms · "
                  f"max {_fmt(lat.get('max_ms'))} ms (ter informatie, geen gate)", ""]
    lines.append("Gate: " + ("GESLAAGD" if report.passed else "NIET GESLAAGD"))
    for g in report.gates:
        mark = "ok  " if g["passed"] else "FOUT"
        lines.append(f"  {mark} {g['metric']} = {_fmt(g['value'])} (moet {g['op']} {g['threshold']:g})")
    fails = _failures(report)
    if fails:
        lines += ["", "Vragen met problemen:"] + [f"  - {f}" for f in fails]
    return "\n".join(lines)


def render_markdown(report: EvalReport, plots: Mapping[str, Path]) -> str:
    deltas = {d["metric"]: d for d in (report.baseline or {}).get("deltas", [])}
    md = [f"# Evaluatie praktijkkaart-assistent — {report.created_at}", "",
          f"Generator: **{report.generator or '–'}** · vragen: {report.overall['n']} "
          f"({report.overall['n_in_scope']} binnen, {report.overall['n_out_of_scope']} buiten de kaart) · "
          f"gate: **{'geslaagd' if report.passed else 'niet geslaagd'}**", ""]
    if report.baseline:
        md += [f"Vergeleken met: `{report.baseline.get('path', '')}`", ""]
    md += ["| metric | waarde | basis | verschil |", "|---|---:|---:|---:|"]
    for m in SUMMARY_METRICS:
        d = deltas.get(m)
        md.append(f"| {m} | {_fmt(report.overall.get(m))} | {_fmt(d['baseline']) if d else ''} | {_delta(d)} |")
    md += ["", "## Gate", "", "| metric | waarde | drempel | resultaat |", "|---|---:|---:|---|"]
    for g in report.gates:
        md.append(f"| {g['metric']} | {_fmt(g['value'])} | {g['op']} {g['threshold']:g} | "
                  f"{'ok' if g['passed'] else '**FOUT**'} |")
    for title, groups in (("Per categorie", report.per_category), ("Per thema", report.per_theme)):
        md += ["", f"## {title}", "", "| groep | " + " | ".join(h for _, h in TABLE_COLUMNS) + " |",
               "|---|" + "---:|" * len(TABLE_COLUMNS)]
        for name, vals in groups.items():
            md.append(f"| {THEME_LABELS.get(name, name)} | " + " | ".join(_fmt(vals.get(k)) for k, _ in TABLE_COLUMNS)
                      + " |")
    lat = report.latency
    md += ["", "## Latency (ter informatie)", "",
           f"p50 {_fmt(lat.get('p50_ms'))} ms · p95 {_fmt(lat.get('p95_ms'))} ms · max {_fmt(lat.get('max_ms'))} ms", ""]
    md += ["## Grafieken", ""] + [f"![{name}]({path.name})" for name, path in plots.items()]
    fails = _failures(report, limit=50)
    if fails:
        md += ["", "## Vragen met problemen", ""] + [f"- {f}" for f in fails]
    return "\n".join(md) + "\n"


# --- plots -------------------------------------------------------------------------------------------


def _nan(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def _subplots(figsize: tuple[float, float]) -> Any:
    """A figure and axes on the Agg backend; matplotlib loads here (~1.5 s), not when evals is imported."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def plot_theme_hits(report: EvalReport, path: Path, threshold: float | None = None) -> Path:
    names = list(report.per_theme)
    vals = [_nan(report.per_theme[n].get("theme_hit_at_3")) for n in names]
    fig, ax = _subplots(figsize=(7, 4))
    ax.bar([THEME_LABELS.get(n, n) for n in names], vals, color="#2b6cb0")
    if threshold is not None:
        ax.axhline(threshold, color="#c53030", linestyle="--", label=f"drempel {threshold:g}")
        ax.legend(loc="lower right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("thema-hit@3")
    ax.set_title("Verwacht thema in de top-3 passages, per thema")
    ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _close(fig)
    return path


def plot_grounding(report: EvalReport, path: Path) -> Path:
    names = list(report.per_category)
    sent = [_nan(report.per_category[n].get("grounding")) for n in names]
    answers = [_nan(report.per_category[n].get("grounded_answers")) for n in names]
    x = range(len(names))
    fig, ax = _subplots(figsize=(8, 4))
    ax.bar([i - 0.2 for i in x], sent, width=0.4, label="zinnen gesteund", color="#2f855a")
    ax.bar([i + 0.2 for i in x], answers, width=0.4, label="antwoorden zonder fout", color="#9ae6b4")
    ax.set_xticks(list(x), names, rotation=25, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("aandeel")
    ax.set_title("Grounding per categorie")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _close(fig)
    return path


def plot_scope_scores(report: EvalReport, path: Path) -> Path:
    inside = [r["scope_score"] for r in report.questions if r["expected_in_scope"] and r["scope_score"] is not None]
    outside = [r["scope_score"] for r in report.questions
               if not r["expected_in_scope"] and r["scope_score"] is not None]
    threshold = next((r["decline_threshold"] for r in report.questions if r["decline_threshold"] is not None), None)
    fig, ax = _subplots(figsize=(7, 4))
    if inside or outside:
        values = inside + outside + ([threshold] if threshold is not None else [])
        lo, hi = min(values), max(values)
        bins = [lo + (hi - lo) * i / 20 for i in range(21)] if hi > lo else 10
        ax.hist(inside, bins=bins, alpha=0.6, label="binnen de kaart", color="#2b6cb0")
        ax.hist(outside, bins=bins, alpha=0.6, label="buiten de kaart", color="#dd6b20")
        if threshold is not None:
            ax.axvline(threshold, color="#c53030", linestyle="--", label=f"afwijsdrempel {threshold:g}")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "geen scope_score in answer.meta", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("scope-score")
    ax.set_ylabel("aantal vragen")
    ax.set_title("Scope-score van vragen binnen en buiten de kaart")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _close(fig)
    return path


# --- writing -----------------------------------------------------------------------------------------


def _stamp(report: EvalReport) -> str:
    return report.created_at.replace("-", "").replace(":", "")


def write_report(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """Write <stamp>.json, <stamp>.md and <stamp>-*.png into out_dir; returns the paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp, n = _stamp(report), 1
    while (out_dir / f"{stamp}.json").exists():
        n += 1
        stamp = f"{_stamp(report)}-{n}"
    theme_gate = next((g["threshold"] for g in report.gates if g["metric"] == "theme_hit_at_3"), None)
    plots = {
        "thema-hit3": plot_theme_hits(report, out_dir / f"{stamp}-theme-hit3.png", theme_gate),
        "grounding": plot_grounding(report, out_dir / f"{stamp}-grounding.png"),
        "scope-scores": plot_scope_scores(report, out_dir / f"{stamp}-scope-scores.png"),
    }
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(report.to_json() | {"plots": {k: p.name for k, p in plots.items()}},
                                    ensure_ascii=False, indent=2), encoding="utf-8")
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text(render_markdown(report, plots), encoding="utf-8")
    return {"json": json_path, "markdown": md_path, **plots}


def load_report(path: Path) -> EvalReport:
    return EvalReport.from_json(json.loads(path.read_text(encoding="utf-8")))


def latest_report(out_dir: Path) -> Path | None:
    """The newest report JSON in out_dir (by its timestamped name), for the Evaluatie page."""
    def order(p: Path) -> tuple[str, int]:
        stamp, _, n = p.stem.partition("-")
        return stamp, int(n) if n.isdigit() else 1

    reports = sorted(out_dir.glob("*.json"), key=order)
    return reports[-1] if reports else None


__all__ = (
    "compare_to_baseline",
    "latest_report",
    "load_report",
    "plot_grounding",
    "plot_scope_scores",
    "plot_theme_hits",
    "render_markdown",
    "render_table",
    "write_report",
)
