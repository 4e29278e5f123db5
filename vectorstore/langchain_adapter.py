"""Expose any Embedder as a LangChain `Embeddings` (kept apart: importing LangChain costs ~0.2 s)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from vectorstore.base import Embedder


class LangChainEmbeddings(Embeddings):
    """Expose any Embedder to LangChain (e.g. for the naive-recipe benchmark)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embedder.embed_passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed_query(text)]
