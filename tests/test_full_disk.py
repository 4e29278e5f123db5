"""A full disk (issue 14, point 6), on a real small tmpfs filled with zeros (tests/full_disk.py).

Readers keep serving from a full data volume (`ask`, `status`, `doctor` write nothing there), `doctor` names
the cause ("Schijf vol") and the fix (free space, not "delete the store"), `ingest` stops with a Dutch
message and exit 2 instead of a chromadb traceback and leaves the live version answering, and a question
log or feedback that cannot be written never costs the answer. Fake embedder: the model is not the point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from full_disk import Volume, small_volume

from praktijkkaart.settings import CORPUS_DIR

ROOT = Path(__file__).resolve().parent.parent
PARENTS = "Hoe betrek ik ouders die slecht Nederlands spreken?"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env.update(PRAKTIJKKAART_DATA_DIR=str(data_dir), PRAKTIJKKAART_EMBEDDING__BACKEND="fake",
               ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1",
               PYTHONPATH=str(ROOT))
    return {**env, **extra}


def cli(vol: Volume, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI as a script runs it, where the small volume is mounted."""
    proc = vol.run([sys.executable, "-m", "praktijkkaart.cli", *args], cwd=ROOT, env=env, timeout=300)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    return proc


def files(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Every file under the data dir with its size and mtime: what a reader must leave alone."""
    return {str(p.relative_to(data_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(data_dir.rglob("*")) if p.is_file()}


def changed_corpus(tmp_path: Path) -> Path:
    """A corpus (on the normal disk) whose 400 off-topic questions all changed: ingest has work to do."""
    target = tmp_path / "corpus-changed"
    shutil.copytree(CORPUS_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    path = target / "offtopic.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count('question: "') >= 400
    path.write_text(text.replace('question: "', 'question: "Even iets anders: '), encoding="utf-8")
    return target


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Volume]:
    with small_volume(tmp_path) as vol:
        yield vol


@pytest.fixture
def ingested(volume: Volume) -> tuple[Path, str]:
    """An index on the small volume: (data dir, live version)."""
    data = volume.path / "data"
    proc = cli(volume, ["ingest", "--json"], _env(data))
    assert proc.returncode == 0, proc.stderr
    return data, json.loads(proc.stdout)["version"]


def ask_json(volume: Volume, data: Path, **extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = cli(volume, ["ask", PARENTS, "--json"], _env(data, **extra))
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.mark.slow
def test_ask_status_and_doctor_serve_from_a_full_disk(volume: Volume, ingested: tuple[Path, str],
                                                      tmp_path: Path) -> None:
    data, version = ingested
    volume.fill()
    before = files(volume.inside(data))
    tmp = tmp_path / "tmp"  # where the readers put their read-only copy (TMPDIR), on the normal disk
    tmp.mkdir()

    _, answer = ask_json(volume, data, TMPDIR=str(tmp))
    assert answer["status"] == "ok" and answer["in_scope"] and answer["citations"], answer
    assert answer["meta"]["version"] == version

    status = cli(volume, ["status", "--json"], _env(data, TMPDIR=str(tmp)))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["version"] == version

    doctor = cli(volume, ["doctor", "--json"], _env(data, TMPDIR=str(tmp)))
    report = json.loads(doctor.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert doctor.returncode == 1 and report["ok"] is False
    assert checks["vectorstore"]["ok"] and checks["live versie"]["ok"] and checks["aantal stukken"]["ok"], checks
    disk = checks["schijfruimte"]  # the real cause, and the fix: free space (the index is fine)
    assert not disk["ok"] and "Schijf vol" in disk["detail"] and "ruimte vrij" in disk["detail"], disk
    assert f"alleen-lezen kopie in {tmp}" in checks["vectorstore"]["detail"]  # readers serve a copy meanwhile
    assert not any("verwijder de map" in c["detail"] for c in report["checks"]), checks

    assert files(volume.inside(data)) == before  # nothing a reader did wrote to the full volume
    assert volume.free() == 0
    assert list(tmp.iterdir()) == []  # each reader removed its copy when it ended


@pytest.mark.slow
def test_ingest_on_a_full_disk_is_a_dutch_message_and_the_live_version_keeps_answering(
        volume: Volume, ingested: tuple[Path, str], tmp_path: Path) -> None:
    data, version = ingested
    corpus = str(changed_corpus(tmp_path))
    volume.fill()

    failed = cli(volume, ["ingest"], _env(data, PRAKTIJKKAART_CORPUS_DIR=corpus))
    assert failed.returncode == 2, (failed.stdout, failed.stderr)
    assert "Schijf vol" in failed.stderr and "ruimte vrij" in failed.stderr, failed.stderr
    assert "vorige indexversie blijft" in failed.stderr
    assert "InternalError" not in failed.stderr and "chromadb" not in failed.stderr

    _, answer = ask_json(volume, data, PRAKTIJKKAART_CORPUS_DIR=corpus)
    assert answer["status"] == "ok" and answer["meta"]["version"] == version

    volume.unfill()  # space freed: the next ingest publishes and readers move on to it
    again = cli(volume, ["ingest", "--json"], _env(data, PRAKTIJKKAART_CORPUS_DIR=corpus))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["published"] and summary["version"] != version
    assert ask_json(volume, data, PRAKTIJKKAART_CORPUS_DIR=corpus)[1]["meta"]["version"] == summary["version"]


def segment_dirs(volume: Volume, data: Path) -> set[str]:
    return {p.name for p in volume.inside(data / "chroma").iterdir() if p.is_dir()}


@pytest.mark.slow
def test_ingest_without_room_for_a_new_version_stops_before_writing(volume: Volume, ingested: tuple[Path, str],
                                                                    tmp_path: Path) -> None:
    """Room to open the store (2 MB), not for the new version (about 14 MB): stop before writing any of it."""
    data, version = ingested
    corpus = str(changed_corpus(tmp_path))
    volume.fill(leave=2 << 20)
    segments = segment_dirs(volume, data)

    failed = cli(volume, ["ingest"], _env(data, PRAKTIJKKAART_CORPUS_DIR=corpus))
    assert failed.returncode == 2, (failed.stdout, failed.stderr)
    assert "Schijf vol" in failed.stderr and "nodig is ongeveer" in failed.stderr, failed.stderr
    assert "vorige indexversie blijft" in failed.stderr
    assert segment_dirs(volume, data) == segments  # no half-built version takes up the last space
    assert ask_json(volume, data, PRAKTIJKKAART_CORPUS_DIR=corpus)[1]["meta"]["version"] == version


_FILL_DURING_INGEST = """
import json, sys
from pathlib import Path
from ingest.pipeline import run_ingest
from praktijkkaart.settings import Settings
from vectorstore.base import StoreError

volume, data, corpus = map(Path, sys.argv[1:4])
ticks = []

def fill(done, total):  # another process takes the last space while this ingest writes
    ticks.append(done)
    if len(ticks) > 1:
        return
    with open(volume / "ballast.zeros", "ab", buffering=0) as fh:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    fh.write(bytes(size))
            except OSError:
                pass

try:
    s = run_ingest(Settings(data_dir=data, corpus_dir=corpus, embedding={"backend": "fake"}), progress=fill)
    print(json.dumps({"published": s.published, "ticks": ticks}))
except StoreError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc), "ticks": ticks}))
"""


@pytest.mark.slow
def test_volume_that_fills_up_while_ingest_writes(volume: Volume, ingested: tuple[Path, str],
                                                  tmp_path: Path) -> None:
    """The space check passes, then the volume fills up halfway the new version: chromadb fails with "Error in
    compaction: Failed to apply logs to the metadata segment" (no word about the disk); that is a Dutch
    IngestFailed "Schijf vol", nothing is published, and the next ingest (with room) completes."""
    data, version = ingested
    corpus = changed_corpus(tmp_path)
    proc = volume.run([sys.executable, "-c", _FILL_DURING_INGEST, str(volume.path), str(data), str(corpus)],
                      cwd=ROOT, env=_env(data), timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result.get("error") == "IngestFailed", result
    assert result["ticks"] and result["ticks"][0] > 0  # it failed halfway: records had been written
    assert "Schijf vol" in result["message"] and "vorige indexversie blijft" in result["message"], result
    assert volume.free() < 1 << 20

    assert ask_json(volume, data, PRAKTIJKKAART_CORPUS_DIR=str(corpus))[1]["meta"]["version"] == version
    volume.unfill()
    again = cli(volume, ["ingest", "--json"], _env(data, PRAKTIJKKAART_CORPUS_DIR=str(corpus)))
    assert again.returncode == 0 and json.loads(again.stdout)["published"], again.stderr


_READER_ON_A_COPY = """
import json, sys
from pathlib import Path
import vectorstore.chroma as chroma
from ingest.pipeline import run_ingest
from praktijkkaart.settings import Settings
from vectorstore.base import EmbedderInfo
from vectorstore.disk import ReadOnlyStore
from vectorstore.factory import make_store

volume, data, corpus = map(Path, sys.argv[1:4])
chroma._RETRY_REAL_S = 0.0  # try the real store again at every live() (30 s in production)
settings = Settings(data_dir=data, embedding={"backend": "fake"})
reader = make_store(settings)
out = {"first": reader.live().name, "copy": reader.read_only_reason}
try:
    reader.create_version("praktijkkaart_vx", EmbedderInfo("fake", "x", 3))
except ReadOnlyStore as exc:
    out["refused"] = str(exc)
(volume / "ballast.zeros").unlink()  # room again; an ingest publishes a new version
out["published"] = run_ingest(Settings(data_dir=data, corpus_dir=corpus, embedding={"backend": "fake"})).version
out["after"], out["copy_after"] = reader.live().name, reader.read_only_reason
print(json.dumps(out))
"""


@pytest.mark.slow
def test_reader_on_a_copy_refuses_writes_and_returns_to_the_store_when_there_is_room(
        volume: Volume, ingested: tuple[Path, str], tmp_path: Path) -> None:
    data, version = ingested
    corpus = changed_corpus(tmp_path)
    volume.fill()
    proc = volume.run([sys.executable, "-c", _READER_ON_A_COPY, str(volume.path), str(data), str(corpus)],
                      cwd=ROOT, env=_env(data), timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["first"] == version and "alleen-lezen kopie" in out["copy"], out
    assert "alleen gelezen" in out["refused"]  # a write never lands in the copy
    assert out["after"] == out["published"] != version and out["copy_after"] is None, out


_NO_ROOM_FOR_A_COPY = """
import json, sys
from pathlib import Path
import vectorstore.disk as disk
from assistant.wiring import build_assistant
from praktijkkaart.settings import Settings

disk._COPY_PLACES = (sys.argv[1],)  # the temp dir is on the full volume too
answer = build_assistant(Settings(data_dir=Path(sys.argv[2]), embedding={"backend": "fake"})).answer(sys.argv[3])
print(json.dumps({"status": str(answer.status), "answer": answer.answer}))
"""


@pytest.mark.slow
def test_no_room_anywhere_for_the_copy_is_a_dutch_message(volume: Volume, ingested: tuple[Path, str]) -> None:
    data, _ = ingested
    volume.fill()
    proc = volume.run([sys.executable, "-c", _NO_ROOM_FOR_A_COPY, str(volume.path), str(data), PARENTS],
                      cwd=ROOT, env=_env(data), timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["status"] == "store_error" and out["answer"].startswith("Schijf vol"), out
    assert "geen ruimte voor een alleen-lezen kopie" in out["answer"] and "verwijder die niet" in out["answer"]


@pytest.mark.slow
def test_question_log_on_a_full_volume_keeps_the_answer(volume: Volume, ingested: tuple[Path, str]) -> None:
    data, version = ingested
    volume.fill()

    proc, answer = ask_json(volume, data, PRAKTIJKKAART_PRIVACY__LOG_QUESTIONS="true")
    assert answer["status"] == "ok" and answer["in_scope"] and answer["meta"]["version"] == version
    assert "### Bronnen" in answer["answer"]
    warning = "de vraag kon niet in het vragenlogboek worden geschreven"
    assert warning in proc.stderr and "schijf vol" in proc.stderr.lower(), proc.stderr
    assert any(warning in w for w in answer["warnings"])

    text = cli(volume, ["ask", PARENTS], _env(data, PRAKTIJKKAART_PRIVACY__LOG_QUESTIONS="true"))
    assert text.returncode == 0 and "### Bronnen" in text.stdout
    assert warning in text.stderr and warning not in text.stdout


_FEEDBACK = """
import json, sys
from pathlib import Path
import assistant.feedback as fb
from praktijkkaart.settings import Settings
s = Settings(data_dir=Path(sys.argv[2]), embedding={"backend": "fake"})
if sys.argv[1] == "save":
    r = fb.store_feedback(s, answer_id=sys.argv[3], question="Hoe betrek ik ouders?", answer="Zo [1].",
                          passage_ids=["t2.q1"], thumbs=1, comment="Duidelijk, dank je.")
    print(json.dumps({"saved": r.saved, "problem": r.problem}))
elif sys.argv[1] == "raise":
    try:
        fb.save_feedback(s, answer_id="a3", question="q", answer="a", passage_ids=[], thumbs=1)
    except fb.FeedbackWriteError as exc:
        print(json.dumps({"raised": str(exc)}))
else:
    print(json.dumps({"ids": [r.id for r in fb.list_feedback(s)]}))
"""


def feedback(volume: Volume, *args: str | Path) -> dict:
    """The assistant's feedback store, called where the small volume is mounted (SQLite needs the real path)."""
    proc = volume.run([sys.executable, "-c", _FEEDBACK, *map(str, args)], cwd=ROOT, env=_env(volume.path),
                      timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_feedback_on_a_full_disk_is_an_error_value_not_a_crash(volume: Volume) -> None:
    data = volume.path / "data"
    assert feedback(volume, "save", data, "a1") == {"saved": True, "problem": None}
    volume.fill()

    later = feedback(volume, "save", data, "a2")
    assert later["saved"] is False and "Schijf vol" in later["problem"] and "ruimte vrij" in later["problem"]
    assert "Schijf vol" in feedback(volume, "raise", data)["raised"]  # the raising form says the same
    assert feedback(volume, "list", data) == {"ids": ["a1"]}  # what was stored is intact and readable

    fresh = feedback(volume, "save", volume.path / "nieuw", "b1")  # no database yet either
    assert fresh["saved"] is False and "Schijf vol" in fresh["problem"]


@pytest.mark.slow
def test_forget_on_a_full_disk_removes_the_logs_and_says_why_feedback_stays(volume: Volume) -> None:
    data = volume.path / "data"
    assert feedback(volume, "save", data, "a1")["saved"]
    old_log = volume.inside(data) / "logs" / "vragen-2020-01-01.log"
    old_log.parent.mkdir()
    old_log.write_text("2020-01-01T08:00:00+00:00\toude vraag\n", encoding="utf-8")
    volume.fill()

    proc = cli(volume, ["forget", "--before", "2100-01-01"], _env(data))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Schijf vol" in proc.stderr and "ruimte vrij" in proc.stderr, proc.stderr
    assert not old_log.exists()  # the logs go anyway (that frees space)
    assert feedback(volume, "list", data) == {"ids": ["a1"]}

    volume.unfill()
    again = cli(volume, ["forget", "--before", "2100-01-01", "--json"], _env(data))
    assert again.returncode == 0 and json.loads(again.stdout)["feedback_deleted"] == 1, again.stderr
