"""An immutable snapshot of one published index version: passages, keyword index, card vectors, and the
retrieval-only records (asked-as questions per card item, the off-topic bank).

Everything a question needs is read from one snapshot, so an answer never mixes versions even
while ingest publishes a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import bm25s
import numpy as np

from assistant.text import Analyzer, stem, words
from assistant.types import LinkRef, Passage
from corpus.model import Synonyms
from vectorstore.base import Record, Store, VersionInfo

ROLE_ASKED, ROLE_OFFTOPIC = "asked", "offtopic"


def passage_from_record(rec: Record, score: float = 0.0, dead: frozenset[str] = frozenset()) -> Passage:
    m = rec.metadata
    theme = int(m.get("theme", -1))
    links = tuple(LinkRef(lk["url"], lk["title"], lk["url"] in dead, str(lk.get("school_type", "beide")))
                  for lk in json.loads(m.get("links", "[]")))
    is_resource = m.get("kind") == "bron"
    return Passage(
        id=rec.id, item_id=str(m.get("item_id", rec.id)), theme=None if theme < 0 else theme,
        theme_title=str(m.get("theme_title", "")), kind=str(m.get("kind", "")), heading=str(m.get("heading", "")),
        text=rec.text, score=score, links=links, school_type=str(m.get("school_type", "beide")),
        source_url=str(m["source"]) if is_resource else None,
        source_title=str(m.get("source_title")) if is_resource else None,
        parent_item_id=str(m.get("parent_item_id")) if is_resource else None,
        parent_theme=int(m["parent_theme"]) if is_resource and "parent_theme" in m else None,
        caption=bool(m.get("caption", False)),
    )


@dataclass(frozen=True)
class AskedAs:
    """An asked-as question in the index: it points to one card row (and maybe one of its links)."""

    text: str
    card_pos: int  # position in IndexSnapshot.card_rows of the item it asks for
    link_url: str | None
    school_type: str


@dataclass
class IndexSnapshot:
    version: VersionInfo
    passages: list[Passage]  # position i == keyword index document i (asked-as documents follow them)
    by_id: dict[str, int]
    analyzer: Analyzer
    bm25: bm25s.BM25
    card_rows: np.ndarray  # indices of card (non-resource) passages
    card_vectors: np.ndarray  # their embeddings, for ranking within a theme
    asked: list[AskedAs] = field(default_factory=list)
    asked_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.float32))
    offtopic_texts: list[str] = field(default_factory=list)
    offtopic_topics: list[str] = field(default_factory=list)
    offtopic_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.float32))
    offtopic_vocab: frozenset[str] = frozenset()  # stems the off-topic bank uses and the card side never does
    _word_sets: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, version: VersionInfo, synonyms: Synonyms,
             dead_links: frozenset[str] = frozenset()) -> IndexSnapshot:
        records = store.get_all(version.name, with_embeddings=True)
        by_role: dict[str, list[Record]] = {"passage": [], ROLE_ASKED: [], ROLE_OFFTOPIC: []}
        for r in records:
            by_role.get(str(r.metadata.get("role", "passage")), by_role["passage"]).append(r)
        passage_records = by_role["passage"]
        passages = [passage_from_record(r, dead=dead_links) for r in passage_records]
        card_rows = np.array([i for i, p in enumerate(passages) if p.kind != "bron"], dtype=np.int64)
        card_pos = {passages[int(i)].item_id: n for n, i in enumerate(card_rows)}
        asked_records = [r for r in by_role[ROLE_ASKED] if str(r.metadata.get("parent_item_id")) in card_pos]
        asked = [AskedAs(r.text, card_pos[str(r.metadata["parent_item_id"])],
                         str(r.metadata.get("link_url") or "") or None, str(r.metadata.get("school_type", "beide")))
                 for r in asked_records]
        analyzer = Analyzer(synonyms=synonyms)
        docs = [f"{p.theme_title} {p.heading} {p.text} {' '.join(lk.title for lk in p.links)}" for p in passages]
        docs += [a.text for a in asked]
        analyzer.learn(docs)
        retriever = bm25s.BM25()
        retriever.index([analyzer.tokens(d) or ["_"] for d in docs], show_progress=False)
        dim = next((len(r.embedding) for r in records if r.embedding is not None), 1)
        card_vectors = _matrix([passage_records[int(i)] for i in card_rows], dim)
        off = by_role[ROLE_OFFTOPIC]
        off_vocab = {stem(w) for r in off for w in words(r.text)} - analyzer.vocabulary
        return cls(version=version, passages=passages, by_id={p.id: i for i, p in enumerate(passages)},
                   analyzer=analyzer, bm25=retriever, card_rows=card_rows, card_vectors=card_vectors,
                   asked=asked, asked_vectors=_matrix(asked_records, dim), offtopic_texts=[r.text for r in off],
                   offtopic_topics=[str(r.metadata.get("heading", "")) for r in off],
                   offtopic_vectors=_matrix(off, dim), offtopic_vocab=frozenset(off_vocab))

    @cached_property
    def card_items(self) -> dict[str, Passage]:
        """Card passages (no linked-resource chunks) by item id, built once per snapshot."""
        return {p.item_id: p for p in self.passages if p.kind != "bron"}

    @cached_property
    def asked_card_pos(self) -> np.ndarray:
        return np.array([a.card_pos for a in self.asked], dtype=np.int64)

    @cached_property
    def hubness(self) -> tuple[np.ndarray, np.ndarray]:
        """How much each card vector and each asked-as vector is a 'hub' that sits close to many questions:
        its mean cosine to its 10 nearest reference questions (other items' asked-as questions and the
        off-topic bank), centred on the mean. Retrieval subtracts a share of it (CSLS-style), so a generic
        item ("infosheets over welbevinden") does not win every question."""
        refs = [m for m in (self.asked_vectors, self.offtopic_vectors) if len(m)]
        if not refs or not len(self.card_rows):
            return np.zeros(len(self.card_rows), dtype=np.float32), np.zeros(len(self.asked), dtype=np.float32)
        ref = np.vstack(refs)
        n_asked = len(self.asked)
        ref_item = np.concatenate([self.asked_card_pos, np.full(len(ref) - n_asked, -1)])

        def hub(vectors: np.ndarray, own_pos: np.ndarray) -> np.ndarray:
            sims = vectors @ ref.T
            sims[own_pos[:, None] == ref_item[None, :]] = -1.0  # an item's own questions are not evidence of hubness
            k = min(10, sims.shape[1])
            return np.asarray(np.mean(np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:], axis=1), dtype=np.float32)

        card_h = hub(self.card_vectors, np.arange(len(self.card_rows)))
        asked_h = hub(self.asked_vectors, self.asked_card_pos) if n_asked else np.zeros(0, dtype=np.float32)
        return card_h - float(card_h.mean()), asked_h - (float(asked_h.mean()) if n_asked else 0.0)

    def word_set(self, row: int) -> frozenset[str]:
        """Content words of one passage, computed once (the diversity step compares them often)."""
        cached = self._word_sets.get(row)
        if cached is None:
            cached = self._word_sets[row] = frozenset(words(self.passages[row].text))
        return cached

    def keyword_scores(self, query: str) -> np.ndarray:
        """BM25 per keyword document: the passages first, then the asked-as questions."""
        n_docs = len(self.passages) + len(self.asked)
        tokens = [t for t in self.analyzer.tokens(self.analyzer.expand_query(query)) if t in self.bm25.vocab_dict]
        if not tokens:
            return np.zeros(n_docs, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def stats(self) -> dict[str, Any]:
        per_theme: dict[str, int] = {}
        per_kind: dict[str, int] = {}
        for p in self.passages:
            key = "bronnen" if p.theme is None else str(p.theme)
            per_theme[key] = per_theme.get(key, 0) + 1
            per_kind[p.kind] = per_kind.get(p.kind, 0) + 1
        if self.asked:
            per_kind["vraagvorm"] = len(self.asked)  # staff-language questions (retrieval only)
        if self.offtopic_texts:
            per_kind["buiten_kaart"] = len(self.offtopic_texts)  # the off-topic bank (scope only)
        return {"per_theme": per_theme, "per_kind": per_kind}


def _matrix(records: list[Record], dim: int) -> np.ndarray:
    if not records:
        return np.zeros((0, dim), dtype=np.float32)
    return np.asarray(np.stack([r.embedding for r in records if r.embedding is not None]), dtype=np.float32)
