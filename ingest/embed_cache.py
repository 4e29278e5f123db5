"""The embedding cache shipped with the corpus: a fresh machine embeds only what changed.

One pair of files per embedder in corpus/embeddings/: ``<slug>.npz`` (keys + float32 vectors) and
``<slug>.json`` (fingerprint, count, dimension, SHA-256 of the npz). Keys are `Chunk.embed_key`
(hash of embed mode + embedded text), so a vector is reused only for exactly the text it was made from.
A cache that fails any check (fingerprint, checksum, shape, unit length) is ignored as a whole, with the
reason in `problem`: a damaged cache costs time, never wrong vectors.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = 1


def _slug(fingerprint: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fingerprint.lower()).strip("-")


def cache_paths(cache_dir: Path, fingerprint: str) -> tuple[Path, Path]:
    base = cache_dir / _slug(fingerprint)
    return base.with_suffix(".npz"), base.with_suffix(".json")


@dataclass
class EmbeddingCache:
    fingerprint: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    problem: str | None = None  # why a cache file present on disk was not used

    def get(self, key: str) -> np.ndarray | None:
        return self.vectors.get(key)

    def __len__(self) -> int:
        return len(self.vectors)


def load_cache(cache_dir: Path, fingerprint: str) -> EmbeddingCache:
    npz_path, meta_path = cache_paths(cache_dir, fingerprint)
    if not npz_path.exists() or not meta_path.exists():
        return EmbeddingCache(fingerprint)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        raw = npz_path.read_bytes()
        problem = _check_meta(meta, fingerprint, hashlib.sha256(raw).hexdigest())
        if problem:
            return EmbeddingCache(fingerprint, problem=problem)
        with np.load(npz_path, allow_pickle=False) as data:
            keys, vectors = data["keys"], np.asarray(data["vectors"], dtype=np.float32)
    except (OSError, ValueError, KeyError) as exc:
        return EmbeddingCache(fingerprint, problem=f"onleesbaar ({type(exc).__name__})")
    if vectors.ndim != 2 or len(keys) != len(vectors) or vectors.shape[1] != meta["dim"] or len(keys) != meta["count"]:
        return EmbeddingCache(fingerprint, problem="vorm klopt niet met de beschrijving")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.isfinite(vectors)) or np.any(np.abs(norms - 1.0) > 1e-3):
        return EmbeddingCache(fingerprint, problem="vectoren zijn niet eenheidslang")
    return EmbeddingCache(fingerprint, {str(k): v for k, v in zip(keys, vectors)})


def _check_meta(meta: dict[str, object], fingerprint: str, digest: str) -> str | None:
    if meta.get("format") != FORMAT:
        return f"onbekend formaat {meta.get('format')!r}"
    if meta.get("fingerprint") != fingerprint:
        return f"gemaakt met een ander model ({meta.get('fingerprint')})"
    if meta.get("sha256") != digest:
        return "controlegetal klopt niet (bestand beschadigd of aangepast)"
    return None


def save_cache(cache_dir: Path, fingerprint: str, vectors: dict[str, np.ndarray]) -> Path:
    """Write the cache for `fingerprint` with exactly these keys (sorted, so the file is reproducible)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    npz_path, meta_path = cache_paths(cache_dir, fingerprint)
    keys = sorted(vectors)
    dim = len(next(iter(vectors.values()))) if vectors else 0
    matrix = np.stack([np.asarray(vectors[k], dtype=np.float32) for k in keys]) if keys else np.zeros((0, dim))
    tmp = npz_path.with_suffix(".tmp.npz")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, keys=np.array(keys, dtype="U32"), vectors=matrix.astype(np.float32))
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    tmp.replace(npz_path)
    meta = {"format": FORMAT, "fingerprint": fingerprint, "count": len(keys), "dim": dim, "sha256": digest}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return npz_path
