"""Retention runs by itself: at app start (once per process) and after each `praktijkkaart ingest`, feedback
and question logs older than `retention_days` are removed without anyone typing `praktijkkaart forget`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.feedback import list_feedback, save_feedback
from praktijkkaart.retention import apply_retention, apply_retention_once
from praktijkkaart.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "ui" / "app.py")


def _seed(settings: Settings, now: datetime) -> None:
    """One feedback row and one log file just past the retention period, one of each just within it."""
    days = settings.privacy.retention_days
    for answer_id, age in (("oud", timedelta(days=days, minutes=1)), ("recent", timedelta(days=days, minutes=-1))):
        save_feedback(settings, answer_id=answer_id, question="Hoe betrek ik ouders?", answer="Zo [1].",
                      passage_ids=[], thumbs=1, now=now - age)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for day in (now.date() - timedelta(days=days + 1), now.date() - timedelta(days=days), now.date()):
        (logs / f"vragen-{day:%Y-%m-%d}.log").write_text("vraag\n", encoding="utf-8")


def _log_days(settings: Settings) -> list[date]:
    return sorted(date.fromisoformat(p.stem.removeprefix("vragen-")) for p in (settings.data_dir / "logs").iterdir())


def test_apply_retention_with_a_fake_clock(tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    settings = Settings(data_dir=tmp_path, privacy={"retention_days": 30})
    _seed(settings, now)
    assert apply_retention(settings, now=now) == {"retention_days": 30, "feedback_deleted": 1, "logs_deleted": 1}
    assert [r.id for r in list_feedback(settings)] == ["recent"]
    # the log of the day exactly 30 days ago still holds questions younger than 30 days: it stays
    assert _log_days(settings) == [date(2026, 1, 30), date(2026, 3, 1)]


def test_apply_retention_without_any_data_creates_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "leeg")
    assert apply_retention(settings) == {"retention_days": 365, "feedback_deleted": 0, "logs_deleted": 0}
    assert not (tmp_path / "leeg").exists()


def test_retention_runs_once_per_process_and_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, privacy={"retention_days": 5})
    now = datetime.now(UTC)
    assert apply_retention_once(settings) is not None
    save_feedback(settings, answer_id="later", question="q", answer="a", passage_ids=[], thumbs=0,
                  now=now - timedelta(days=10))
    assert apply_retention_once(settings) is None  # not again in this process
    assert [r.id for r in list_feedback(settings)] == ["later"]
    other = Settings(data_dir=tmp_path, privacy={"retention_days": 7})  # another period is other settings: applied
    assert apply_retention_once(other) == {"retention_days": 7, "feedback_deleted": 1, "logs_deleted": 0}


def test_app_start_removes_old_rows_without_any_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    settings = Settings(data_dir=tmp_path, privacy={"retention_days": 2})  # a short period: the real clock suffices
    _seed(settings, datetime.now(UTC))
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRAKTIJKKAART_PRIVACY__RETENTION_DAYS", "2")
    monkeypatch.setenv("PRAKTIJKKAART_STORE__BACKEND", "memory")
    monkeypatch.setenv("PRAKTIJKKAART_EMBEDDING__BACKEND", "fake")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    assert [r.id for r in list_feedback(settings)] == ["recent"]
    assert len(_log_days(settings)) == 2


@pytest.mark.slow
def test_ingest_command_applies_retention(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, privacy={"retention_days": 3})
    _seed(settings, datetime.now(UTC))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    env |= {"PRAKTIJKKAART_DATA_DIR": str(tmp_path), "PRAKTIJKKAART_PRIVACY__RETENTION_DAYS": "3",
            "PRAKTIJKKAART_EMBEDDING__BACKEND": "fake"}
    out = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "ingest", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["published"] is True  # the --json summary keeps its contract (tests/test_cli.py)
    assert [r.id for r in list_feedback(settings)] == ["recent"]
    assert len(_log_days(settings)) == 2
    human = subprocess.run([sys.executable, "-m", "praktijkkaart.cli", "ingest"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert human.returncode == 0 and "Bewaartermijn 3 dagen: 0 feedbackregels en 0 logbestanden" in human.stdout
