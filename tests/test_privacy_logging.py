"""Privacy (AVG): question logging is off by default; when on, personal data is redacted before anything is
written; feedback is redacted too; `praktijkkaart forget --before DATE` removes old logs and feedback.

Synthetic pupil data only. After asking and giving feedback, EVERY file under the data dir (the embedded
Chroma store, the lock, the logs, the feedback SQLite) is read as bytes and searched for the raw values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.feedback import db_path, list_feedback, save_feedback
from assistant.privacy import is_valid_bsn, is_valid_iban
from assistant.wiring import build_assistant
from ingest.pipeline import run_ingest
from praktijkkaart.settings import PrivacySettings, Settings

ROOT = Path(__file__).resolve().parent.parent

BSN = "111222333"
EMAIL = "sanne.devries@voorbeeldschool.nl"
PHONE = "06-12345678"
IBAN = "NL91ABNA0417164300"
NAME = "Sanne de Vries"
# Every raw value, also the parts a partial redaction could leave behind.
RAW = [BSN, "111 222 333", EMAIL, "devries@", PHONE, "0612345678", "6-1234567", IBAN, "0417164300", NAME, "Sanne", "de Vries"]

QUESTIONS = [
    f"Hoe help ik leerling {NAME} (BSN {BSN}) die zich niet welkom voelt?",
    f"Mag ik de ouders mailen op {EMAIL} of bellen op {PHONE} over haar overstap?",
    f"De ouderbijdrage kan naar {IBAN}; hoe betrekken we ouders die slecht Nederlands spreken?",
    "Hoe help ik leerling Sanne de Vries met de overstap naar het vo? Haar BSN is 111 222 333.",
]


def test_synthetic_data_is_what_it_claims_to_be() -> None:
    assert is_valid_bsn(BSN) and is_valid_iban(IBAN)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def leaks(root: Path) -> dict[str, list[str]]:
    """Raw values found in any file under `root` (bytes, case-insensitive, UTF-8 and UTF-16)."""
    found: dict[str, list[str]] = {}
    for path in files_under(root):
        data = path.read_bytes().lower()
        for raw in RAW:
            for enc in ("utf-8", "utf-16-le"):
                if raw.lower().encode(enc) in data:
                    found.setdefault(str(path.relative_to(root)), []).append(f"{raw} ({enc})")
    return found


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


CLEAN = "Hoe betrekken we ouders die slecht Nederlands spreken?"


def ask_all(settings: Settings) -> None:
    """Ingest into the embedded Chroma store in the data dir, then ask every question (fake embedder).

    One personal-data policy (assistant/privacy): such a question is held back, not answered and not logged.
    """
    run_ingest(settings)
    assistant = build_assistant(settings)
    for q in QUESTIONS:
        ans = assistant.answer(q)
        assert ans.status == "personal_data", (q, ans.status, ans.answer)
        assert not any(raw in ans.question or raw in ans.answer for raw in RAW[:9]), ans
    assert assistant.answer(CLEAN).status in {"ok", "declined", "not_covered"}


def test_question_logging_is_off_by_default(store_dir: Path) -> None:
    settings = Settings(data_dir=store_dir, embedding={"backend": "fake"})
    assert PrivacySettings.model_fields["log_questions"].default is False and settings.privacy.log_questions is False
    ask_all(settings)
    assert not (store_dir / "logs").exists()
    written = [p.relative_to(store_dir).as_posix() for p in files_under(store_dir)]
    assert written and all(p == "ingest.lock" or p.startswith("chroma/") for p in written), written
    assert leaks(store_dir) == {}


def test_logged_questions_and_feedback_are_redacted_everywhere(store_dir: Path) -> None:
    settings = Settings(data_dir=store_dir, embedding={"backend": "fake"}, privacy={"log_questions": True})
    ask_all(settings)
    [log] = list((store_dir / "logs").glob("vragen-*.log"))
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and CLEAN in lines[0], lines  # held-back questions are not logged at all

    # Feedback through the store the UI uses: question, answer (an LLM could echo) and comment.
    for n, q in enumerate(QUESTIONS):
        save_feedback(settings, answer_id=f"a{n}", question=q, answer=f"Je vroeg over {q}", passage_ids=["t2.q1"],
                      thumbs=n % 2, comment=f"Bel me op {PHONE} of mail {EMAIL}, gaat over leerling {NAME}")
    stored = list_feedback(settings)
    assert len(stored) == len(QUESTIONS)
    assert all("[naam]" in r.comment and "[telefoonnummer]" in r.comment for r in stored)
    assert any("[BSN]" in r.question for r in stored) and any("[IBAN]" in r.answer for r in stored)

    assert db_path(settings).exists()
    found = leaks(store_dir)
    assert found == {}, f"raw personal data on disk: {found}"


def test_ui_input_with_personal_data_is_held_back_before_anything_is_written(store_dir: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat refuses to send such a question at all (so it is neither answered, logged nor stored)."""
    from streamlit.testing.v1 import AppTest

    for key in [k for k in os.environ if k.startswith("PRAKTIJKKAART_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(store_dir))
    monkeypatch.setenv("PRAKTIJKKAART_STORE__BACKEND", "memory")
    monkeypatch.setenv("PRAKTIJKKAART_EMBEDDING__BACKEND", "fake")
    monkeypatch.setenv("PRAKTIJKKAART_PRIVACY__LOG_QUESTIONS", "true")
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    at.chat_input[0].set_value(QUESTIONS[0]).run()
    assert not at.exception, at.exception
    assert not [m for m in at.chat_message if m.name == "assistant"], "the question was answered"
    assert not (store_dir / "logs").exists()
    assert leaks(store_dir) == {}


# --- retention: praktijkkaart forget ---------------------------------------------------------------------

def _forget(data_dir: Path, *args: str, **env_extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env.update({"PRAKTIJKKAART_DATA_DIR": str(data_dir), **env_extra})
    out = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "forget", "--json", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _seed(settings: Settings, old: datetime, new: datetime) -> tuple[Path, Path]:
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    old_log, new_log = logs / f"vragen-{old:%Y-%m-%d}.log", logs / f"vragen-{new:%Y-%m-%d}.log"
    old_log.write_text(f"{old.isoformat()}\toude vraag over de overstap\n", encoding="utf-8")
    new_log.write_text(f"{new.isoformat()}\tnieuwe vraag over ouders\n", encoding="utf-8")
    (logs / "notities.txt").write_text("geen log van de assistent\n", encoding="utf-8")
    save_feedback(settings, answer_id="old", question="oude-vraag-xyzzy", answer="oud antwoord", passage_ids=[],
                  thumbs=1, comment="oud-commentaar-plugh", now=old)
    save_feedback(settings, answer_id="new", question="nieuwe vraag", answer="nieuw antwoord", passage_ids=[],
                  thumbs=0, now=new)
    return old_log, new_log


def test_forget_before_removes_old_logs_and_feedback(store_dir: Path) -> None:
    settings = Settings(data_dir=store_dir)
    old, new = datetime(2024, 3, 1, 12, tzinfo=UTC), datetime.now(UTC)
    old_log, new_log = _seed(settings, old, new)

    result = _forget(store_dir, "--before", "2025-01-01")
    assert result == {"before": "2025-01-01", "feedback_deleted": 1, "logs_deleted": 1}
    assert not old_log.exists() and new_log.exists()
    assert (store_dir / "logs" / "notities.txt").exists(), "only the assistant's own logs are removed"
    assert [r.id for r in list_feedback(settings)] == ["new"]
    # Forgotten means gone from the file too, not left in SQLite's free pages.
    raw = db_path(settings).read_bytes()
    assert b"oude-vraag-xyzzy" not in raw and b"oud-commentaar-plugh" not in raw

    assert _forget(store_dir, "--before", "2025-01-01") == {"before": "2025-01-01", "feedback_deleted": 0,
                                                            "logs_deleted": 0}


def test_forget_without_date_uses_the_retention_setting(store_dir: Path) -> None:
    settings = Settings(data_dir=store_dir)
    now = datetime.now(UTC)
    old_log, new_log = _seed(settings, now - timedelta(days=45), now)
    result = _forget(store_dir, PRAKTIJKKAART_PRIVACY__RETENTION_DAYS="30")
    assert result["before"] == (now - timedelta(days=30)).date().isoformat()
    assert result["feedback_deleted"] == 1 and result["logs_deleted"] == 1
    assert not old_log.exists() and new_log.exists()


def test_forget_on_an_empty_data_dir_is_fine(tmp_path: Path) -> None:
    result = _forget(tmp_path / "leeg", "--before", date.today().isoformat())
    assert result["feedback_deleted"] == 0 and result["logs_deleted"] == 0
