"""The vector store behind a small interface (embedded Chroma, Chroma server, in-memory fake)."""

from vectorstore.base import Embedder, EmbedderInfo, Hit, Record, Store, StoreError, VersionInfo

__all__ = ["Embedder", "EmbedderInfo", "Hit", "Record", "Store", "StoreError", "VersionInfo"]
