"""The ingest job: incremental, atomic, resumable.

1. Chunk the card (and resource snapshots) into chunks with content-hash ids.
2. Nothing changed and same embedder? Stop: 0 embedded.
3. Otherwise build a new version next to the live one: embeddings of unchanged chunks are copied
   from any existing version built by the same embedder (including a build that was killed
   halfway, which makes ingest resumable); only new or changed chunks are embedded.
4. Validate the new version, publish it (one pointer switch), drop versions beyond `keep_versions`.
A crash at any point before step 4's switch leaves the previous version serving.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable

import numpy as np
from filelock import FileLock, Timeout

from corpus.model import load_card
from ingest.chunking import Chunk, card_chunks
from praktijkkaart.settings import Settings
from vectorstore.base import Embedder, Record, Store, StoreError
from vectorstore.embedders import make_embedder
from vectorstore.factory import make_store

Progress = Callable[[int, int], None]


class IngestBusy(RuntimeError):
    """Another ingest holds the writer lock."""


@dataclass
class IngestSummary:
    version: str
    published: bool
    total: int
    embedded: int
    unchanged: int
    deleted: int
    seconds: float
    embedder: str
    card_chunks: int
    resource_chunks: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def collect_chunks(settings: Settings) -> tuple[list[Chunk], int]:
    """All chunks to index and how many of them are card chunks (the rest are linked resources)."""
    card = load_card(settings.corpus_dir)
    chunks = card_chunks(card)
    n_card = len(chunks)
    from ingest.resources import resource_chunks

    chunks.extend(resource_chunks(settings, card))
    seen: set[str] = set()
    unique = [c for c in chunks if not (c.id in seen or seen.add(c.id))]
    return unique, n_card


def _new_version_name(prefix: str) -> str:
    return f"{prefix}_v{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')}"


def _writer_lock(settings: Settings) -> FileLock:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.data_dir / "ingest.lock"))


def run_ingest(settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
               progress: Progress | None = None, lock_timeout: float = 0.0) -> IngestSummary:
    """Bring the store up to date with the corpus. Raises IngestBusy if another ingest is running."""
    lock = _writer_lock(settings)
    try:
        lock.acquire(timeout=lock_timeout)
    except Timeout:
        raise IngestBusy("Er loopt al een ingest (vergrendeld via "
                         f"{settings.data_dir / 'ingest.lock'}). Wacht tot die klaar is.") from None
    try:
        embedder = embedder or make_embedder(settings)
        store = store or make_store(settings, embedder)
        return _ingest_locked(settings, store, embedder, progress)
    finally:
        lock.release()


def _ingest_locked(settings: Settings, store: Store, embedder: Embedder, progress: Progress | None) -> IngestSummary:
    started = time.perf_counter()
    chunks, n_card = collect_chunks(settings)
    fingerprint = embedder.info.fingerprint
    wanted = {c.id: c for c in chunks}
    live = store.live()
    live_ids = {r.id for r in store.get_all(live.name)} if live else set()

    def summary(version: str, published: bool, embedded: int) -> IngestSummary:
        return IngestSummary(version=version, published=published, total=len(chunks), embedded=embedded,
                             unchanged=len(chunks) - embedded, deleted=len(live_ids - wanted.keys()) if published else 0,
                             seconds=round(time.perf_counter() - started, 3), embedder=fingerprint,
                             card_chunks=n_card, resource_chunks=len(chunks) - n_card)

    if live and live.embedder == fingerprint and live_ids == wanted.keys():
        if progress:
            progress(len(chunks), len(chunks))
        return summary(live.name, False, 0)

    # Reuse embeddings from every version this embedder built (live, previous, interrupted builds).
    reusable: dict[str, np.ndarray] = {}
    for v in store.versions():
        if v.embedder == fingerprint:
            for r in store.get_all(v.name, with_embeddings=True):
                if r.id in wanted and r.embedding is not None:
                    reusable.setdefault(r.id, r.embedding)

    name = _new_version_name(settings.collection_prefix)
    store.create_version(name, embedder.info, extra={"state": "building"})
    reused = [Record(cid, wanted[cid].text, wanted[cid].metadata, emb) for cid, emb in reusable.items()]
    store.upsert(name, reused)
    todo = [c for c in chunks if c.id not in reusable]
    done = len(reused)
    if progress:
        progress(done, len(chunks))
    for start in range(0, len(todo), settings.embed_batch_size):
        batch = todo[start:start + settings.embed_batch_size]
        vectors = embedder.embed_passages([c.embed_text for c in batch])
        store.upsert(name, [Record(c.id, c.text, c.metadata, v) for c, v in zip(batch, vectors)])
        done += len(batch)
        if progress:
            progress(done, len(chunks))

    _validate(store, name, wanted, embedder)
    store.publish(name, extra={
        "ingested_at": datetime.now(timezone.utc).isoformat(), "chunks": len(chunks), "card_chunks": n_card,
        "resource_chunks": len(chunks) - n_card, "previous": live.name if live else None,
    })
    _prune(store, settings.keep_versions, keep={name, live.name if live else name})
    return summary(name, True, len(todo))


def _validate(store: Store, name: str, wanted: dict[str, Chunk], embedder: Embedder) -> None:
    got = {r.id for r in store.get_all(name)}
    if got != wanted.keys():
        raise StoreError(f"Nieuwe indexversie {name} is onvolledig ({len(got)} van {len(wanted)} stukken); "
                         "de vorige versie blijft in gebruik.")
    probe = next(iter(wanted.values()))
    hits = store.query(name, embedder.embed_query(probe.text), 1)
    if not hits:
        raise StoreError(f"Nieuwe indexversie {name} geeft geen zoekresultaten; de vorige versie blijft in gebruik.")


def _prune(store: Store, keep_versions: int, keep: set[str]) -> None:
    """Drop old and unfinished versions; keep the live one and the one before it (for in-flight readers)."""
    versions = sorted(store.versions(), key=lambda v: v.name, reverse=True)
    keep_names = set(keep)
    for v in versions:
        if len(keep_names) >= max(keep_versions, len(keep)):
            break
        keep_names.add(v.name)
    for v in versions:
        if v.name not in keep_names:
            store.delete_version(v.name)
