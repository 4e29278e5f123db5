"""Ingest: chunking, incremental + atomic + resumable builds, embedder switches, the writer lock, kill -9.

Most tests use embedded Chroma with the fake embedder (fast, real store); the crash tests also run the
ingest in a child process and SIGKILL it at three different points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from filelock import FileLock

from assistant.wiring import build_assistant
from corpus.model import KIND_LABELS, load_card
from ingest.chunking import card_chunks
from ingest.pipeline import IngestBusy, collect_chunks, run_ingest
from praktijkkaart.settings import Settings
from vectorstore.base import StoreError
from vectorstore.chroma import ChromaStore
from vectorstore.embedders import FakeEmbedder
from vectorstore.factory import make_store
from vectorstore.memory import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
N_CARD = 82
SUMMARY_KEYS = {"version", "published", "total", "embedded", "unchanged", "deleted", "seconds", "embedder",
                "card_chunks", "resource_chunks", "asked_chunks", "offtopic_chunks", "cache_hits", "cache_misses",
                "cache_problem"}
OLD_Q = "Hebben we een beeld van de straat/peergroupcultuur van onze leerlingen?"
NEW_Q = "Hebben we een goed beeld van de straatcultuur en peergroupcultuur van onze leerlingen en hun vrienden?"


def store_for(settings: Settings) -> ChromaStore:
    return ChromaStore(path=settings.chroma_dir, prefix=settings.store.collection_prefix)


def live_ids(store) -> set[str]:
    return {r.id for r in store.get_all(store.live().name)}


def edit_yaml(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# --- chunks --------------------------------------------------------------------------------------------

def test_card_chunks_are_the_natural_units_with_metadata() -> None:
    card = load_card()
    chunks = card_chunks(card)
    assert len(chunks) == N_CARD == len(card.items)
    assert len({c.id for c in chunks}) == N_CARD
    by_item = {c.metadata["item_id"]: c for c in chunks}
    for item in card.items:
        c = by_item[item.id]
        assert c.text == item.full_text
        assert c.id.startswith(item.id + "-")
        m = c.metadata
        assert m["theme"] == item.theme and m["theme_title"] == item.theme_title and m["kind"] == item.kind
        assert m["source"] == "praktijkkaart" and m["school_type"] == item.school_type
        assert all(isinstance(v, (str, int, float, bool)) for v in m.values()), m  # Chroma: flat scalars only
        assert json.loads(m["links"]) == [{"url": lk.url, "title": lk.title, "school_type": lk.school_type}
                                          for lk in item.links]
        assert m["role"] == "passage" and m["embed_hash"] == c.embed_key
        if item.theme:
            assert c.embed_text.startswith(f"{item.theme_title} — {KIND_LABELS[item.kind]}: {item.full_text}")
        else:
            assert c.embed_text.startswith(f"Praktijkkaart welbevinden en gelijke kansen — {item.heading}: ")
        for lk in item.links:
            assert lk.title in c.embed_text  # terse suggestions are embedded with what their link is about
    assert by_item["t4.vraag.1"].embed_text.startswith("Gevoelige overgangen — Vragen om jezelf te stellen: ")
    assert "- Vluchtelingenwerk" in by_item["t2.vraag.5"].text  # the sub-list stays with its question
    assert Counter(c.metadata["kind"] for c in chunks) == Counter(
        {"algemeen": 9, "intro": 13, "vraag": 25, "suggestie_direct": 21, "suggestie_lang": 14})


def test_chunk_ids_are_stable_and_content_addressed(corpus_copy: Path) -> None:
    a = {c.metadata["item_id"]: c.id for c in card_chunks(load_card())}
    assert a == {c.metadata["item_id"]: c.id for c in card_chunks(load_card())}
    edit_yaml(corpus_copy / "praktijkkaart.yaml", OLD_Q, NEW_Q)
    b = {c.metadata["item_id"]: c.id for c in card_chunks(load_card(corpus_copy))}
    changed = {k for k in a if a[k] != b[k]}
    assert changed == {"t2.vraag.4"}


def test_resource_chunks_carry_their_link_and_parent(chroma_settings: Settings) -> None:
    chunks, n_card = collect_chunks(chroma_settings)
    card = load_card()
    resources = [c for c in chunks[n_card:] if c.metadata["kind"] == "bron"]
    assert n_card == N_CARD and len(resources) >= len(card.links) == 38
    assert len({c.id for c in chunks}) == len(chunks)
    urls = {c.metadata["source"] for c in resources}
    assert urls == {lk.url for lk in card.links}  # every link has at least one chunk
    for c in resources:
        m = c.metadata
        assert m["kind"] == "bron" and m["theme"] == -1
        parent = card.by_id[m["parent_item_id"]]
        assert any(lk.url == m["source"] for lk in parent.links)
        assert m["parent_theme"] == parent.theme
        assert json.loads(m["links"])[0]["url"] == m["source"]


# --- full, repeated and incremental ingest -------------------------------------------------------------

def test_full_ingest_summary_and_store(chroma_settings: Settings) -> None:
    progress: list[tuple[int, int]] = []
    s = run_ingest(chroma_settings, progress=lambda d, t: progress.append((d, t)))
    assert set(s.to_json()) == SUMMARY_KEYS
    assert s.card_chunks == N_CARD
    assert s.resource_chunks >= 38
    assert s.total == s.card_chunks + s.resource_chunks + s.asked_chunks + s.offtopic_chunks == s.embedded
    assert (s.unchanged, s.deleted, s.published) == (0, 0, True)
    assert 0 < s.seconds < 60
    assert s.embedder == "fake|hashed-trigrams|256"
    json.dumps(s.to_json())  # serialisable for --json

    store = store_for(chroma_settings)
    live = store.live()
    assert live.name == s.version and live.count == s.total and live.embedder == s.embedder
    assert live.extra["chunks"] == s.total and live.extra["card_chunks"] == N_CARD and live.extra["ingested_at"]
    chunks, _ = collect_chunks(chroma_settings)
    recs = store.get_all(s.version, with_embeddings=True)
    assert [r.id for r in recs] == sorted(c.id for c in chunks)
    assert all(r.embedding is not None and r.embedding.shape == (256,) for r in recs)
    texts = {c.id: c.text for c in chunks}
    assert all(r.text == texts[r.id] for r in recs)
    # Progress reports climb to (total, total).
    assert progress[-1] == (s.total, s.total)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_reingest_of_unchanged_corpus_embeds_nothing(chroma_settings: Settings) -> None:
    first = run_ingest(chroma_settings)
    second = run_ingest(chroma_settings)
    assert (second.embedded, second.deleted, second.published) == (0, 0, False)
    assert second.unchanged == second.total == first.total
    assert second.version == first.version
    store = store_for(chroma_settings)
    assert store.live().name == first.version
    assert [v.name for v in store.versions()] == [first.version]  # no empty build left behind


def test_changing_one_question_reembeds_exactly_one(corpus_copy: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedding={"backend": "fake"})
    first = run_ingest(settings)
    store = store_for(settings)
    before = {r.id: r for r in store.get_all(first.version, with_embeddings=True)}

    edit_yaml(corpus_copy / "praktijkkaart.yaml", OLD_Q, NEW_Q)
    second = run_ingest(settings)
    assert (second.embedded, second.deleted, second.published) == (1, 1, True)
    assert second.unchanged == second.total - 1 and second.total == first.total
    after = {r.id: r for r in store.get_all(second.version, with_embeddings=True)}
    gone, new = before.keys() - after.keys(), after.keys() - before.keys()
    assert len(gone) == len(new) == 1
    (gone_id,), (new_id,) = gone, new
    assert gone_id.startswith("t2.vraag.4-") and new_id.startswith("t2.vraag.4-")
    assert after[new_id].text == NEW_Q and before[gone_id].text == OLD_Q
    for rid in before.keys() & after.keys():  # every other chunk kept its id and its (copied) embedding
        np.testing.assert_allclose(after[rid].embedding, before[rid].embedding, atol=1e-6)
    assert store.live().name == second.version
    # The previous version is kept for readers that are still on it, unchanged.
    assert {v.name for v in store.versions()} == {first.version, second.version}
    assert OLD_Q in {r.text for r in store.get_all(first.version)}


def test_removed_item_is_deleted_without_embedding(corpus_copy: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedding={"backend": "fake"})
    first = run_ingest(settings)
    last_q = '      - text: "Hoe borgen we in ons team aandacht voor werken aan gelijke kansen in de klas?"\n'
    edit_yaml(corpus_copy / "praktijkkaart.yaml", last_q, "")
    second = run_ingest(settings)
    # The item goes, and with it the asked-as questions that pointed to it (nothing is re-embedded).
    gone = 1 + first.asked_chunks - second.asked_chunks
    assert first.asked_chunks - second.asked_chunks >= 6
    assert (second.total, second.embedded, second.deleted, second.published) == (first.total - gone, 0, gone, True)
    ids = live_ids(store_for(settings))
    assert not any(i.startswith(("t5.vraag.5-", "vraagvorm-t5.vraag.5-")) for i in ids) and len(ids) == second.total


def test_link_metadata_edit_reaches_the_store(corpus_copy: Path, tmp_path: Path) -> None:
    """Editing only a link's publisher changes the text of its resource chunk; ingest must publish that.

    Regression: a link card's id used to hash only what is embedded (title + note), not the text shown
    ('Bron: <title> (<publisher>)' + card context), so ingest saw 'nothing changed' and kept stale text.
    """
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedding={"backend": "fake"})
    run_ingest(settings)
    edit_yaml(corpus_copy / "links.yaml", "publisher: Kansenkaart\n", "publisher: Stichting Kansenkaart NL\n")
    expected = {c.id: c.text for c in collect_chunks(settings)[0]}
    run_ingest(settings)
    store = store_for(settings)
    stored = {r.id: r.text for r in store.get_all(store.live().name)}
    assert stored == expected


# --- embedder switch -------------------------------------------------------------------------------------

def test_switching_embedder_builds_a_new_version_and_old_embedder_is_stopped(chroma_settings: Settings) -> None:
    first = run_ingest(chroma_settings)  # fake, 256 dims (what the settings say)
    other = FakeEmbedder(dim=128)
    second = run_ingest(chroma_settings, embedder=other)
    assert second.published and second.version != first.version
    assert second.embedded == second.total  # nothing reusable from another embedder
    assert second.embedder == other.info.fingerprint
    store = store_for(chroma_settings)
    assert store.live().embedder == "fake|hashed-trigrams|128"

    # The app is still configured for the 256-dim embedder: a clear Dutch stop, not nonsense.
    a = build_assistant(chroma_settings)
    ans = a.answer("Hoe betrek ik ouders die slecht Nederlands spreken?")
    assert ans.status == "store_error" and not ans.in_scope and not ans.citations and not ans.passages
    assert "ander embeddingmodel" in ans.answer and "praktijkkaart ingest" in ans.answer
    assert "fake|hashed-trigrams|128" in ans.answer and "fake|hashed-trigrams|256" in ans.answer
    with pytest.raises(StoreError, match="ander embeddingmodel"):
        a.retrieve("ouders betrekken")
    with pytest.raises(StoreError):
        a.status()

    # Ingest with the configured embedder again: the first version's vectors are reused, nothing embedded.
    third = run_ingest(chroma_settings)
    assert third.published and third.embedded == 0 and third.embedder == first.embedder
    fresh = build_assistant(chroma_settings).answer("Hoe betrek ik ouders die slecht Nederlands spreken?")
    assert fresh.status in ("ok", "declined", "not_covered") and fresh.meta["version"] == third.version  # fake: scope may decline


def test_versions_beyond_keep_versions_are_pruned(corpus_copy: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedding={"backend": "fake"}, store={"keep_versions": 2})
    path = corpus_copy / "praktijkkaart.yaml"
    published = [run_ingest(settings).version]
    for n in range(3):
        edit_yaml(path, OLD_Q if n == 0 else f"versie {n - 1}?", f"versie {n}?")
        published.append(run_ingest(settings).version)
        names = {v.name for v in store_for(settings).versions()}
        assert names == set(published[-2:])  # the live one and the one before it


# --- atomicity and resuming (in-process failures) ------------------------------------------------------

class FailingEmbedder:
    """A fake embedder that raises after `ok_batches` passage batches (a crash halfway through)."""

    def __init__(self, ok_batches: int, dim: int = 256) -> None:
        self.inner, self.ok_batches, self.calls = FakeEmbedder(dim), ok_batches, 0

    @property
    def info(self):
        return self.inner.info

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_passages(self, texts):
        self.calls += 1
        if self.calls > self.ok_batches:
            raise RuntimeError("embedder crashed")
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts):
        return self.embed_passages(texts)


def test_crash_halfway_keeps_old_version_serving_and_next_ingest_resumes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding={"backend": "fake", "batch_size": 10})
    first = run_ingest(settings)
    with pytest.raises(RuntimeError, match="embedder crashed"):
        run_ingest(settings, embedder=FailingEmbedder(ok_batches=5, dim=128))
    store = store_for(settings)
    assert store.live().name == first.version and store.live().count == first.total
    ans = build_assistant(settings).answer("Hoe betrek ik ouders die slecht Nederlands spreken?")
    assert ans.status == "ok" and ans.meta["version"] == first.version
    partial = [v for v in store.versions() if v.name != first.version]
    assert len(partial) == 1 and partial[0].count == 50

    resumed = run_ingest(settings, embedder=FakeEmbedder(dim=128))
    assert resumed.published and resumed.embedded == resumed.total - 50  # the 50 done before the crash are reused
    assert store.live().count == resumed.total
    assert len(store.versions()) <= settings.store.keep_versions


def test_incomplete_build_is_not_published(tmp_path: Path) -> None:
    class LossyStore(MemoryStore):
        def upsert(self, version, records):
            super().upsert(version, [r for r in records if not r.id.startswith("t3.")])

    settings = Settings(store={"backend": "memory"}, embedding={"backend": "fake"}, data_dir=tmp_path)
    good = MemoryStore()
    first = run_ingest(settings, store=good)
    lossy = LossyStore()
    with pytest.raises(StoreError, match="onvolledig"):
        run_ingest(settings, store=lossy)
    assert lossy.live() is None
    assert good.live().name == first.version



def test_build_whose_search_is_broken_is_not_published(tmp_path: Path) -> None:
    class BlindStore(MemoryStore):
        def query(self, version, embedding, k, where=None):
            return []  # stored everything, finds nothing: a corrupt index

    settings = Settings(store={"backend": "memory"}, embedding={"backend": "fake"}, data_dir=tmp_path)
    blind = BlindStore()
    with pytest.raises(StoreError, match="geen zoekresultaten"):
        run_ingest(settings, store=blind)
    assert blind.live() is None

# --- the writer lock -------------------------------------------------------------------------------------

def test_second_ingest_while_locked_raises_ingest_busy(chroma_settings: Settings) -> None:
    chroma_settings.data_dir.mkdir(parents=True, exist_ok=True)
    held = FileLock(str(chroma_settings.data_dir / "ingest.lock"))
    held.acquire()
    try:
        with pytest.raises(IngestBusy, match="Er loopt al een ingest"):
            run_ingest(chroma_settings)
        assert store_for(chroma_settings).live() is None  # nothing was written
        # A waiting ingest (lock_timeout) gets the lock as soon as the holder lets go.
        result: dict[str, object] = {}

        def waiting_ingest() -> None:
            started = time.monotonic()
            try:
                result["summary"] = run_ingest(chroma_settings, lock_timeout=30)
            except BaseException as exc:  # noqa: BLE001
                result["error"] = exc
            result["waited"] = time.monotonic() - started

        t = threading.Thread(target=waiting_ingest)
        t.start()
        time.sleep(0.5)
        assert t.is_alive()  # still waiting for the lock
    finally:
        held.release()  # (filelock is thread-local: release in the thread that acquired)
    t.join(timeout=60)
    assert "error" not in result, result
    assert result["summary"].published and result["waited"] >= 0.4


def test_lock_held_by_another_process_blocks_ingest(chroma_settings: Settings) -> None:
    chroma_settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = chroma_settings.data_dir / "ingest.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
                               "l.acquire(); print('held', flush=True); time.sleep(60)", str(lock_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IngestBusy):
            run_ingest(chroma_settings, lock_timeout=0.3)
        assert store_for(chroma_settings).live() is None  # nothing was written
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert run_ingest(chroma_settings).published  # a lock of a dead process does not block


# --- kill -9 ---------------------------------------------------------------------------------------------

HELPER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from praktijkkaart.settings import Settings
    from ingest.pipeline import run_ingest
    from vectorstore.embedders import FakeEmbedder

    class Slow:
        def __init__(self, inner, delay):
            self.inner, self.delay = inner, delay
        @property
        def info(self):
            return self.inner.info
        def embed_query(self, text):
            return self.inner.embed_query(text)
        def embed_passages(self, texts):
            time.sleep(self.delay)
            return self.inner.embed_passages(texts)
        def embed_queries(self, texts):
            time.sleep(self.delay)
            return self.inner.embed_queries(texts)

    data_dir, dim, delay = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    settings = Settings(data_dir=data_dir, embedding={"backend": "fake", "batch_size": 8})
    print("start", flush=True)
    summary = run_ingest(settings, embedder=Slow(FakeEmbedder(dim), delay),
                         progress=lambda done, total: print("progress", done, total, flush=True))
    print("done", json.dumps(summary.to_json()), flush=True)
""")


def _spawn(helper: Path, data_dir: Path, dim: int, delay: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, str(helper), str(data_dir), str(dim), str(delay)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen[str], should_kill) -> str:
    """Read the child's output until should_kill(line) says so, then SIGKILL it. Returns the last line."""
    assert proc.stdout is not None
    line = ""
    for line in proc.stdout:
        if should_kill(line.split()):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"child ended by itself ({proc.returncode}): {line}"
    return line


@pytest.mark.slow
def test_kill_minus_9_at_three_points_leaves_old_version_serving(tmp_path: Path) -> None:
    seed = int(os.environ.get("PRAKTIJKKAART_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)  # rerun a failure with PRAKTIJKKAART_TEST_SEED=<seed>
    helper = tmp_path / "slow_ingest.py"
    helper.write_text(HELPER, encoding="utf-8")
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, embedding={"backend": "fake"}, store={"keep_versions": 2})
    first = run_ingest(settings)  # the live version the killed ingests must not disturb
    total = first.total
    old_assistant_q = "Hoe betrek ik ouders die slecht Nederlands spreken?"

    mid, late = rng.randint(total // 4, 3 * total // 4), total - rng.randint(0, 4)  # drawn once, in order
    kill_points = [
        # right after start: lock taken, chunking / version creation under way
        lambda w: w[:1] == ["start"] and (time.sleep(rng.uniform(0.0, 0.4)) or True),
        # in the middle of embedding
        lambda w, at=mid: w[:1] == ["progress"] and int(w[1]) >= at,
        # near the end: last batches, validation, maybe publishing
        lambda w, at=late: w[:1] == ["progress"] and int(w[1]) >= at,
    ]
    for point, should_kill in enumerate(kill_points):
        proc = _spawn(helper, data_dir, 128, delay=0.03)
        last = _kill_when(proc, should_kill)
        store = store_for(settings)
        live = store.live()
        assert live is not None, f"seed {seed}, kill point {point}: no live version"
        if live.name == first.version:
            # The previous version still answers, through an app configured for its embedder.
            ans = build_assistant(settings).answer(old_assistant_q)
            assert ans.status == "ok" and ans.in_scope and ans.meta["version"] == first.version, (seed, point, last)
            assert live.count == total
        else:  # the kill came after the switch: then the new version must be complete
            assert live.embedder == "fake|hashed-trigrams|128" and live.count == total, (seed, point, last)
        recs = store.get_all(live.name)
        assert len(recs) == len({r.id for r in recs}) == total

    # What the killed builds left behind with the new embedder is reused by the next (unkilled) ingest.
    store = store_for(settings)
    reusable: set[str] = set()
    for v in store.versions():
        if v.embedder == "fake|hashed-trigrams|128":
            reusable |= {r.id for r in store.get_all(v.name)}
    wanted = {c.id for c in collect_chunks(settings)[0]}
    final = run_ingest(settings, embedder=FakeEmbedder(dim=128))
    if store.live().name != final.version:  # the third kill may already have published everything
        assert not final.published and final.embedded == 0
    else:
        assert final.published and final.embedded == len(wanted - reusable)
    live = store.live()
    recs = store.get_all(live.name, with_embeddings=True)
    assert live.count == len(recs) == total == len(wanted)
    assert {r.id for r in recs} == wanted  # no duplicates, no orphans
    assert all(r.embedding is not None and r.embedding.shape == (128,) for r in recs)
    assert len(store.versions()) <= settings.store.keep_versions
    assert any(v.name == live.name for v in store.versions())
    # And it answers with the matching embedder.
    ans = build_assistant(settings, embedder=FakeEmbedder(dim=128)).answer(old_assistant_q)
    assert ans.status == "ok" and ans.meta["version"] == live.name


def test_memory_backend_ingests_on_first_question(fake_settings: Settings) -> None:
    store = make_store(fake_settings)
    assert isinstance(store, MemoryStore)
    a = build_assistant(fake_settings, store=store)
    ans = a.answer("Hoe betrek ik ouders die slecht Nederlands spreken?")
    assert store.live() is not None and ans.meta["version"] == store.live().name
    assert store.count(store.live().name) == len(collect_chunks(fake_settings)[0])


def test_ingest_summary_json_round_trips(chroma_settings: Settings) -> None:
    s = run_ingest(chroma_settings)
    assert yaml.safe_load(json.dumps(s.to_json())) == s.to_json()
