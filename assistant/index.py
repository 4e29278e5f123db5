"""An immutable snapshot of one published index version: passages, keyword index, card vectors, and the
retrieval-only records (asked-as questions per card item, the off-topic bank).

Everything a question needs is read from one snapshot, so an answer never mixes versions even
while ingest publishes a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import bm25s
import numpy as np

from assistant.text import Analyzer, stem, words
from assistant.types import LinkRef, Passage
from corpus.model import Kind, Synonyms
from ingest.chunk_meta import ChunkMeta, ChunkRole
from vectorstore.base import Record, Store, VersionInfo


def passage_from_record(rec: Record, score: float = 0.0, dead: frozenset[str] = frozenset()) -> Passage:
    m = ChunkMeta.from_flat(rec.metadata, default_item_id=rec.id)
    links = tuple(LinkRef(lk.url, lk.title, lk.url in dead, lk.school_type or "beide") for lk in m.links)
    resource = m.is_resource
    return Passage(
        id=rec.id, item_id=m.item_id, theme=m.theme, theme_title=m.theme_title, kind=m.kind, heading=m.heading,
        text=rec.text, score=score, links=links, school_type=m.school_type,
        source_url=m.source if resource else None,
        source_title=str(m.source_title) if resource else None,
        parent_item_id=str(m.parent_item_id) if resource else None,
        parent_theme=m.parent_theme if resource else None,
        caption=bool(m.caption),
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
        by_role: dict[ChunkRole, list[tuple[Record, ChunkMeta]]] = {role: [] for role in ChunkRole}
        for r in records:
            meta = ChunkMeta.from_flat(r.metadata, default_item_id=r.id)
            by_role[meta.role].append((r, meta))
        passage_records = [r for r, _ in by_role[ChunkRole.PASSAGE]]
        passages = [passage_from_record(r, dead=dead_links) for r in passage_records]
        card_rows = np.array([i for i, p in enumerate(passages) if p.kind != Kind.BRON], dtype=np.int64)
        card_pos = {passages[int(i)].item_id: n for n, i in enumerate(card_rows)}
        asked_pairs = [(r, m) for r, m in by_role[ChunkRole.ASKED] if str(m.parent_item_id) in card_pos]
        asked_records = [r for r, _ in asked_pairs]
        asked = [AskedAs(r.text, card_pos[str(m.parent_item_id)], m.link_url, m.school_type) for r, m in asked_pairs]
        analyzer = Analyzer(synonyms=synonyms)
        docs = [f"{p.theme_title} {p.heading} {p.text} {' '.join(lk.title for lk in p.links)}" for p in passages]
        docs += [a.text for a in asked]
        analyzer.learn(docs)
        retriever = bm25s.BM25()
        retriever.index([analyzer.tokens(d) or ["_"] for d in docs], show_progress=False)
        dim = next((len(r.embedding) for r in records if r.embedding is not None), 1)
        card_vectors = _matrix([passage_records[int(i)] for i in card_rows], dim)
        off_pairs = by_role[ChunkRole.OFFTOPIC]
        off = [r for r, _ in off_pairs]
        off_vocab = {stem(w) for r in off for w in words(r.text)} - analyzer.vocabulary
        return cls(version=version, passages=passages, by_id={p.id: i for i, p in enumerate(passages)},
                   analyzer=analyzer, bm25=retriever, card_rows=card_rows, card_vectors=card_vectors,
                   asked=asked, asked_vectors=_matrix(asked_records, dim), offtopic_texts=[r.text for r in off],
                   offtopic_topics=[m.heading for _, m in off_pairs],
                   offtopic_vectors=_matrix(off, dim), offtopic_vocab=frozenset(off_vocab))

    @cached_property
    def card_items(self) -> dict[str, Passage]:
        """Card passages (no linked-resource chunks) by item id, built once per snapshot."""
        return {p.item_id: p for p in self.passages if p.kind != Kind.BRON}

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
            per_kind[Kind.VRAAGVORM] = len(self.asked)  # staff-language questions (retrieval only)
        if self.offtopic_texts:
            per_kind[Kind.BUITEN_KAART] = len(self.offtopic_texts)  # the off-topic bank (scope only)
        return {"per_theme": per_theme, "per_kind": per_kind}


def _matrix(records: list[Record], dim: int) -> np.ndarray:
    if not records:
        return np.zeros((0, dim), dtype=np.float32)
    return np.asarray(np.stack([r.embedding for r in records if r.embedding is not None]), dtype=np.float32)
