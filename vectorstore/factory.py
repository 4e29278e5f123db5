"""Build the configured store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vectorstore.base import Embedder, Store

if TYPE_CHECKING:
    from praktijkkaart.settings import Settings


def make_store(settings: Settings, embedder: Embedder | None = None, *, writer: bool = False) -> Store:
    """`writer`: for ingest. A reader of the embedded store serves a read-only copy when the disk is full; a
    writer never does (it would build into the copy), it gets the Dutch "Schijf vol" instead."""
    if settings.store.backend == "memory":
        from vectorstore.memory import MemoryStore

        return MemoryStore()
    from vectorstore.chroma import ChromaStore

    if settings.store.chroma_url:
        return ChromaStore(url=settings.store.chroma_url, prefix=settings.store.collection_prefix, embedder=embedder)
    return ChromaStore(path=settings.chroma_dir, prefix=settings.store.collection_prefix, embedder=embedder,
                       read_only_fallback=not writer)
