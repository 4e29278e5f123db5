"""One contract suite for every Store: the in-memory fake, embedded Chroma and a Chroma server.

The server variant (marked slow) starts `chroma run --path <tmp> --host 127.0.0.1 --port <free>` from the
venv, waits for its heartbeat, runs the very same tests through `ChromaStore(url=...)` and stops it.
Each test gets its own collection prefix on the shared server, so tests do not see each other's versions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from chroma_server import free_port, running_chroma_server

from vectorstore.base import EmbedderInfo, Record, StoreError, VersionInfo
from vectorstore.chroma import ChromaStore
from vectorstore.memory import MemoryStore

EMB = EmbedderInfo("test", "axis-vectors", 8)
OTHER_EMB = EmbedderInfo("test", "other-model", 8)
DIM = 8


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(params=["memory", "chroma-embedded", pytest.param("chroma-server", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "memory":
        return MemoryStore()
    prefix = "t" + uuid.uuid4().hex[:10]
    if request.param == "chroma-embedded":
        return ChromaStore(path=tmp_path / "chroma", prefix=prefix)
    url = request.getfixturevalue("chroma_server")
    return ChromaStore(url=url, prefix=prefix)


def vname(store, n: int) -> str:
    """Version names as ingest makes them: <prefix>_v<stamp> (ChromaStore lists only those)."""
    prefix = getattr(store, "prefix", "praktijkkaart")
    return f"{prefix}_v2026010100000{n}"


def axis(i: int, scale: float = 1.0) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i] = scale
    return v


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def rec(rid: str, vec: np.ndarray, *, theme: int = 1, kind: str = "vraag", text: str | None = None,
        **meta: object) -> Record:
    return Record(rid, text or f"tekst van {rid}", {"theme": theme, "kind": kind, "item_id": rid, **meta}, unit(vec))


def corpus_records() -> list[Record]:
    return [
        rec("a", axis(0), theme=1, kind="vraag"),
        rec("b", axis(0) + 0.5 * axis(1), theme=1, kind="intro"),
        rec("c", axis(1), theme=2, kind="vraag"),
        rec("d", axis(2), theme=2, kind="suggestie_direct"),
        rec("e", axis(0) + axis(2), theme=3, kind="suggestie_lang"),
    ]


@pytest.fixture
def filled(store):
    name = vname(store, 1)
    store.create_version(name, EMB, extra={"state": "building"})
    store.upsert(name, corpus_records())
    return store, name


# --- the contract --------------------------------------------------------------------------------------

def test_empty_store(store) -> None:
    store.ping()
    assert store.live() is None
    assert store.versions() == []


def test_create_upsert_count_get_all(filled) -> None:
    store, name = filled
    assert store.count(name) == 5
    recs = store.get_all(name)
    assert [r.id for r in recs] == ["a", "b", "c", "d", "e"]  # sorted by id
    assert all(r.embedding is None for r in recs)
    by_id = {r.id: r for r in recs}
    assert by_id["c"].text == "tekst van c"
    assert by_id["c"].metadata == {"theme": 2, "kind": "vraag", "item_id": "c"}
    assert isinstance(by_id["c"].metadata["theme"], int)

    with_emb = {r.id: r for r in store.get_all(name, with_embeddings=True)}
    for r in corpus_records():
        assert with_emb[r.id].embedding is not None
        np.testing.assert_allclose(with_emb[r.id].embedding, r.embedding, atol=1e-6)


def test_metadata_types_round_trip(store) -> None:
    name = vname(store, 1)
    store.create_version(name, EMB)
    meta = {"theme": -1, "kind": "bron", "links": '[{"url": "https://x.nl/", "title": "X — één"}]',
            "score": 0.25, "school_type": "vo"}
    store.upsert(name, [Record("r1", "Ëën tekst met ‘quotes’ en\nregels", meta, unit(axis(3)))])
    (got,) = store.get_all(name)
    assert got.metadata == meta
    assert got.text == "Ëën tekst met ‘quotes’ en\nregels"


def test_upsert_replaces_instead_of_duplicating(filled) -> None:
    store, name = filled
    store.upsert(name, [rec("c", axis(3), theme=4, kind="intro", text="nieuwe tekst")])
    store.upsert(name, [rec("c", axis(3), theme=4, kind="intro", text="nieuwe tekst")])
    assert store.count(name) == 5
    recs = store.get_all(name, with_embeddings=True)
    assert [r.id for r in recs].count("c") == 1
    c = next(r for r in recs if r.id == "c")
    assert c.text == "nieuwe tekst" and c.metadata["theme"] == 4
    np.testing.assert_allclose(c.embedding, axis(3), atol=1e-6)
    hits = store.query(name, axis(3), 1)
    assert hits[0].record.id == "c" and hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_query_orders_by_cosine_similarity(filled) -> None:
    store, name = filled
    q = unit(axis(0))
    hits = store.query(name, q, 5)
    assert [h.record.id for h in hits] == ["a", "b", "e", "c", "d"]
    expected = {r.id: float(r.embedding @ q) for r in corpus_records()}
    for h in hits:
        assert h.score == pytest.approx(expected[h.record.id], abs=1e-4)
        assert h.record.text == f"tekst van {h.record.id}"
        assert h.record.metadata["item_id"] == h.record.id
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(1.0, abs=1e-4) and scores[-1] == pytest.approx(0.0, abs=1e-4)


def test_query_respects_k_and_small_collections(filled) -> None:
    store, name = filled
    assert [h.record.id for h in store.query(name, axis(1), 2)] == ["c", "b"]
    assert len(store.query(name, axis(1), 50)) == 5  # k larger than the collection: everything, no error
    empty = vname(store, 2)
    store.create_version(empty, EMB)
    assert store.query(empty, axis(1), 3) == []


def test_query_where_equality_and_in(filled) -> None:
    store, name = filled
    q = axis(0)
    hits = store.query(name, q, 5, where={"theme": 2})
    assert {h.record.id for h in hits} == {"c", "d"}  # both at cosine 0 to q: order between them is free
    hits = store.query(name, q, 5, where={"kind": {"$in": ["intro", "suggestie_lang"]}})
    assert [h.record.id for h in hits] == ["b", "e"]
    hits = store.query(name, q, 5, where={"theme": 1, "kind": "vraag"})  # several conditions: all must hold
    assert [h.record.id for h in hits] == ["a"]
    hits = store.query(name, q, 5, where={"theme": {"$in": [1, 3]}, "kind": {"$in": ["intro", "suggestie_lang"]}})
    assert [h.record.id for h in hits] == ["b", "e"]
    assert store.query(name, q, 5, where={"theme": 9}) == []
    assert [h.record.id for h in store.query(name, q, 2, where={"theme": {"$in": [1, 2, 3]}})] == ["a", "b"]


def test_publish_and_live(filled) -> None:
    store, name = filled
    assert store.live() is None  # created is not published
    store.publish(name, extra={"ingested_at": "2026-01-01T00:00:00+00:00", "chunks": 5})
    live = store.live()
    assert isinstance(live, VersionInfo)
    assert live.name == name
    assert live.count == 5
    assert live.embedder == EMB.fingerprint
    assert live.created_at
    assert live.extra["chunks"] == 5 and live.extra["ingested_at"].startswith("2026-01-01")


def test_publish_switches_atomically_between_versions(filled) -> None:
    store, v1 = filled
    store.publish(v1)
    v2 = vname(store, 2)
    store.create_version(v2, OTHER_EMB)
    store.upsert(v2, [rec("z", axis(5))])
    assert store.live().name == v1  # building v2 changes nothing for readers
    store.publish(v2)
    live = store.live()
    assert (live.name, live.count, live.embedder) == (v2, 1, OTHER_EMB.fingerprint)
    assert [r.id for r in store.get_all(v1)] == ["a", "b", "c", "d", "e"]  # the old version is untouched


def test_publish_unknown_version_is_refused(store) -> None:
    with pytest.raises(StoreError):
        store.publish(vname(store, 9))
    assert store.live() is None


def test_unknown_version_raises_store_error(store) -> None:
    missing = vname(store, 9)
    for call in (lambda: store.count(missing), lambda: store.get_all(missing),
                 lambda: store.query(missing, axis(0), 3), lambda: store.upsert(missing, [rec("a", axis(0))])):
        with pytest.raises(StoreError):
            call()


def test_delete_version_refuses_the_live_one(filled) -> None:
    store, v1 = filled
    v2 = vname(store, 2)
    store.create_version(v2, EMB)
    store.publish(v1)
    with pytest.raises(StoreError):
        store.delete_version(v1)
    assert store.count(v1) == 5
    store.delete_version(v2)
    assert [v.name for v in store.versions()] == [v1]
    with pytest.raises(StoreError):
        store.count(v2)
    store.delete_version(vname(store, 8))  # deleting what is not there is not an error
    assert store.live().name == v1


def test_versions_lists_published_and_unfinished(filled) -> None:
    store, v1 = filled
    v3, v2 = vname(store, 3), vname(store, 2)
    store.create_version(v3, OTHER_EMB, extra={"state": "building"})
    store.create_version(v2, EMB)
    store.upsert(v2, [rec("x", axis(4)), rec("y", axis(5))])
    store.publish(v1)
    versions = store.versions()
    assert [v.name for v in versions] == [v1, v2, v3]  # sorted by name (= creation stamp)
    by_name = {v.name: v for v in versions}
    assert (by_name[v1].count, by_name[v2].count, by_name[v3].count) == (5, 2, 0)
    assert by_name[v3].embedder == OTHER_EMB.fingerprint and by_name[v1].embedder == EMB.fingerprint
    assert by_name[v3].extra.get("state") == "building"
    assert all(v.created_at for v in versions)


def test_duplicate_version_name_is_refused(filled) -> None:
    store, v1 = filled
    with pytest.raises(StoreError):
        store.create_version(v1, EMB)
    assert store.count(v1) == 5  # and the existing version is untouched


def test_large_upsert_in_batches(store) -> None:
    """More records than one Chroma batch (500): all arrive, get_all pages through them."""
    name = vname(store, 1)
    store.create_version(name, EMB)
    rng = np.random.default_rng(7)
    recs = [Record(f"r{i:04d}", f"t{i}", {"theme": i % 6, "kind": "vraag"}, unit(rng.normal(size=DIM)))
            for i in range(1203)]
    store.upsert(name, recs)
    assert store.count(name) == 1203
    got = store.get_all(name)
    assert [r.id for r in got] == [r.id for r in recs]
    hit = store.query(name, recs[777].embedding, 1)[0]
    assert hit.record.id == "r0777" and hit.score == pytest.approx(1.0, abs=1e-4)


def test_thread_safe_reads_during_writes(filled) -> None:
    import threading

    store, v1 = filled
    store.publish(v1)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(20):
                assert store.live().name == v1
                assert len(store.query(v1, axis(0), 3)) == 3
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        store.upsert(v1, [rec(f"w{i}", axis(i % DIM))])
    for t in threads:
        t.join()
    assert not errors, errors
    assert store.count(v1) == 25


# --- Chroma only ---------------------------------------------------------------------------------------

def test_embedded_chroma_persists_across_clients(tmp_path: Path) -> None:
    a = ChromaStore(path=tmp_path / "chroma", prefix="persist")
    name = "persist_v1"
    a.create_version(name, EMB)
    a.upsert(name, corpus_records())
    a.publish(name, extra={"chunks": 5})
    b = ChromaStore(path=tmp_path / "chroma", prefix="persist")
    assert b.live().name == name and b.live().extra["chunks"] == 5
    assert b.count(name) == 5


def test_chroma_prefixes_keep_stores_apart(tmp_path: Path) -> None:
    a = ChromaStore(path=tmp_path / "chroma", prefix="aaa")
    b = ChromaStore(path=tmp_path / "chroma", prefix="bbb")
    a.create_version("aaa_v1", EMB)
    a.publish("aaa_v1")
    assert b.live() is None and b.versions() == []
    assert [v.name for v in a.versions()] == ["aaa_v1"]


def test_unreachable_server_is_a_dutch_store_error() -> None:
    store = ChromaStore(url=f"http://127.0.0.1:{free_port()}", prefix="x")
    with pytest.raises(StoreError, match="niet bereikbaar"):
        store.ping()


def test_chroma_store_needs_exactly_one_of_path_or_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ChromaStore()
    with pytest.raises(ValueError):
        ChromaStore(path=tmp_path, url="http://127.0.0.1:1")


@pytest.mark.slow
def test_ingest_and_answer_through_the_server(chroma_server: str, tmp_path: Path) -> None:
    """The whole app against a Chroma server: ingest publishes there, a second app process-alike answers."""
    from assistant.wiring import build_assistant
    from ingest.pipeline import run_ingest
    from praktijkkaart.settings import Settings

    settings = Settings(data_dir=tmp_path, store={"chroma_url": chroma_server, "collection_prefix": "app" + uuid.uuid4().hex[:8]}, embedding={"backend": "fake"})
    summary = run_ingest(settings)
    assert summary.published
    assert not (tmp_path / "chroma").exists()  # nothing went to an embedded store
    again = run_ingest(settings)
    assert again.embedded == 0 and not again.published
    for _ in range(2):  # two independent app instances share the server
        ans = build_assistant(settings).answer("Hoe betrek ik ouders die slecht Nederlands spreken?")
        assert ans.status == "ok" and ans.in_scope and ans.citations
        assert ans.meta["version"] == summary.version
