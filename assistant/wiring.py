"""Composition root: the one place that wires an Assistant to its store, embedder and, for the memory
backend, an ingest on first use. The CLI, the UI, the evals and the Python API build assistants here."""

from __future__ import annotations

import threading

from assistant.core import Assistant
from assistant.types import Answer, Filters, HistoryInput, Turn
from praktijkkaart.settings import Settings
from vectorstore.base import Embedder, Store


def ingest_into(settings: Settings, store: Store, embedder: Embedder) -> None:
    """Bootstrap for the memory backend: build the index in the process that needs it."""
    from ingest.pipeline import run_ingest

    run_ingest(settings, store=store, embedder=embedder)


def build_assistant(settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None) -> Assistant:
    bootstrap = ingest_into if settings.store.backend == "memory" else None
    return Assistant(settings, store=store, embedder=embedder, bootstrap=bootstrap)


class _Kept:
    """One Assistant per distinct settings for `answer()`: building one per call cost ~4x the latency of a
    kept one (a cold index load each time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_settings: dict[str, Assistant] = {}

    def get(self, settings: Settings) -> Assistant:
        key = settings.model_dump_json()
        with self._lock:
            if key not in self._by_settings:
                self._by_settings[key] = build_assistant(settings)
            return self._by_settings[key]


_KEPT = _Kept()


def answer(question: str, *, settings: Settings | None = None, history: HistoryInput | None = None,
           filters: Filters | None = None, assistant: Assistant | None = None) -> Answer:
    """Python API: one answer, same structure as `praktijkkaart ask --json`. Reuses one Assistant per
    settings, so the index and the model load once."""
    a = assistant or _KEPT.get(settings or Settings())
    return a.answer(question, history=Turn.coerce(history), filters=filters)
