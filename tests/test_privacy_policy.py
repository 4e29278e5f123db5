"""One personal-data policy on every path (issue 14): `ask --json`, the Python API, `retrieve`, the
question log and history. A question with personal data gets status personal_data, no retrieval runs
and nothing is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.types import AnswerStatus
from assistant.wiring import answer, build_assistant
from praktijkkaart import cli
from praktijkkaart.settings import Settings
from tests.test_privacy_variants import VARIANTS

ROOT = Path(__file__).resolve().parent.parent


class _NoRetrieval:
    """A store and embedder that fail the test when touched: personal data must stop before retrieval."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"retrieval touched ({name}) for a question with personal data")


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRAKTIJKKAART_PRIVACY__LOG_QUESTIONS", "true")
    monkeypatch.setattr("assistant.wiring.build_assistant",
                        lambda s, **_kw: build_assistant(s, store=_NoRetrieval(), embedder=_NoRetrieval()))  # type: ignore[arg-type]
    return Settings()


def test_at_least_forty_variants_are_held_back_by_ask_json(guarded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    held = 0
    for text, _kind, secrets in VARIANTS:
        assert cli.main(["ask", "--json", text]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["status"] == "personal_data", text
        assert data["passages"] == [] and data["citations"] == []
        dump = json.dumps(data, ensure_ascii=False)
        assert not any(s in dump for s in secrets), (text, dump)  # not even echoed back
        held += 1
    assert held >= 40
    assert not (guarded.data_dir / "logs").exists()  # nothing written


def test_history_with_personal_data_is_held_back(guarded: Settings, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": "Mijn leerling Sanne de Vries wordt gepest"},
                                   {"role": "assistant", "content": "..."}]), encoding="utf-8")
    assert cli.main(["ask", "--json", "--history", str(history), "en wat kan het team doen?"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "personal_data"


def test_python_api_and_retrieve_hold_back_personal_data(guarded: Settings) -> None:
    a = build_assistant(guarded, store=_NoRetrieval(), embedder=_NoRetrieval())  # type: ignore[arg-type]
    ans = answer("bsn 12 34 56 782, wat moet ik doen?", assistant=a)
    assert ans.status == AnswerStatus.PERSONAL_DATA and not ans.in_scope and "[BSN]" in ans.question
    assert a.retrieve("Sanne de Vries uit groep 7 wordt gepest") == []


@pytest.mark.slow
def test_ask_json_in_a_real_process(tmp_path: Path) -> None:
    """The installed command, not just main(): status personal_data and no store created on disk."""
    env = {"PATH": "/usr/bin:/bin", "PRAKTIJKKAART_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "ask", "--json",
                          "mentorleerling Sanne zit niet lekker in haar vel"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["status"] == "personal_data"
    assert not any(tmp_path.iterdir())
