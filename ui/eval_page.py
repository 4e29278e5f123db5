"""The evaluation report on the Beheer page, in plain Dutch: what each measure means, the norm it must meet and
the outcome, per theme as a table (the report's plots have no text a screen reader could read, so the table
carries the same numbers). The report's own Markdown and JSON keep the developers' names."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from evals import GOLDEN_PATH, REPORTS_DIR
from ui.render import escape_markdown

log = logging.getLogger(__name__)

# Report key -> (Dutch name, one sentence on what it means). Only these are shown; anything else in a report
# is for developers (`praktijkkaart eval` prints it all).
MEASURES: dict[str, tuple[str, str]] = {
    "theme_hit_at_3": ("Juiste thema gevonden",
                       "Hoe vaak het thema dat bij de vraag hoort bij de eerste drie gevonden delen van de kaart zit."),
    "passage_hit_at_3": ("Juiste onderdeel gevonden",
                         "Hoe vaak het onderdeel van de kaart dat de vraag beantwoordt bij de eerste drie gevonden "
                         "delen zit."),
    "link_recall": ("Juiste links genoemd", "Welk deel van de links die bij een vraag horen in het antwoord staat."),
    "citation_precision": ("Bronnen kloppen",
                           "Welk deel van de genummerde bronnen hoort bij het onderdeel van de kaart waar het nummer "
                           "bij staat."),
    "grounding": ("Tekst uit de kaart",
                  "Welk deel van de zinnen in de antwoorden letterlijk in de praktijkkaart of een gelinkte bron staat."),
    "grounded_answers": ("Antwoorden helemaal uit de kaart",
                         "Welk deel van de antwoorden alleen zinnen uit de praktijkkaart of een gelinkte bron heeft."),
    "decline_accuracy": ("Terecht wel of niet beantwoord",
                         "Hoe vaak een vraag over de kaart wordt beantwoord en een vraag erbuiten netjes wordt "
                         "afgewezen."),
    "dutch": ("In het Nederlands", "Welk deel van de antwoorden in het Nederlands is."),
    "foreign_urls": ("Links van buiten de kaart", "Hoeveel links in de antwoorden niet in de praktijkkaart staan."),
    "errors": ("Fouten", "Bij hoeveel vragen de assistent een fout gaf in plaats van een antwoord."),
}
COUNTS = {"n", "foreign_urls", "errors"}
_OPS = {">=": "minstens", "<=": "hoogstens", "==": "precies", ">": "meer dan", "<": "minder dan"}


def _value(key: str, value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if key in COUNTS:
        return str(int(value))
    return f"{value:.0%}"


def _norms(data: dict[str, Any]) -> dict[str, str]:
    """Measure -> 'minstens 95% · gehaald' from the report's checks."""
    norms: dict[str, str] = {}
    for gate in data.get("gates") or []:
        if not isinstance(gate, dict) or gate.get("metric") not in MEASURES:
            continue
        key = str(gate["metric"])
        verdict = "gehaald" if gate.get("passed") else "niet gehaald"
        norms[key] = f"{_OPS.get(str(gate.get('op')), str(gate.get('op')))} {_value(key, gate.get('threshold'))} · {verdict}"
    return norms


def _measures_table(data: dict[str, Any]) -> str:
    overall = data.get("overall") if isinstance(data.get("overall"), dict) else data.get("summary")
    overall = overall if isinstance(overall, dict) else {}
    norms = _norms(data)
    rows = ["| Wat we meten | Uitkomst | Norm | Wat het betekent |", "|---|---:|---|---|"]
    for key, (name, meaning) in MEASURES.items():
        if key in overall:
            rows.append(f"| {name} | {_value(key, overall[key])} | {norms.get(key, '–')} | {meaning} |")
    return "\n".join(rows) if len(rows) > 2 else ""


def _themes_table(data: dict[str, Any]) -> str:
    per_theme = data.get("per_theme")
    if not isinstance(per_theme, dict) or not per_theme:
        return ""
    rows = ["| Thema | Vragen | Juiste thema gevonden | Juiste onderdeel gevonden | Juiste links genoemd |",
            "|---|---:|---:|---:|---:|"]
    for theme, m in sorted(per_theme.items(), key=lambda kv: str(kv[0])):
        if not isinstance(m, dict):
            continue
        label = "Algemeen deel" if str(theme) == "0" else f"Thema {escape_markdown(str(theme))}"
        rows.append(f"| {label} | {_value('n', m.get('n'))} | {_value('x', m.get('theme_hit_at_3'))} | "
                    f"{_value('x', m.get('passage_hit_at_3'))} | {_value('x', m.get('link_recall'))} |")
    return "\n".join(rows)


def _summary(data: dict[str, Any]) -> None:
    """The verdict first, in one sentence, then how many questions and how fast."""
    passed = data.get("passed")
    failed = [MEASURES[g["metric"]][0] for g in data.get("gates") or []
              if isinstance(g, dict) and not g.get("passed") and g.get("metric") in MEASURES]
    if passed is True:
        st.success("Alle normen zijn gehaald.", icon=":material/check_circle:")
    elif passed is False:
        st.warning("Niet alle normen zijn gehaald" + (f": {', '.join(failed)}." if failed else "."),
                   icon=":material/warning:")
    overall = data.get("overall")
    overall = overall if isinstance(overall, dict) else {}
    n, inside, outside = (overall.get(k) for k in ("n", "n_in_scope", "n_out_of_scope"))
    if isinstance(n, int):
        parts = f" ({inside} over de praktijkkaart, {outside} erbuiten)" if isinstance(inside, int) else ""
        st.markdown(f"Getest met {n} vragen{parts}.")
    latency = data.get("latency")
    if isinstance(latency, dict) and isinstance(latency.get("p50_ms"), int | float):
        st.markdown(f"Snelheid: de helft van de vragen had binnen {latency['p50_ms']:.0f} ms een antwoord, "
                    f"95 van de 100 binnen {latency.get('p95_ms', 0):.0f} ms.")


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
        return "Vaste testvragen (gebruikt bij het afstellen)"
    return f"Achtergehouden testvragen ({name})"


def _report_label(report: Path) -> str:
    try:
        return datetime.strptime(report.stem, "%Y%m%dT%H%M%SZ").strftime("%d-%m-%Y %H:%M UTC")
    except ValueError:
        return report.stem


def _shown_path(report: Path) -> str:
    try:
        return report.relative_to(REPORTS_DIR.parent.parent).as_posix()  # evals/reports/...
    except ValueError:
        return report.name


def eval_report() -> None:
    st.header("Evaluatie", anchor=False)
    st.markdown("Hoe goed vindt de assistent de juiste delen van de praktijkkaart en de juiste links? Dat wordt "
                "gemeten met vaste sets testvragen waarvan het goede antwoord bekend is.")
    sets = _report_sets()
    if not sets:
        st.info("Er is nog geen evaluatierapport. De beheerder maakt er een met `praktijkkaart eval`.")
        return
    name = next(iter(sets))
    if len(sets) > 1:
        name = st.selectbox("Vragenset", list(sets), format_func=_set_label, key="eval_set")
        st.caption("De vaste testvragen zijn gebruikt om de assistent af te stellen; achtergehouden testvragen zijn "
                   "geschreven zonder de antwoorden te zien. Die laatste laten zien wat een nieuwe vraag krijgt.")
    reports = sorted(sets[name].glob("*.json"), reverse=True)
    report = st.selectbox("Rapport", reports, format_func=_report_label, key="eval_report")
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        st.error("Dit rapport kon niet worden gelezen.")
        return
    if not isinstance(data, dict):
        st.error("Dit rapport kon niet worden gelezen.")
        return
    _summary(data)
    if table := _measures_table(data):
        st.subheader("Wat er gemeten is", anchor=False)
        st.markdown(table)
    if table := _themes_table(data):
        st.subheader("Per thema", anchor=False)
        st.markdown("Dezelfde metingen per thema van de praktijkkaart.")
        st.markdown(table)
    st.caption(f"Het volledige rapport, met grafieken, staat in {escape_markdown(_shown_path(report))}.")
