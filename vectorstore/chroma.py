"""Chroma adapter: embedded (PersistentClient) by default, a Chroma server (HttpClient) when a URL is set.

Each index version is one collection ``<prefix>_v<stamp>``; a meta collection holds the pointer
to the live version, so publishing is a single upsert that readers see all at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from vectorstore import disk
from vectorstore.base import Embedder, EmbedderInfo, Hit, Record, StoreError, VersionInfo
from vectorstore.where import to_chroma

log = logging.getLogger(__name__)

_POINTER_ID = "live"
_LEASE_ID = "writer-lease"
_LEASE_SETTLE_S = 0.3  # pause between writing the lease and re-reading it (see acquire_lease)
_BATCH = 500
_RETRY_REAL_S = 30.0  # serving a read-only copy: how often to try the real store again


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _persistent(path: Path) -> Any:
    """chromadb.PersistentClient, without leaving a half-started client cached for `path` when it fails
    (chromadb keeps one System per path, also one whose start raised; a retry would get that broken one)."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    try:
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except Exception:
        with contextlib.suppress(Exception):
            SharedSystemClient._identifier_to_system.pop(str(path), None)
        raise


def _chroma_ef(embedder: Embedder | None) -> Any:  # the chromadb type lives behind a lazy import
    """Our own embedding function for Chroma, so Chroma never loads (or downloads) its default model."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class PraktijkkaartEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self, inner: Embedder | None) -> None:
            self.inner = inner

        def __call__(self, input: Documents) -> Embeddings:
            if self.inner is None:
                raise RuntimeError("embeddings are always computed by the praktijkkaart embedder")
            return list(self.inner.embed_passages(list(input)))

        def embed_query(self, input: Documents) -> Embeddings:
            if self.inner is None:
                raise RuntimeError("embeddings are always computed by the praktijkkaart embedder")
            return [self.inner.embed_query(t) for t in input]

        @staticmethod
        def name() -> str:
            return "praktijkkaart"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> PraktijkkaartEmbeddingFunction:  # noqa: ARG004 - chromadb API
            return PraktijkkaartEmbeddingFunction(None)

        def default_space(self) -> str:  # type: ignore[override]
            return "cosine"

    return PraktijkkaartEmbeddingFunction(embedder)


class ChromaStore:
    def __init__(self, *, path: Path | None = None, url: str | None = None, prefix: str = "praktijkkaart",
                 embedder: Embedder | None = None, read_only_fallback: bool = True) -> None:
        """`read_only_fallback`: a reader that cannot open the embedded store because its disk is full (or
        read-only) serves a copy of it instead (vectorstore/disk.py); writers (ingest) pass False."""
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path or url")
        self.path, self.url, self.prefix = path, url, prefix
        self._ef = None
        self._embedder = embedder
        self._client: Any = None
        self._lock = threading.RLock()
        self._handles: dict[str, Any] = {}  # collection handles for the query hot path
        self._fallback = read_only_fallback
        self._copy: Path | None = None  # the read-only copy being served, while the real store cannot be opened
        self._copy_tried = 0.0  # when the real store was last tried (monotonic)

    # -- connection -------------------------------------------------------------------------
    def _get(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    # Never phone home, whatever the environment says (AVG): chromadb reads this when it
                    # is imported, so it is set here, on first use, rather than when this module loads.
                    os.environ["ANONYMIZED_TELEMETRY"] = "False"
                    if self.url:
                        self._client = self._open_server(self.url)
                    else:
                        assert self.path is not None
                        self._client = self._open_local()
                    self._ef = _chroma_ef(self._embedder)
        return self._client

    def _open_server(self, url: str) -> Any:
        import chromadb

        u = urlparse(url)
        try:
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or (443 if u.scheme == "https" else 8000),
                                       ssl=u.scheme == "https", settings=_chroma_settings())
        except Exception as exc:
            raise StoreError(self._unreachable(exc)) from exc

    def _open_local(self) -> Any:
        """The embedded store; on a full or read-only disk (opening writes, see vectorstore/disk.py) a reader
        gets a copy of it on another volume, a writer a DiskFull."""
        assert self.path is not None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            return _persistent(self.path)
        except Exception as exc:
            full, read_only = disk.says_full(exc), disk.looks_read_only(exc)  # only what the error says
            if not (full or read_only):
                raise StoreError(self._unreachable(exc)) from exc
            if not self._fallback or not (self.path / "chroma.sqlite3").is_file():
                raise (disk.DiskFull(self.path, cause=exc) if full else StoreError(self._unreachable(exc))) from exc
        self._copy, self._copy_tried = disk.read_only_copy(self.path, self), time.monotonic()
        log.warning("vectorstore %s kan niet worden geopend (schijf vol of alleen-lezen); een alleen-lezen kopie in "
                    "%s wordt gebruikt", self.path, self._copy)
        try:
            return _persistent(self._copy)
        except Exception as exc:
            raise StoreError(self._unreachable(exc)) from exc

    def _back_to_real(self) -> None:
        """Serving a copy: try the real store again now and then (space freed, a new version published)."""
        if self._copy is None or time.monotonic() - self._copy_tried < _RETRY_REAL_S:
            return
        self._copy_tried = time.monotonic()
        assert self.path is not None
        try:
            client = _persistent(self.path)
        except Exception:  # noqa: BLE001 - still full: keep serving the copy
            return
        self._client, self._copy = client, None
        self._handles.clear()

    @property
    def read_only_reason(self) -> str | None:
        """Why this store serves a read-only copy (Dutch), or None when it uses the store itself."""
        self._get()
        if self._copy is None:
            return None
        return (f"alleen-lezen kopie in {self._copy}: de vectorstore zelf kon niet worden geopend, want op het volume "
                f"van {self.path} kan niets worden geschreven (schijf vol of alleen-lezen)")

    def _writable(self) -> None:
        if self._get() is not None and self._copy is not None:
            raise disk.ReadOnlyStore(f"De vectorstore wordt alleen gelezen ({self.read_only_reason}).")

    def _write_error(self, exc: Exception, what: str | None = None) -> StoreError:
        """A failed write as a StoreError: DiskFull when the volume is (nearly) full."""
        if isinstance(exc, StoreError):
            return exc
        if self.path is not None and disk.looks_full(exc, self.path):
            return disk.DiskFull(self.path, cause=exc)
        return StoreError(f"{what}: {type(exc).__name__}: {exc}" if what else self._unreachable(exc))

    def _unreachable(self, exc: Exception) -> str:
        where = self.url or str(self.path)
        return f"De vectorstore ({where}) is niet bereikbaar: {type(exc).__name__}: {exc}"

    def ping(self) -> None:
        try:
            self._get().heartbeat()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(self._unreachable(exc)) from exc

    @property
    def _meta_name(self) -> str:
        return f"{self.prefix}__meta"

    def _meta(self) -> Any:
        return self._get().get_or_create_collection(self._meta_name, embedding_function=self._ef)

    def _collection(self, version: str) -> Any:
        try:
            return self._get().get_collection(version, embedding_function=self._ef)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"Indexversie {version} bestaat niet of is onleesbaar: {exc}") from exc

    # -- versions ---------------------------------------------------------------------------
    @staticmethod
    def _info(col: Any, count: int | None = None) -> VersionInfo:
        meta = dict(col.metadata or {})
        extra = json.loads(meta.get("extra", "{}"))
        return VersionInfo(col.name, meta.get("embedder", ""), meta.get("created_at", ""),
                           count if count is not None else col.count(), extra)

    def live(self) -> VersionInfo | None:
        with self._lock:
            self._back_to_real()
            try:
                got = self._meta().get(ids=[_POINTER_ID], include=["metadatas"])
            except StoreError:
                raise
            except Exception as exc:  # e.g. a first use on a full disk (the meta collection is created)
                raise self._write_error(exc) from exc
            if not got["ids"]:
                return None
            meta = got["metadatas"][0]
            col = self._collection(meta["version"])
            info = self._info(col)
            extra = {**info.extra, **json.loads(meta.get("extra", "{}"))}
            return VersionInfo(info.name, info.embedder, info.created_at, info.count, extra)

    def versions(self) -> list[VersionInfo]:
        out = []
        for col in self._get().list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(self.prefix + "_v"):
                out.append(self._info(self._collection(name)))
        return sorted(out, key=lambda v: v.name)

    def create_version(self, name: str, embedder: EmbedderInfo, extra: dict[str, Any] | None = None) -> None:
        meta = {"embedder": embedder.fingerprint, "created_at": datetime.now(UTC).isoformat(),
                "extra": json.dumps(extra or {})}
        self._writable()
        try:
            self._get().create_collection(name, metadata=meta, configuration={"hnsw": {"space": "cosine"}},
                                          embedding_function=self._ef)
        except Exception as exc:
            raise self._write_error(exc, f"Versie {name} bestaat al of kan niet worden gemaakt") from exc

    def upsert(self, version: str, records: Sequence[Record]) -> None:
        self._writable()
        col = self._collection(version)
        for start in range(0, len(records), _BATCH):
            batch = records[start:start + _BATCH]
            try:
                col.upsert(ids=[r.id for r in batch], documents=[r.text for r in batch],
                           metadatas=[r.metadata for r in batch],
                           embeddings=[np.asarray(r.embedding, dtype=np.float32) for r in batch])
            except Exception as exc:
                raise self._write_error(exc, f"Schrijven naar indexversie {version} mislukte") from exc

    def get_all(self, version: str, *, with_embeddings: bool = False) -> list[Record]:
        col = self._collection(version)
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        out: list[Record] = []
        total = col.count()
        for offset in range(0, total, 5000):
            got = col.get(include=include, limit=5000, offset=offset)
            embs = got.get("embeddings") if with_embeddings else None
            for i, rid in enumerate(got["ids"]):
                emb = np.asarray(embs[i], dtype=np.float32) if embs is not None else None
                out.append(Record(rid, got["documents"][i], dict(got["metadatas"][i]), emb))
        return sorted(out, key=lambda r: r.id)

    def count(self, version: str) -> int:
        return int(self._collection(version).count())

    def query(self, version: str, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        col = self._handles.get(version)
        if col is None:
            col = self._handles[version] = self._collection(version)
        try:
            n = min(k, col.count())
            if n == 0:
                return []
            got = col.query(query_embeddings=[np.asarray(embedding, dtype=np.float32)], n_results=n,
                            where=to_chroma(where), include=["documents", "metadatas", "distances"])
        except Exception as exc:
            self._handles.pop(version, None)
            raise StoreError(f"Zoeken in indexversie {version} mislukte: {exc}") from exc
        return [Hit(Record(rid, doc, dict(meta)), 1.0 - float(dist))
                for rid, doc, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                                got["distances"][0])]

    def publish(self, version: str, extra: dict[str, Any] | None = None) -> None:
        self._writable()
        self._collection(version)  # must exist
        meta = {"version": version, "published_at": datetime.now(UTC).isoformat(),
                "extra": json.dumps(extra or {})}
        try:
            self._meta().upsert(ids=[_POINTER_ID], embeddings=[[1.0]], documents=[version], metadatas=[meta])
        except Exception as exc:
            raise self._write_error(exc, f"Publiceren van indexversie {version} mislukte") from exc

    # -- single writer (server mode) -------------------------------------------------------------
    def lease_holder(self) -> tuple[str, float] | None:
        """(owner, expires_at as a Unix time) of the writer lease, or None when there is no lease."""
        try:
            got = self._meta().get(ids=[_LEASE_ID], include=["metadatas"])
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(self._unreachable(exc)) from exc
        if not got["ids"]:
            return None
        meta = got["metadatas"][0] or {}
        return str(meta.get("owner", "")), float(meta.get("expires_at", 0.0))

    def acquire_lease(self, owner: str, ttl_s: float) -> bool:
        """Take (or renew) the writer lease for `ttl_s` seconds; False when another live owner holds it.

        Best effort: Chroma has no compare-and-set, so this reads the lease, writes our own record when it
        is free, expired or already ours, waits `_LEASE_SETTLE_S` and reads it back; we own it only if the
        record still names us. Two writers that both read "free" and write within the settle window see
        the last write and only one of them wins. Writers whose check and write lie further apart than the
        pause (a stalled process) can both believe they own it; the ingest re-confirms the lease before it
        publishes, which narrows that window further but does not close it. Expiry uses the writers'
        wall clocks, so the machines' clocks must agree (NTP) to well within the TTL.
        """
        with self._lock:
            self._writable()
            try:
                meta = self._meta()
                now = time.time()
                current = self.lease_holder()
                if current is not None and current[0] != owner and current[1] > now:
                    return False
                meta.upsert(ids=[_LEASE_ID], embeddings=[[1.0]], documents=[owner],
                            metadatas=[{"owner": owner, "expires_at": now + float(ttl_s),
                                        "acquired_at": datetime.now(UTC).isoformat()}])
                time.sleep(_LEASE_SETTLE_S)
                confirmed = self.lease_holder()
            except StoreError:
                raise
            except Exception as exc:
                raise self._write_error(exc) from exc
            return confirmed is not None and confirmed[0] == owner

    def release_lease(self, owner: str) -> None:
        """Drop the writer lease if `owner` still holds it (someone else's lease is left alone)."""
        with self._lock:
            try:
                current = self.lease_holder()
                if current is not None and current[0] == owner:
                    self._meta().delete(ids=[_LEASE_ID])
            except Exception:  # noqa: BLE001 - an unreleased lease simply expires
                pass

    def delete_version(self, version: str) -> None:
        self._writable()
        live = self.live()
        if live and live.name == version:
            raise StoreError("De live indexversie kan niet worden verwijderd.")
        self._handles.pop(version, None)
        with contextlib.suppress(Exception):  # already gone is fine
            self._get().delete_collection(version)
