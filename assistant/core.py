"""The Assistant: the one object the CLI, the UI and the evals talk to."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from assistant.compose import Composed, compose, decline_text, not_covered_text
from assistant.conversation import ReadQuestion, bounded_history, continues, read_question
from assistant.diagnostics import Diagnostics, RetrievalDiagnostics
from assistant.index import IndexSnapshot
from assistant.inputs import check_question, valid_text
from assistant.privacy import PrivacyCheck, check_personal_data
from assistant.question_log import log_question
from assistant.request_frames import addresses_assistant
from assistant.retrieval import Retrieval, allowed, question_scope, retrieve
from assistant.scope import Scope, ScopeDecision, ScopeModel, decide_best, load_scope_model
from assistant.stream import AnswerStream, Pieces
from assistant.types import Answer, AnswerStatus, Filters, Passage, Role, Turn
from corpus.model import Card, Kind, load_card, load_synonyms
from ingest.link_status import dead_links
from praktijkkaart.settings import Settings
from vectorstore.base import Embedder, Store, StoreError
from vectorstore.embedders import make_embedder
from vectorstore.factory import make_store

log = logging.getLogger(__name__)

_RECHECK_S = 2.0  # how often to look for a newly published index version
_UNSET = object()


# Fills an empty store (the memory backend ingests on first use); wired in assistant.wiring.
Bootstrap = Callable[[Settings, Store, Embedder], None]


class Assistant:
    """Cheap to construct; the embedder and the index load on first use (or in warm()).
    Build it with assistant.wiring.build_assistant, which wires the store, embedder and bootstrap."""

    def __init__(self, settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
                 bootstrap: Bootstrap | None = None) -> None:
        self.settings = settings
        self._bootstrap = bootstrap
        self._embedder = embedder
        self._store = store
        self._card: Card | None = None
        self._snapshot: IndexSnapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._scope_model: object = _UNSET

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
        return self.settings.generation.provider != "none"

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
            if live is None and self._bootstrap is not None:  # the memory backend fills itself
                self._bootstrap(self.settings, self.store, self.embedder)
                live = self.store.live()
            if live is None:
                raise StoreError("Er is nog geen index. Voer eerst `praktijkkaart ingest` uit (of start met "
                                 "`make run`, dat doet het automatisch).")
            fingerprint = self.embedder.info.fingerprint
            if live.embedder != fingerprint:
                raise StoreError(f"De index is gebouwd met een ander embeddingmodel ({live.embedder}) dan nu is "
                                 f"ingesteld ({fingerprint}). Voer `praktijkkaart ingest` opnieuw uit.")
            if self._snapshot is None or self._snapshot.version.name != live.name:
                self._snapshot = IndexSnapshot.load(self.store, live, load_synonyms(self.settings.corpus_dir),
                                                    frozenset(dead_links(self.settings)))
            self._checked_at = time.monotonic()
            return self._snapshot

    def status(self) -> dict[str, object]:
        snap = self.snapshot()
        v = snap.version
        return {"version": v.name, "embedder": v.embedder, "created_at": v.created_at,
                "ingested_at": v.extra.get("ingested_at"),
                "chunks": len(snap.passages) + len(snap.asked) + len(snap.offtopic_texts), **snap.stats()}

    # -- retrieval ----------------------------------------------------------------------------------
    @property
    def scope_model(self) -> ScopeModel | None:
        if self._scope_model is _UNSET:
            self._scope_model = load_scope_model(self.settings.corpus_dir, self.embedder.info.fingerprint)
        return self._scope_model  # type: ignore[return-value]

    def _turns(self, history: Sequence[Turn] | None) -> list[Turn]:
        """The earlier turns a question is read in, as Turn, bounded by turns and characters (privacy and
        reading look at the same bounded part: what lies outside it is never used). Old {"role", "content"}
        dicts are still read; the edges convert with Turn.coerce themselves."""
        cfg = self.settings.answer
        return bounded_history(Turn.coerce(history), cfg.max_history_turns, cfg.max_question_chars)

    def _read(self, question: str, history: list[Turn], filters: Filters | None,
              merge: bool = False) -> tuple[ReadQuestion, Filters]:
        """The question in its conversation, and the filters with a school type it names (when the
        caller's filter leaves the school type open, like the sidebar's 'Beide')."""
        read = read_question(question, history, self.settings.answer.max_history_turns, merge=merge)
        f = filters or Filters()
        if f.school_type is None and read.school_type is not None:
            f = replace(f, school_type=read.school_type)
        return read, f

    def retrieve(self, question: str, *, k: int | None = None, filters: Filters | None = None,
                 history: Sequence[Turn] | None = None) -> list[Passage]:
        """Passages ranked for the answer: the composed answer's passages first, then the rest."""
        turns = self._turns(history)
        checked = check_question(question, self.settings.answer.max_question_chars)
        if checked.problem or not _privacy_check(checked.text, turns).ok:
            return []
        snap = self.snapshot()
        read, f = self._read(checked.text, turns, filters)
        r = retrieve(snap, self.store, self.embedder, self.settings, read.query, f)
        composed = compose(r, _allowed_items(snap, f), self.card, self.settings, f.school_type)
        return _answer_order(composed, r)[: k or self.settings.retrieval.top_k]

    # -- answers ---------------------------------------------------------------------------------------
    def answer(self, question: str, history: Sequence[Turn] | None = None,
               filters: Filters | None = None, generator: str | None = None) -> Answer:
        return self.stream(question, history=history, filters=filters, generator=generator).result

    def stream(self, question: str, history: Sequence[Turn] | None = None,
               filters: Filters | None = None, generator: str | None = None) -> AnswerStream:
        """The answer text in pieces (iterate), then the final Answer (`.result`)."""
        return AnswerStream(self._pieces(question, self._turns(history), filters, generator))

    def _pieces(self, question: str, turns: list[Turn], filters: Filters | None, generator: str | None) -> Pieces:
        started = time.perf_counter()
        checked = check_question(question, self.settings.answer.max_question_chars)
        if checked.problem:
            yield checked.problem
            return Answer(question=valid_text(str(question)[:200]), answer=checked.problem, in_scope=False,
                          generator="extractive", status=AnswerStatus.INVALID_INPUT, notice=checked.problem)
        privacy = _privacy_check(checked.text, turns)
        if not privacy.ok:  # held back: no retrieval, nothing logged, the question itself only redacted
            yield privacy.message
            return Answer(question=privacy.redacted, answer=privacy.message, in_scope=False, generator="extractive",
                          status=AnswerStatus.PERSONAL_DATA, notice=privacy.message)
        try:
            snap = self.snapshot()
            read, f, r, scope = self._understand(snap, checked.text, turns, filters)
        except StoreError as exc:
            msg = str(exc)
            yield msg
            return Answer(question=checked.text, answer=msg, in_scope=False, generator="extractive",
                          status=AnswerStatus.STORE_ERROR, notice=msg)
        seen = RetrievalDiagnostics(
            version=snap.version.name, query=read.query, scope=scope.decision, scope_probability=scope.probability,
            scope_features=r.scope, school_type=f.school_type, theme_scores=dict(r.theme_scores))
        warning = log_question(self.settings, checked.text)  # a failed write never costs the answer
        if scope.decision != ScopeDecision.ANSWER or not r.card_relevance:
            return _warned((yield from self._decline(checked.text, read, r, scope, seen, started)), warning)
        t0 = time.perf_counter()
        composed = compose(r, _allowed_items(snap, f), self.card, self.settings, f.school_type)
        passages = _answer_order(composed, r)[: max(self.settings.retrieval.top_k, len(composed.used))]
        timings = {**r.timings, "compose_ms": (time.perf_counter() - t0) * 1000}
        answer = Answer(question=checked.text, answer=composed.text, in_scope=True, generator="extractive",
                        citations=composed.citations, passages=passages,
                        themes=list(dict.fromkeys(p.theme for p in composed.lead if p.theme is not None)),
                        diagnostics=Diagnostics(seen, timings), more=composed.more, followup_of=read.followup_of)
        if (generator or self.settings.generation.mode) == "llm":
            from assistant.llm import llm_pieces

            return _warned((yield from llm_pieces(self.settings, answer, checked.text)), warning)
        yield from composed.text.splitlines(keepends=True)
        total_ms = (time.perf_counter() - started) * 1000  # after the reader took the pieces
        return _warned(replace(answer, diagnostics=Diagnostics(seen, {**timings, "total_ms": total_ms})), warning)

    def _understand(self, snap: IndexSnapshot, question: str, turns: list[Turn],
                    filters: Filters | None) -> tuple[ReadQuestion, Filters, Retrieval, Scope]:
        """Read, retrieve and judge the scope. A question that opens like a next turn ("en hoe ...?") but has a
        topic of its own is read alone first; when the card only touches it (not covered, but related), it is
        read as a follow-up too and that reading wins when it is in scope. A clearly off-topic question
        ("en hoeveel vakantiedagen heb ik?") is declined alone and never glued to the earlier one."""
        read, f = self._read(question, turns, filters)
        r = retrieve(snap, self.store, self.embedder, self.settings, read.query, f)
        if addresses_assistant(question):  # an instruction or chit-chat: declined whatever its topic, so its
            # scope is read without the sketch's extra look (an embedding that could not change the outcome)
            scope = decide_best((r.scope, r.scope_gloss), self.scope_model, self.settings.scope)
            return read, f, r, replace(scope, decision=ScopeDecision.DECLINE)
        scope = self._judge(snap, r)
        if read.followup_of is None and scope.decision == ScopeDecision.NOT_COVERED and continues(question):
            merged, mf = self._read(question, turns, filters, merge=True)
            if merged.followup_of is not None:
                mr = retrieve(snap, self.store, self.embedder, self.settings, merged.query, mf)
                ms = self._judge(snap, mr)
                if ms.decision == ScopeDecision.ANSWER:
                    return merged, mf, mr, ms
        return read, f, r, scope

    def _judge(self, snap: IndexSnapshot, r: Retrieval) -> Scope:
        """The most in-scope reading decides; a long sketch's asking sentence is a third reading, looked at
        only when the first ones do not answer (it could only raise the probability of an answer)."""
        scope = decide_best((r.scope, r.scope_gloss), self.scope_model, self.settings.scope)
        if scope.decision == ScopeDecision.ANSWER:
            return scope
        asked = question_scope(snap, self.embedder, r.query)
        return scope if asked is None else decide_best((r.scope, r.scope_gloss, asked), self.scope_model,
                                                       self.settings.scope)

    def _decline(self, question: str, read: ReadQuestion, r: Retrieval, scope: Scope, seen: RetrievalDiagnostics,
                 started: float) -> Pieces:
        """Outside the card: 'niet over' with the related parts when there are any, else the plain decline."""
        related = (_related(r, self.snapshot().card_items, self.settings.scope.max_related)
                   if scope.decision == ScopeDecision.NOT_COVERED else [])
        if related:
            text, status = not_covered_text(related), AnswerStatus.NOT_COVERED
        else:
            text, status = decline_text(self.card), AnswerStatus.DECLINED
        yield text
        timings = {**r.timings, "total_ms": (time.perf_counter() - started) * 1000}
        return Answer(question=question, answer=text, in_scope=False, generator="extractive",
                      passages=r.ranked[: self.settings.retrieval.top_k], status=status,
                      diagnostics=Diagnostics(seen, timings), followup_of=read.followup_of)

def _warned(answer: Answer, warning: str | None) -> Answer:
    return replace(answer, warnings=[*answer.warnings, warning]) if warning else answer


def _privacy_check(question: str, history: Sequence[Turn]) -> PrivacyCheck:
    """One privacy decision over the question and the user's earlier turns (an earlier turn with a name in
    it is as personal as the question)."""
    check = check_personal_data(question)
    if not check.ok:
        return check
    for turn in history:
        earlier = check_personal_data(turn.content) if turn.role == Role.USER else check
        if not earlier.ok:
            return replace(earlier, redacted=check.redacted)
    return check


def _allowed_items(snap: IndexSnapshot, f: Filters) -> dict[str, Passage]:
    """The card items the filters allow: the folded rest and the opening obey the filters too."""
    if f.empty:
        return snap.card_items
    return {k: p for k, p in snap.card_items.items() if allowed(p, f)}


def _related(r: Retrieval, card_items: dict[str, Passage], limit: int) -> list[Passage]:
    """The card items closest to a question the card does not cover (named, not quoted, in the decline)."""
    order = sorted(r.card_relevance, key=lambda i: -r.card_relevance[i])
    out = [card_items[i] for i in order if i in card_items and not card_items[i].caption
           and card_items[i].kind not in (Kind.INTRO, Kind.ALGEMEEN)]
    return out[:limit]


def _answer_order(composed: Composed, r: Retrieval) -> list[Passage]:
    """The answer's passages in the order its reader meets them, the lead items first (best first), each
    scored by its relevance to the question; then the rest of the fused ranking."""
    fused = {p.id: p.score for p in r.ranked}
    first = list(dict.fromkeys(composed.lead + composed.used))
    scored = [replace(p, score=r.card_relevance.get(p.item_id, fused.get(p.id, 0.0))) for p in first]
    seen = {p.id for p in first}
    return scored + [p for p in r.ranked if p.id not in seen]
