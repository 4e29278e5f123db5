"""The Assistant: the one object the CLI, the UI and the evals talk to."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Iterator

from assistant.compose import compose, decline_text
from assistant.index import IndexSnapshot
from assistant.inputs import check_question
from assistant.retrieval import Retrieval, retrieve, standalone_query
from assistant.types import Answer, Filters, Passage
from corpus.model import Card, load_card, load_synonyms
from praktijkkaart.settings import Settings
from vectorstore.base import Embedder, Store, StoreError
from vectorstore.embedders import make_embedder
from vectorstore.factory import make_store

log = logging.getLogger(__name__)

_RECHECK_S = 2.0  # how often to look for a newly published index version


class Assistant:
    """Cheap to construct; the embedder and the index load on first use (or in warm())."""

    def __init__(self, settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store = store
        self._card: Card | None = None
        self._snapshot: IndexSnapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # -- lazy parts ------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = make_store(self.settings, self.embedder)
        return self._store

    @property
    def card(self) -> Card:
        if self._card is None:
            self._card = load_card(self.settings.corpus_dir)
        return self._card

    @property
    def llm_available(self) -> bool:
        return self.settings.llm_provider != "none"

    def warm(self) -> None:
        """Load the embedder and the live index now (the UI calls this once, cached)."""
        self.embedder.embed_query("warm")
        self.snapshot()

    def snapshot(self) -> IndexSnapshot:
        """The index of the live version; reloaded when ingest publishes a new one."""
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._checked_at < _RECHECK_S:
            return snap
        with self._lock:
            live = self.store.live()
            if live is None and self.settings.store_backend == "memory":
                from ingest.pipeline import run_ingest

                run_ingest(self.settings, store=self.store, embedder=self.embedder)
                live = self.store.live()
            if live is None:
                raise StoreError("Er is nog geen index. Voer eerst `praktijkkaart ingest` uit (of start met "
                                 "`make run`, dat doet het automatisch).")
            fingerprint = self.embedder.info.fingerprint
            if live.embedder != fingerprint:
                raise StoreError(f"De index is gebouwd met een ander embeddingmodel ({live.embedder}) dan nu is "
                                 f"ingesteld ({fingerprint}). Voer `praktijkkaart ingest` opnieuw uit.")
            if self._snapshot is None or self._snapshot.version.name != live.name:
                from ingest.links import dead_links

                self._snapshot = IndexSnapshot.load(self.store, live, load_synonyms(self.settings.corpus_dir),
                                                    frozenset(dead_links(self.settings)))
            self._checked_at = time.monotonic()
            return self._snapshot

    def status(self) -> dict[str, object]:
        snap = self.snapshot()
        v = snap.version
        return {"version": v.name, "embedder": v.embedder, "created_at": v.created_at,
                "ingested_at": v.extra.get("ingested_at"), "chunks": len(snap.passages), **snap.stats()}

    # -- retrieval ----------------------------------------------------------------------------------
    def _retrieve(self, snap: IndexSnapshot, query: str, filters: Filters | None) -> Retrieval:
        return retrieve(snap, self.store, self.embedder, self.settings, query, filters)

    def _card_passages(self, snap: IndexSnapshot) -> dict[str, Passage]:
        return snap.card_items

    def retrieve(self, question: str, *, k: int | None = None, filters: Filters | None = None,
                 history: list[dict] | None = None) -> list[Passage]:
        """Passages ranked for the answer: the composed answer's passages first, then the rest."""
        checked = check_question(question, self.settings.max_question_chars)
        if checked.problem:
            return []
        snap = self.snapshot()
        query = standalone_query(checked.text, history, self.settings.max_history_turns)
        r = self._retrieve(snap, query, filters)
        used = compose(r, self._card_passages(snap), self.card).used if r.themes else []
        return _answer_order(used, r)[: k or self.settings.top_k]

    # -- answers ---------------------------------------------------------------------------------------
    def answer(self, question: str, history: list[dict] | None = None, filters: Filters | None = None,
               generator: str | None = None) -> Answer:
        final: Answer | None = None
        for piece in self.stream(question, history=history, filters=filters, generator=generator):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    def stream(self, question: str, history: list[dict] | None = None, filters: Filters | None = None,
               generator: str | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in pieces, then the final Answer."""
        started = time.perf_counter()
        gen = generator or self.settings.generator
        checked = check_question(question, self.settings.max_question_chars)
        if checked.problem:
            yield checked.problem
            yield Answer(question=str(question)[:200], answer=checked.problem, in_scope=False, generator="extractive",
                         status="invalid_input", notice=checked.problem)
            return
        try:
            snap = self.snapshot()
            query = standalone_query(checked.text, history, self.settings.max_history_turns)
            r = self._retrieve(snap, query, filters)
        except StoreError as exc:
            msg = str(exc)
            yield msg
            yield Answer(question=checked.text, answer=msg, in_scope=False, generator="extractive",
                         status="store_error", notice=msg)
            return
        meta = {"version": snap.version.name, "query": query, "scope_score": round(r.scope_score, 4),
                "decline_threshold": self.settings.decline_threshold, "dense_max": round(r.dense_max, 4),
                "overlap": round(r.overlap, 4), "theme_scores": {str(k): round(v, 5) for k, v in r.theme_scores.items()},
                "timings": r.timings}
        self._log_question(checked.text)
        if r.scope_score < self.settings.decline_threshold or not r.themes:
            text = decline_text(self.card)
            yield text
            meta["timings"] = {**r.timings, "total_ms": (time.perf_counter() - started) * 1000}
            yield Answer(question=checked.text, answer=text, in_scope=False, generator="extractive",
                         passages=r.ranked[: self.settings.top_k], status="declined", meta=meta)
            return
        t0 = time.perf_counter()
        composed = compose(r, self._card_passages(snap), self.card)
        passages = _answer_order(composed.used, r)[: max(self.settings.top_k, len(composed.used))]
        answer = Answer(question=checked.text, answer=composed.text, in_scope=True, generator="extractive",
                        citations=composed.citations, passages=passages, themes=r.themes, meta=meta)
        meta["timings"] = {**r.timings, "compose_ms": (time.perf_counter() - t0) * 1000}
        if gen == "llm":
            from assistant.llm import llm_answer

            yield from llm_answer(self.settings, answer, checked.text)
            return
        for line in composed.text.splitlines(keepends=True):
            yield line
        meta["timings"]["total_ms"] = (time.perf_counter() - started) * 1000
        yield answer

    def _log_question(self, text: str) -> None:
        if not self.settings.log_questions:
            return
        from assistant.privacy import redact
        from datetime import datetime, timezone

        logdir = self.settings.data_dir / "logs"
        logdir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc)
        with open(logdir / f"vragen-{stamp:%Y-%m-%d}.log", "a", encoding="utf-8") as fh:
            fh.write(f"{stamp.isoformat()}\t{redact(text)}\n")


def _answer_order(used: list[Passage], r: Retrieval) -> list[Passage]:
    """The answer's passages first, most relevant first, taking turns between the answer's themes
    (an answer on two themes leads with the best passage of each); then the rest of the ranking."""
    fused = {p.id: p.score for p in r.ranked}
    scored = [replace(p, score=fused.get(p.id, r.card_relevance.get(p.item_id, 0.0))) for p in dict.fromkeys(used)]
    order = {th: n for n, th in enumerate(r.themes)}
    per_theme: dict[int, list[Passage]] = {}
    for p in sorted(scored, key=lambda p: -p.score):
        per_theme.setdefault(order.get(p.effective_theme, len(order)), []).append(p)
    first: list[Passage] = []
    queues = [per_theme[k] for k in sorted(per_theme)]
    while any(queues):
        first.extend(q.pop(0) for q in queues if q)
    seen = {p.id for p in first}
    return first + [p for p in r.ranked if p.id not in seen]


__all__ = ["Assistant", "answer"]


def answer(question: str, *, settings: Settings | None = None, history: list[dict] | None = None,
           filters: Filters | None = None, assistant: Assistant | None = None) -> Answer:
    """Python API: one answer, same structure as `praktijkkaart ask --json`."""
    a = assistant or Assistant(settings or Settings())
    return a.answer(question, history=history, filters=filters)
