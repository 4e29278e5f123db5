"""Readiness: `praktijkkaart doctor` and the app when the store is missing, corrupt or unreachable.

The doctor opens the store in a subprocess, so a corrupt local index (or a probe that dies outright) is a
failed check with a Dutch fix, never a crash of the caller. The Streamlit app shows the Dutch message
instead of a traceback (driven headless with streamlit.testing.v1.AppTest, like tests/test_ui_apptest.py).
All of it with the fake embedder and the embedded store in a tmp dir: no model, no network.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import praktijkkaart.doctor as doctor
from ingest.pipeline import run_ingest
from praktijkkaart.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "ui" / "app.py")


def _cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    return {**env, "PRAKTIJKKAART_DATA_DIR": str(data_dir), "PRAKTIJKKAART_EMBEDDING__BACKEND": "fake", **extra}


def doctor_json(data_dir: Path, **extra: str) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "doctor", "--json"], cwd=ROOT,
                         env=_cli_env(data_dir, **extra), capture_output=True, text=True, timeout=180)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


def checks_by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def corrupt_store(data_dir: Path) -> Path:
    """A local index whose SQLite file is garbage (as after a disk error or a half-copied backup)."""
    db = data_dir / "chroma" / "chroma.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"\x00garbage, not a database\xff" * 4096)
    return db


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- doctor --------------------------------------------------------------------------------------------------

def test_doctor_json_is_ok_after_ingest(tmp_path: Path) -> None:
    summary = run_ingest(Settings(data_dir=tmp_path, embedding={"backend": "fake"}))
    code, report = doctor_json(tmp_path)
    assert code == 0 and report["ok"] is True, report
    checks = checks_by_name(report)
    assert {"vectorstore", "live versie", "aantal stukken", "embedder"} <= checks.keys()
    assert all(c["ok"] for c in report["checks"])
    assert summary.version in checks["live versie"]["detail"]
    assert checks["aantal stukken"]["detail"] == f"{summary.total} stukken"


def test_doctor_on_a_missing_store_says_to_ingest(tmp_path: Path) -> None:
    code, report = doctor_json(tmp_path / "nog-niets")
    assert code == 1 and report["ok"] is False
    checks = checks_by_name(report)
    assert checks["vectorstore"]["ok"]  # reachable, just empty
    assert not checks["live versie"]["ok"]
    assert "Er is nog geen index" in checks["live versie"]["detail"]
    assert "praktijkkaart ingest" in checks["live versie"]["detail"]
    assert checks["embedder"]["ok"]


def test_doctor_text_output_is_dutch(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "doctor"], cwd=ROOT, env=_cli_env(tmp_path),
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 1
    assert "[FOUT] live versie" in out.stdout and "zie hierboven hoe je het herstelt" in out.stdout


def test_doctor_on_an_unreachable_server_names_the_setting(tmp_path: Path) -> None:
    code, report = doctor_json(tmp_path, PRAKTIJKKAART_STORE__CHROMA_URL=f"http://127.0.0.1:{closed_port()}")
    assert code == 1
    check = checks_by_name(report)["vectorstore"]
    assert not check["ok"] and "PRAKTIJKKAART_STORE__CHROMA_URL" in check["detail"]


def test_corrupt_local_index_is_a_failed_check_not_a_crash(tmp_path: Path) -> None:
    """The caller (this test process) opens nothing itself: the probe subprocess meets the garbage."""
    corrupt_store(tmp_path)
    checks = doctor.run_checks(Settings(data_dir=tmp_path, embedding={"backend": "fake"}))
    store = next(c for c in checks if c.name == "vectorstore")
    assert not store.ok
    assert "De vectorstore kan niet worden geopend" in store.detail
    assert "Herstel: verwijder de map en bouw opnieuw met `praktijkkaart ingest`" in store.detail
    assert "file is not a database" in store.detail  # the real cause, for the administrator
    # and through the CLI, as JSON
    code, report = doctor_json(tmp_path)
    assert code == 1 and not checks_by_name(report)["vectorstore"]["ok"]


def test_probe_that_dies_from_a_signal_is_a_failed_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A corrupt native index can kill the process that opens it (SIGSEGV); that process is the probe."""
    monkeypatch.setattr(doctor, "_PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    checks = doctor.run_checks(Settings(data_dir=tmp_path, embedding={"backend": "fake"}))
    store = next(c for c in checks if c.name == "vectorstore")
    assert not store.ok and "praktijkkaart ingest" in store.detail


def test_probe_that_hangs_is_a_failed_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_PROBE", "import time; time.sleep(60)")
    checks = doctor.run_checks(Settings(data_dir=tmp_path, embedding={"backend": "fake"}), timeout_s=1.0)
    store = next(c for c in checks if c.name == "vectorstore")
    assert not store.ok and "reageert niet" in store.detail


# --- the app -------------------------------------------------------------------------------------------------

def _all_text(at: AppTest) -> str:
    parts = [e.value for e in at.error] + [w.value for w in at.warning] + [m.value for m in at.markdown]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("broken", ["ontbreekt", "corrupt", "server onbereikbaar"])
def test_app_shows_the_dutch_message_instead_of_a_traceback(broken: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("PRAKTIJKKAART_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRAKTIJKKAART_EMBEDDING__BACKEND", "fake")
    if broken == "corrupt":
        corrupt_store(tmp_path)
        expected = "is niet bereikbaar"
    elif broken == "server onbereikbaar":
        monkeypatch.setenv("PRAKTIJKKAART_STORE__CHROMA_URL", f"http://127.0.0.1:{closed_port()}")
        expected = "is niet bereikbaar"
    else:
        expected = "Er is nog geen index"

    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    [error] = at.error
    assert expected in error.value
    assert "Intussen kun je de praktijkkaart zelf lezen op de pagina Bronnen" in error.value
    assert "Traceback" not in _all_text(at)
    assert at.chat_input[0].proto.disabled, "no questions while the store is not ready"
    # a rerun (the user tries again) still shows the message, not a cached failure or a crash
    at.run()
    assert not at.exception and len(at.error) == 1

    if broken == "corrupt":  # the corrupt file is left alone for the administrator to inspect
        assert (tmp_path / "chroma" / "chroma.sqlite3").read_bytes().startswith(b"\x00garbage")
