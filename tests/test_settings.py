"""The one settings object: nested by concern, strict about names, Dutch about mistakes, no dead fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from praktijkkaart.cli import main
from praktijkkaart.settings import Settings, SettingsError, describe_settings_error, load_settings, sections
from praktijkkaart.settings_doc import env_names

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("assistant", "ingest", "vectorstore", "corpus", "evals", "ui", "praktijkkaart", "benchmarks")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    import os

    for name in [n for n in os.environ if n.startswith("PRAKTIJKKAART_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PRAKTIJKKAART_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRAKTIJKKAART_EMBEDDING__BACKEND", "fake")
    return monkeypatch


def test_a_nested_variable_sets_its_field_and_an_override_merges_with_the_environment(clean_env) -> None:
    clean_env.setenv("PRAKTIJKKAART_STORE__CHROMA_URL", "http://127.0.0.1:9")
    clean_env.setenv("PRAKTIJKKAART_RETRIEVAL__THEME_ITEM_WEIGHTS", "[1, 0.5]")
    s = load_settings(store={"collection_prefix": "x"})
    assert s.store.chroma_url == "http://127.0.0.1:9" and s.store.collection_prefix == "x"
    assert s.retrieval.theme_item_weights == (1.0, 0.5) and s.embedding.backend == "fake"


def test_with_changes_copies_and_validates(clean_env) -> None:
    s = load_settings()
    t = s.with_changes(retrieval={"top_k": 3}, data_dir=Path("/tmp/elders"))
    assert (t.retrieval.top_k, t.retrieval.candidates, t.data_dir) == (3, s.retrieval.candidates, Path("/tmp/elders"))
    assert s.retrieval.top_k == 8  # the original is untouched (frozen)
    with pytest.raises(ValidationError):
        s.with_changes(retrieval={"top_k": 0})
    with pytest.raises(ValidationError):
        s.with_changes(store={"bestaat_niet": 1})


@pytest.mark.parametrize("name, value, needle", [
    ("PRAKTIJKKAART_CHROMA_URL", "http://127.0.0.1:9", "heet sinds deze versie PRAKTIJKKAART_STORE__CHROMA_URL"),
    ("PRAKTIJKKAART_TOP_K", "3", "PRAKTIJKKAART_RETRIEVAL__TOP_K"),
    ("PRAKTIJKKAART_GENERATOR", "llm", "PRAKTIJKKAART_GENERATION__MODE"),
    ("PRAKTIJKKAART_DECLINE_THRESHOLD", "-1", "bestaat niet meer"),
    ("PRAKTIJKKAART_STORE__CHROMA_ULR", "http://127.0.0.1:9", "Bedoel je PRAKTIJKKAART_STORE__CHROMA_URL?"),
])
def test_an_old_or_misspelt_name_stops_every_command_with_the_right_name(clean_env, capsys, name: str, value: str,
                                                                         needle: str) -> None:
    # Silently ignoring it would fall back to a default: an old PRAKTIJKKAART_CHROMA_URL would mean "embedded".
    clean_env.setenv(name, value)
    for args in (["ask", "Hoe betrek ik ouders?", "--json"], ["status"], ["doctor", "--json"]):
        assert main(args) == 2
        out = capsys.readouterr()
        assert needle in out.err and "Traceback" not in out.err and out.out == ""


def test_a_settings_error_never_echoes_a_secret(clean_env) -> None:
    clean_env.setenv("PRAKTIJKKAART_GENERATION__API_KEY", "sk-heel-geheim")
    clean_env.setenv("PRAKTIJKKAART_GENERATION__TIMEOUT_S", "-1")
    clean_env.setenv("PRAKTIJKKAART_LLM_API_KEY", "sk-ook-geheim")
    with pytest.raises(SettingsError) as renamed:
        load_settings()
    assert "sk-" not in describe_settings_error(renamed.value)
    clean_env.delenv("PRAKTIJKKAART_LLM_API_KEY")
    with pytest.raises(ValidationError) as invalid:
        load_settings()
    message = describe_settings_error(invalid.value)
    assert message == "Ongeldige instelling: PRAKTIJKKAART_GENERATION__TIMEOUT_S moet groter zijn dan 0."
    assert "sk-" not in message


def _leaves() -> list[tuple[str, str]]:
    nested = sections()
    out = []
    for name in Settings.model_fields:
        section = nested.get(name)
        out += [(name, field) for field in section.model_fields] if section else [("", name)]
    return out


def test_every_field_is_described_and_every_section_refuses_unknown_fields() -> None:
    nested = sections()
    assert set(nested) == {"store", "embedding", "retrieval", "scope", "answer", "generation", "fetch", "privacy",
                           "app"}
    for name, info in Settings.model_fields.items():
        assert info.description, name
        section = nested.get(name)
        if section is not None:
            assert section.model_config.get("extra") == "forbid", name
            assert all(sub.description for sub in section.model_fields.values()), name
    assert Settings.model_config.get("extra") == "forbid"
    assert len(env_names()) == len(_leaves())


def test_no_setting_is_dead() -> None:
    """Each field is read somewhere in the product (three were not: a setting that does nothing misleads)."""
    code = "\n".join(p.read_text(encoding="utf-8") for d in CODE_DIRS for p in (ROOT / d).rglob("*.py")
                     if p.name != "settings.py")
    leaves = _leaves()
    shared = {f for _, f in leaves if sum(f == g for _, g in leaves) > 1}  # e.g. `model`: read through its section
    for section, field in leaves:
        pattern = rf"\.{section}\.{field}\b" if field in shared else rf"\.{field}\b"
        assert re.search(pattern, code), f"settings.{section + '.' if section else ''}{field} is never read"


def test_the_app_names_a_wrong_setting_in_dutch_instead_of_a_traceback(clean_env) -> None:
    from streamlit.testing.v1 import AppTest

    clean_env.setenv("PRAKTIJKKAART_CHROMA_URL", "http://127.0.0.1:9")
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=60).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("PRAKTIJKKAART_STORE__CHROMA_URL" in e and "kan niet starten" in e for e in errors), errors
    assert not at.chat_input  # the chat is not shown on settings the app cannot honour
