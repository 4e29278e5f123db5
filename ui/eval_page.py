"""The Evaluatie page: the latest report of a question set, in plain Dutch."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import streamlit as st

from evals import GOLDEN_PATH, REPORTS_DIR
from ui.render import (
    safe_answer_markdown,
    strip_images,
)

log = logging.getLogger(__name__)

# --- Evaluatie ----------------------------------------------------------------------------------


def _report_pngs(report: Path) -> list[Path]:
    pngs = set(report.parent.glob(f"{report.stem}*.png"))
    folder = report.parent / report.stem
    if folder.is_dir():
        pngs |= set(folder.glob("*.png"))
    return sorted(pngs)


def _summary_metrics(data: Any) -> dict[str, str]:
    """The numbers of the report's top-level "summary" object, formatted for st.metric."""
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        return {}
    shown: dict[str, str] = {}
    for key, value in summary.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, int):
            shown[str(key)] = str(value)
        else:
            shown[str(key)] = f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
    return shown


def _report_sets() -> dict[str, Path]:
    """Question set -> its report folder, as the eval runner writes them: the golden set's reports in
    REPORTS_DIR itself, another set's (`praktijkkaart eval --golden evals/holdout2.yaml`) in a subfolder
    named after its file."""
    if not REPORTS_DIR.is_dir():
        return {}
    sets = {GOLDEN_PATH.stem: REPORTS_DIR} if any(REPORTS_DIR.glob("*.json")) else {}
    for sub in sorted(p for p in REPORTS_DIR.iterdir() if p.is_dir() and any(p.glob("*.json"))):
        sets[sub.name] = sub
    return sets


def _set_label(name: str) -> str:
    if name == GOLDEN_PATH.stem:
        return f"Gouden vragen (evals/{name}.yaml, gebruikt bij het afstemmen)"
    return f"Achtergehouden vragen: {name} (evals/{name}.yaml)"


def eval_page() -> None:
    st.title("Evaluatie")
    st.markdown("Hoe goed vindt de assistent de juiste delen van de praktijkkaart en de juiste links? "
                "Het nieuwste evaluatierapport staat hieronder.")
    sets = _report_sets()
    if not sets:
        st.info("Er is nog geen evaluatierapport. De beheerder maakt er een met `praktijkkaart eval`.")
        return
    name = next(iter(sets))
    if len(sets) > 1:
        name = st.selectbox("Vragenset", list(sets), format_func=_set_label, key="eval_set")
        st.caption("De gouden vragen zijn gebruikt om de assistent af te stellen; achtergehouden vragen zijn "
                   "geschreven zonder de antwoorden te zien. Die laatste laten zien wat een nieuwe vraag krijgt.")
    reports = sorted(sets[name].glob("*.json"), reverse=True)
    report = st.selectbox("Rapport", reports, format_func=lambda p: p.stem, key="eval_report")
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        st.error("Dit rapport kon niet worden gelezen.")
        return
    metrics = _summary_metrics(data)
    if metrics:
        cols = st.columns(min(4, len(metrics)))
        for i, (name, value) in enumerate(metrics.items()):
            cols[i % len(cols)].metric(name, value)
    summary_md = report.with_suffix(".md")
    if summary_md.exists():
        st.markdown(safe_answer_markdown(strip_images(summary_md.read_text(encoding="utf-8"))))
    for png in _report_pngs(report):
        try:
            st.image(str(png), caption=png.stem)
        except Exception:  # noqa: BLE001 - one unreadable plot must not take the page down
            st.warning(f"De grafiek {png.name} kon niet worden getoond.")
    with st.expander("Alle gegevens (JSON)"):
        st.json(data, expanded=False)
