"""The ingest job: incremental, atomic, resumable.

1. Chunk the card (and resource snapshots) into chunks with content-hash ids.
2. Nothing changed and same embedder? Stop: 0 embedded.
3. Otherwise build a new version next to the live one: embeddings of unchanged chunks are copied
   from any existing version built by the same embedder (including a build that was killed
   halfway, which makes ingest resumable); only new or changed chunks are embedded.
4. Validate the new version, publish it (one pointer switch), drop versions beyond `keep_versions`.
A crash at any point before step 4's switch leaves the previous version serving.

One writer at a time: a file lock in the data dir, and with a Chroma server (settings.chroma_url) also a
lease record in the server's meta collection, so ingests started on different machines exclude each
other too. The lease is best effort (see ChromaStore.acquire_lease); it expires after LEASE_TTL_S unless
renewed, and it is renewed while embedding and re-confirmed right before publishing.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
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


LEASE_TTL_S = 300.0  # a server lease of a crashed ingest blocks others at most this long


class IngestBusy(RuntimeError):
    """Another ingest holds the writer lock (or, in server mode, the writer lease)."""


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


class _ServerLease:
    """The writer lease on a shared Chroma server: taken before ingest, renewed while it runs."""

    def __init__(self, store: Store, url: str, ttl_s: float) -> None:
        self.store, self.url, self.ttl_s = store, url, ttl_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renewed = 0.0

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.store.acquire_lease(self.owner, self.ttl_s):
            if time.monotonic() >= deadline:
                raise IngestBusy(self._busy_message())
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        self._renewed = time.monotonic()

    def keep(self, *, force: bool = False) -> None:
        """Renew the lease (every third of the TTL, and always before publishing); lost it? Stop."""
        if not force and time.monotonic() - self._renewed < self.ttl_s / 3:
            return
        if not self.store.acquire_lease(self.owner, self.ttl_s):
            raise IngestBusy(f"Deze ingest is zijn schrijfrecht op de Chroma-server ({self.url}) kwijtgeraakt aan "
                             "een andere ingest en stopt zonder te publiceren; de vorige indexversie blijft in gebruik.")
        self._renewed = time.monotonic()

    def release(self) -> None:
        self.store.release_lease(self.owner)

    def _busy_message(self) -> str:
        holder = None
        try:
            holder = self.store.lease_holder()
        except Exception:  # noqa: BLE001 - the message is still clear without the holder
            pass
        who = ""
        if holder is not None:
            until = datetime.fromtimestamp(holder[1], timezone.utc).astimezone().strftime("%H:%M:%S")
            who = f" door {holder[0]}, tot uiterlijk {until} als die niet wordt verlengd"
        return (f"Er loopt al een ingest tegen de Chroma-server {self.url} (schrijfrecht vastgelegd{who}). "
                "Wacht tot die klaar is (of gebruik `praktijkkaart ingest --wait SECONDEN`). Is die ingest "
                f"afgebroken, dan vervalt het schrijfrecht vanzelf na {int(self.ttl_s)} seconden.")


def run_ingest(settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
               progress: Progress | None = None, lock_timeout: float = 0.0,
               lease_ttl_s: float = LEASE_TTL_S) -> IngestSummary:
    """Bring the store up to date with the corpus. Raises IngestBusy if another ingest is running.

    With a Chroma server (settings.chroma_url) the writer also takes the server's lease, so an ingest on
    another machine (with its own data dir and file lock) is kept out as well."""
    started = time.monotonic()
    lock = _writer_lock(settings)
    try:
        lock.acquire(timeout=lock_timeout)
    except Timeout:
        raise IngestBusy("Er loopt al een ingest (vergrendeld via "
                         f"{settings.data_dir / 'ingest.lock'}). Wacht tot die klaar is.") from None
    try:
        embedder = embedder or make_embedder(settings)
        store = store or make_store(settings, embedder)
        lease = _ServerLease(store, settings.chroma_url, lease_ttl_s) if settings.chroma_url else None
        if lease is None:
            return _ingest_locked(settings, store, embedder, progress)
        lease.acquire(max(0.0, lock_timeout - (time.monotonic() - started)))
        try:
            return _ingest_locked(settings, store, embedder, progress, keep_lease=lease.keep)
        finally:
            lease.release()
    finally:
        lock.release()


def _ingest_locked(settings: Settings, store: Store, embedder: Embedder, progress: Progress | None,
                   keep_lease: Callable[..., None] | None = None) -> IngestSummary:
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
        records = [Record(c.id, c.text, c.metadata, v) for c, v in zip(batch, vectors)]
        store.upsert(name, records)
        last_new = records[-1]
        done += len(batch)
        if progress:
            progress(done, len(chunks))
        if keep_lease:
            keep_lease()

    probe = reused[0] if reused else last_new
    _validate(store, name, wanted, probe)
    if keep_lease:
        keep_lease(force=True)  # still the only writer? Otherwise stop before the switch.
    store.publish(name, extra={
        "ingested_at": datetime.now(timezone.utc).isoformat(), "chunks": len(chunks), "card_chunks": n_card,
        "resource_chunks": len(chunks) - n_card, "previous": live.name if live else None,
    })
    _prune(store, settings.keep_versions, keep={name, live.name if live else name})
    return summary(name, True, len(todo))


def _validate(store: Store, name: str, wanted: dict[str, Chunk], probe: Record) -> None:
    got = {r.id for r in store.get_all(name)}
    if got != wanted.keys():
        raise StoreError(f"Nieuwe indexversie {name} is onvolledig ({len(got)} van {len(wanted)} stukken); "
                         "de vorige versie blijft in gebruik.")
    # Query with a vector we just stored (no extra model call): it must find itself.
    hits = store.query(name, np.asarray(probe.embedding), 5)
    if probe.id not in {h.record.id for h in hits}:
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
