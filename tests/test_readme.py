"""The README documents what the code does: its configuration table is the Settings fields as they are."""

from __future__ import annotations

from pathlib import Path

from praktijkkaart.settings_doc import settings_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_configuration_table_matches_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, "README out of date: python -m praktijkkaart.settings_doc"
