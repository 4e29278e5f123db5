"""Benchmark workers: each measurement that needs a clean process runs here
(`python -m benchmarks.workers --worker NAME ARGS.json OUT.json`), plus the small measuring helpers."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_T_START = time.perf_counter()

ROOT = Path(__file__).resolve().parent.parent

SCALE_QUESTIONS = 30
TIMING_KEYS = ("embed_ms", "keyword_ms", "dense_ms", "fusion_ms", "compose_ms", "total_ms")


# --- small helpers (unit-tested) ----------------------------------------------------------------------


def summarize_ms(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95, mean and max of latencies in ms (the eval suite's percentile: linear interpolation)."""
    from evals.metrics import latency_summary

    return latency_summary(list(values))


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    VmHWM first: it belongs to this address space, while ru_maxrss carries the parent's peak across fork+exec.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            hwm = parse_vm_hwm(f.read())
        if hwm is not None:
            return hwm
    except OSError:
        pass
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
    dumped: dict[str, Any] = settings.model_dump(mode="json", exclude={"generation": {"api_key"}})
    return dumped


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
        proc = subprocess.run([sys.executable, "-m", "benchmarks.workers", "--worker", name, str(args_path), str(out_path)],
                              cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s", "process_wall_s": round(time.perf_counter() - t0, 2)}
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not out_path.exists():
        return {"error": f"exit {proc.returncode}: {proc.stderr[-2000:]}", "process_wall_s": round(wall, 2)}
    out: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
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
        from assistant.types import Turn

        for g in _golden(a.get("limit")):
            assistant.answer(g.question, history=Turn.coerce(g.history) or None)
        out["rss_after_all_questions_mb"] = peak_rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _quality_record(g: Any, ans: Any, docs: list[str], chunk_themes: dict[str, Any], shingles: Any) -> dict[str, Any]:
    from benchmarks.naive import chunk_theme
    from evals.metrics import citation_recall, extract_urls, hit_at_k, ranked_themes

    rec: dict[str, Any] = {"id": g.id, "in_scope": g.in_scope}
    if g.in_scope:
        themes_naive = [chunk_themes.get(d, chunk_theme(d, shingles)) for d in docs]
        naive_urls = [u for d in docs for u in extract_urls(d)]
        rec.update(
            ours_theme_hit_at_3=hit_at_k(ranked_themes(ans.passages), set(g.themes), 3),
            naive_theme_hit_at_3=hit_at_k(themes_naive, set(g.themes), 3),
            ours_link_recall=citation_recall([c.url for c in ans.citations], g.links),
            naive_link_recall=citation_recall(naive_urls, g.links),
        )
    return rec


def _quality(recs: list[dict[str, Any]]) -> dict[str, Any]:
    from evals.metrics import mean

    def avg(key: str) -> float | None:
        v = mean(r.get(key) for r in recs)
        return None if v is None else round(v, 3)

    return {
        "ours": {"theme_hit_at_3": avg("ours_theme_hit_at_3"), "link_recall": avg("ours_link_recall")},
        "naive": {"theme_hit_at_3": avg("naive_theme_hit_at_3"), "link_recall": avg("naive_link_recall")},
        "n_in_scope": sum(r["in_scope"] for r in recs),
        "n_with_links": sum(r.get("ours_link_recall") is not None for r in recs),
    }


def w_latency(a: dict[str, Any]) -> dict[str, Any]:
    """Warm latency and quality, ours and naive interleaved question by question (same load for both)."""
    from assistant.types import Turn
    from assistant.wiring import build_assistant
    from benchmarks.naive import NaiveIndex, chunk_theme, load_raw_text, theme_shingles
    from corpus.model import load_card

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
    from assistant.wiring import answer as api_answer

    for g in golden[:3]:
        assistant.retrieve(g.question)
        assistant.answer(g.question)
        api_answer(g.question, settings=settings)
        naive.similarity_search(g.question)

    lat: dict[str, list[float]] = {"retrieve": [], "ask": [], "api_answer": [], "naive_search": []}
    timings: list[dict[str, float]] = []
    recs: list[dict[str, Any]] = []
    for g in golden:
        history = Turn.coerce(g.history) or None
        t0 = time.perf_counter()
        assistant.retrieve(g.question, history=history)
        lat["retrieve"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ans = assistant.answer(g.question, history=history)
        lat["ask"].append((time.perf_counter() - t0) * 1000)
        timings.append(dict(ans.diagnostics.timings))
        t0 = time.perf_counter()  # the public Python API, as a user script calls it (one kept Assistant)
        api_answer(g.question, settings=settings, history=history)
        lat["api_answer"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        docs = naive.similarity_search(g.question)
        lat["naive_search"].append((time.perf_counter() - t0) * 1000)
        recs.append(_quality_record(g, ans, docs, naive_chunk_themes, shingles))

    quality = _quality(recs)
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
    import numpy as np

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
    col = store._collection(name)
    t0 = time.perf_counter()
    gen_s = 0.0
    g0 = time.perf_counter()
    for batch in synthetic_records(n, templates, seed=int(a.get("seed", 8))):
        gen_s += time.perf_counter() - g0
        col.add(ids=[r.id for r in batch], documents=[r.text for r in batch], metadatas=[r.metadata for r in batch],
                embeddings=np.stack([r.embedding for r in batch if r.embedding is not None]))
        g0 = time.perf_counter()
    build_s = time.perf_counter() - t0
    store.publish(name)
    rss_after_build = peak_rss_mb()
    t0 = time.perf_counter()
    live = store.live()
    assert live is not None  # published just above
    snap = IndexSnapshot.load(store, live, load_synonyms(settings.corpus_dir))
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


def _worker_main(argv: Sequence[str]) -> int:
    name, args_path, out_path = argv
    args = json.loads(Path(args_path).read_text(encoding="utf-8"))
    out = WORKERS[name](args)
    Path(out_path).write_text(json.dumps(out, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        raise SystemExit(_worker_main(sys.argv[2:]))
