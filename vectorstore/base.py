"""Protocols at the store seam and the records that cross it.

An index *version* is one collection. Ingest builds a new version next to the live one and then
publishes it (an atomic pointer switch), so readers never see a half-built index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


class StoreError(RuntimeError):
    """The store is unreachable, empty or built for another embedder (message is Dutch)."""


@dataclass(frozen=True)
class EmbedderInfo:
    backend: str
    model: str
    dim: int

    @property
    def fingerprint(self) -> str:
        return f"{self.backend}|{self.model}|{self.dim}"


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length vectors. Queries and passages may be embedded differently (E5)."""

    @property
    def info(self) -> EmbedderInfo: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several questions at once, embedded as queries (the asked-as questions and the off-topic bank)."""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    metadata: dict[str, Any]
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class Hit:
    record: Record
    score: float  # cosine similarity, higher is better


@dataclass(frozen=True)
class VersionInfo:
    name: str
    embedder: str  # EmbedderInfo.fingerprint
    created_at: str
    count: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """Versioned collections of records. All methods are safe to call from several threads."""

    def live(self) -> VersionInfo | None:
        """The published version, or None when nothing was ever published."""

    def versions(self) -> list[VersionInfo]:
        """Every version present (published, previous and unfinished builds)."""

    def create_version(self, name: str, embedder: EmbedderInfo, extra: dict[str, Any] | None = None) -> None: ...

    def upsert(self, version: str, records: Sequence[Record]) -> None:
        """Insert or replace records (embedding required)."""

    def get_all(self, version: str, *, with_embeddings: bool = False) -> list[Record]: ...

    def count(self, version: str) -> int: ...

    def query(self, version: str, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[Hit]: ...

    def publish(self, version: str, extra: dict[str, Any] | None = None) -> None:
        """Atomically make `version` the live one."""

    def delete_version(self, version: str) -> None: ...

    def ping(self) -> None:
        """Raise StoreError when the store cannot be reached."""

    def acquire_lease(self, owner: str, ttl_s: float) -> bool:
        """Take or renew the single-writer lease for `ttl_s` seconds; False when another owner holds it.

        Best effort on stores without compare-and-set (Chroma); a no-op returning True in-process."""

    def release_lease(self, owner: str) -> None:
        """Give the lease up if `owner` holds it."""

    def lease_holder(self) -> tuple[str, float] | None:
        """(owner, expires_at Unix time) of the current lease, or None."""
