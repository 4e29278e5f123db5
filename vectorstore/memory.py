"""Deterministic in-memory Store: the fake the shared store tests also run against."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from vectorstore.base import EmbedderInfo, Hit, Record, StoreError, VersionInfo
from vectorstore.where import matches


class MemoryStore:
    def __init__(self) -> None:
        self._versions: dict[str, dict[str, Record]] = {}
        self._info: dict[str, VersionInfo] = {}
        self._live: str | None = None
        self._lock = threading.RLock()

    def ping(self) -> None:
        return None

    def live(self) -> VersionInfo | None:
        with self._lock:
            if self._live is None:
                return None
            info = self._info[self._live]
            return VersionInfo(info.name, info.embedder, info.created_at, len(self._versions[info.name]), info.extra)

    def versions(self) -> list[VersionInfo]:
        with self._lock:
            return [VersionInfo(i.name, i.embedder, i.created_at, len(self._versions[n]), i.extra)
                    for n, i in sorted(self._info.items())]

    def create_version(self, name: str, embedder: EmbedderInfo, extra: dict[str, Any] | None = None) -> None:
        with self._lock:
            if name in self._versions:
                raise StoreError(f"Versie {name} bestaat al.")
            self._versions[name] = {}
            self._info[name] = VersionInfo(name, embedder.fingerprint, datetime.now(UTC).isoformat(),
                                           extra=dict(extra or {}))

    def _records(self, version: str) -> dict[str, Record]:
        try:
            return self._versions[version]
        except KeyError:
            raise StoreError(f"Indexversie {version} bestaat niet.") from None

    def upsert(self, version: str, records: Sequence[Record]) -> None:
        with self._lock:
            target = self._records(version)
            for r in records:
                if r.embedding is None:
                    raise ValueError("record without embedding")
                target[r.id] = Record(r.id, r.text, dict(r.metadata), np.asarray(r.embedding, dtype=np.float32))

    def get_all(self, version: str, *, with_embeddings: bool = False) -> list[Record]:
        with self._lock:
            recs = list(self._records(version).values())
        return [r if with_embeddings else Record(r.id, r.text, r.metadata) for r in sorted(recs, key=lambda r: r.id)]

    def count(self, version: str) -> int:
        with self._lock:
            return len(self._records(version))

    def query(self, version: str, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        with self._lock:
            recs = [r for r in self._records(version).values() if matches(r.metadata, where)]
        if not recs:
            return []
        matrix = np.stack([r.embedding for r in recs if r.embedding is not None])
        scores = matrix @ np.asarray(embedding, dtype=np.float32)
        order = sorted(range(len(recs)), key=lambda i: (-float(scores[i]), recs[i].id))[:k]
        return [Hit(Record(recs[i].id, recs[i].text, recs[i].metadata), float(scores[i])) for i in order]

    def publish(self, version: str, extra: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._records(version)
            if extra:
                old = self._info[version]
                self._info[version] = VersionInfo(old.name, old.embedder, old.created_at, old.count,
                                                  {**old.extra, **extra})
            self._live = version

    # One process, one store: the in-process lock already serialises writers, so the lease is a no-op.
    def lease_holder(self) -> tuple[str, float] | None:
        return None

    def acquire_lease(self, owner: str, ttl_s: float) -> bool:  # noqa: ARG002
        return True

    def release_lease(self, owner: str) -> None:  # noqa: ARG002
        return None

    def delete_version(self, version: str) -> None:
        with self._lock:
            if version == self._live:
                raise StoreError("De live indexversie kan niet worden verwijderd.")
            self._versions.pop(version, None)
            self._info.pop(version, None)
