"""Benchmark output: the Markdown report, the scale plot and the result files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# --- output ------------------------------------------------------------------------------------------------


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def render_markdown(r: dict[str, Any]) -> str:
    L: list[str] = []
    m = r["machine"]
    L.append(f"# Benchmark {r['created_at']}{' (quick)' if r['quick'] else ''}\n")
    L.append(f"{m['cpus']} CPUs, Python {m['python']}, load average {m['loadavg_start'][0]} → {m['loadavg_end'][0]} "
             f"(other processes shared the machine: absolute numbers are noisy). Embedder: {r.get('embedder')}. "
             f"Run took {r['bench_seconds']} s.\n")
    lat = r["latency"]
    L.append(f"## Latency, warm ({lat['n_questions']} golden questions), ms\n")
    L.append("| path | p50 | p95 | max |\n|---|---:|---:|---:|")
    for label, s in (("ours: retrieve", lat["ours"]["retrieve"]), ("ours: ask (extractive)", lat["ours"]["ask"]),
                     ("ours: assistant.answer() API", lat["ours"].get("api_answer") or lat["ours"]["ask"]),
                     (f"naive: similarity search top-4 ({r['naive']['chunks']} chunks)", lat["naive"]["search"])):
        L.append(f"| {label} | {_fmt(s['p50_ms'])} | {_fmt(s['p95_ms'])} | {_fmt(s['max_ms'])} |")
    L.append("\n**Where our ask time goes** (from `Answer.diagnostics.timings`), ms\n")
    L.append("| part | p50 | p95 | mean |\n|---|---:|---:|---:|")
    for k, s in lat["ours"]["breakdown_ask"].items():
        L.append(f"| {k.removesuffix('_ms')} | {_fmt(s['p50_ms'])} | {_fmt(s['p95_ms'])} | {_fmt(s['mean_ms'])} |")
    c = lat["cold"]
    L.append("\n**Cold: first call after start** (fresh process), ms\n")
    L.append("| path | first call | since process start (incl. imports) | process wall |\n|---|---:|---:|---:|")
    for label, key in (("ours: ask", "ours_ask"), ("ours: retrieve", "ours_retrieve"), ("naive: search", "naive_search")):
        x = c[key]
        wall = x.get("process_wall_s") if key != "ours_ask" else None  # the ask process goes on answering
        L.append(f"| {label} | {_fmt(x.get('first_call_ms'))} | {_fmt(x.get('since_start_ms'))} | "
                 f"{_fmt(wall * 1000 if wall else None, 0)} |")
    q = r["quality"]
    L.append(f"\n## Quality ({q['n_in_scope']} in-scope questions; link recall over {q['n_with_links']} with "
             "expected links)\n")
    L.append("| | theme hit@3 | link recall |\n|---|---:|---:|")
    for who in ("ours", "naive"):
        L.append(f"| {who} | {_fmt(q[who]['theme_hit_at_3'], 3)} | {_fmt(q[who]['link_recall'], 3)} |")
    L.append(f"\n{q['method']} Naive text: {r['naive']['seed_source']}.\n")
    _ingest_and_scale(r, L)
    _memory_and_targets(r, L)
    return "\n".join(L) + "\n"


def _ingest_and_scale(r: dict[str, Any], L: list[str]) -> None:
    L.append("## Ingest\n")
    L.append("| scenario | seconds (in-process) | process wall s | chunks | embedded | chunks/s |\n"
             "|---|---:|---:|---:|---:|---:|")
    for label, key in (("full (fresh data dir)", "full"), ("nothing changed", "unchanged"),
                       ("~10% of card items changed", "changed")):
        x = r["ingest"][key]
        L.append(f"| {label} | {_fmt(x.get('seconds'), 2)} | {_fmt(x.get('process_wall_s'), 2)} | "
                 f"{_fmt(x.get('total_chunks'))} | {_fmt(x.get('embedded'))} | {_fmt(x.get('chunks_per_s'))} |")
    L.append("\n## Scale (synthetic corpora)\n")
    L.append(r["scale"]["note"] + "\n")
    L.append("| chunks | retrieve p50 | p95 | keyword p95 | dense p95 | fusion p95 | embed p95 | snapshot load s | "
             "insert s | peak RSS MB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in r["scale"]["sizes"]:
        if "retrieve" not in s:
            L.append(f"| {s['chunks']} | not measured: {s.get('error', '?')[:120]} |||||||||")
            continue
        b = s["breakdown"]
        L.append(f"| {s['chunks']} | {_fmt(s['retrieve']['p50_ms'])} | {_fmt(s['retrieve']['p95_ms'])} | "
                 f"{_fmt(b['keyword_ms']['p95_ms'])} | {_fmt(b['dense_ms']['p95_ms'])} | {_fmt(b['fusion_ms']['p95_ms'])} | "
                 f"{_fmt(b['embed_ms']['p95_ms'])} | {_fmt(s['snapshot_load_s'], 1)} | {_fmt(s['insert_s'], 1)} | "
                 f"{_fmt(s['peak_rss_mb'], 0)} |")


def _memory_and_targets(r: dict[str, Any], L: list[str]) -> None:
    mem = r["memory"]
    L.append("\n## Memory\n")
    L.append(f"App peak RSS: **{_fmt(mem.get('app_peak_rss_mb'), 0)} MB** — {mem.get('method')}.")
    st = mem.get("streamlit") or {}
    if st:
        L.append(f"Streamlit after GET /: {_fmt(st.get('after_get_mb'), 0)} MB; after one question: "
                 f"{_fmt(st.get('after_question_mb'), 0)} MB{'; error: ' + st['error'] if st.get('error') else ''}.")
    L.append(f"Warm Assistant process (all golden questions answered): {_fmt(mem.get('assistant_process_peak_rss_mb'), 0)} MB.\n")
    L.append("## Targets (2 cores)\n")
    L.append("| target | measured | limit | result |\n|---|---:|---:|---|")
    for t in r["targets"]:
        res = "PASS" if t["passed"] else ("not measured" if t["passed"] is None else "MISS")
        L.append(f"| {t['name']} | {_fmt(t['value'])} {t['unit']} | {_fmt(t['limit'])} {t['unit']} | {res}"
                 f"{' (' + t['note'] + ')' if t['note'] else ''} |")


def plot_scale(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [s for s in r["scale"]["sizes"] if "retrieve" in s]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    if rows:
        xs = [s["chunks"] for s in rows]
        ax.plot(xs, [s["retrieve"]["p95_ms"] for s in rows], "o-", label="ours: retrieve p95 (synthetic)")
        ax.plot(xs, [s["retrieve"]["p50_ms"] for s in rows], "o--", alpha=0.6, label="ours: retrieve p50 (synthetic)")
        ax.plot(xs, [s["breakdown"]["keyword_ms"]["p95_ms"] for s in rows], "s:", label="of which keyword (bm25s) p95")
    lat = r["latency"]
    card_n = lat["card_chunks"]
    ax.scatter([card_n], [lat["ours"]["retrieve"]["p95_ms"]], marker="*", s=160, color="C3", zorder=5,
               label=f"ours at card size ({card_n} chunks): retrieve p95")
    ax.scatter([card_n], [lat["ours"]["ask"]["p95_ms"]], marker="P", s=90, color="C4", zorder=5,
               label="ours at card size: ask p95")
    ax.scatter([r["naive"]["chunks"]], [lat["naive"]["search"]["p95_ms"]], marker="X", s=110, color="k", zorder=5,
               label=f"naive at card size ({r['naive']['chunks']} chunks): search p95")
    ax.axhline(250, color="grey", lw=0.8, ls="--")
    ax.text(ax.get_xlim()[0] if False else (card_n or 1), 255, "target at 200k: 250 ms", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("corpus size (chunks, log)")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Retrieve latency vs corpus size (synthetic corpora use random vectors)", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_results(r: dict[str, Any], out_dir: Path) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ("-quick" if r["quick"] else "")
    paths = {"json": out_dir / f"{stamp}.json", "md": out_dir / f"{stamp}.md", "latest_md": out_dir / "latest.md",
             "png": out_dir / f"{stamp}-scale.png"}
    files = {k: str(v) for k, v in paths.items()}
    md = render_markdown(r)
    paths["md"].write_text(md, encoding="utf-8")
    paths["latest_md"].write_text(md, encoding="utf-8")
    try:
        plot_scale(r, paths["png"])
    except Exception as exc:  # noqa: BLE001 - a missing plot must not lose the measurements
        files["png_error"] = f"{type(exc).__name__}: {exc}"
        files.pop("png")
    paths["json"].write_text(json.dumps(r | {"files": files}, ensure_ascii=False, indent=2, default=str),
                             encoding="utf-8")
    return files
