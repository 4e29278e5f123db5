"""An immutable snapshot of one published index version: passages, keyword index, card vectors.

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

from assistant.text import Analyzer, words
from assistant.types import LinkRef, Passage
from corpus.model import Synonyms
from vectorstore.base import Record, Store, VersionInfo


def passage_from_record(rec: Record, score: float = 0.0, dead: frozenset[str] = frozenset()) -> Passage:
    m = rec.metadata
    theme = int(m.get("theme", -1))
    links = tuple(LinkRef(lk["url"], lk["title"], lk["url"] in dead) for lk in json.loads(m.get("links", "[]")))
    is_resource = m.get("kind") == "bron"
    return Passage(
        id=rec.id, item_id=str(m.get("item_id", rec.id)), theme=None if theme < 0 else theme,
        theme_title=str(m.get("theme_title", "")), kind=str(m.get("kind", "")), heading=str(m.get("heading", "")),
        text=rec.text, score=score, links=links, school_type=str(m.get("school_type", "beide")),
        source_url=str(m["source"]) if is_resource else None,
        source_title=str(m.get("source_title")) if is_resource else None,
        parent_item_id=str(m.get("parent_item_id")) if is_resource else None,
        parent_theme=int(m["parent_theme"]) if is_resource and "parent_theme" in m else None,
    )


@dataclass
class IndexSnapshot:
    version: VersionInfo
    passages: list[Passage]  # position i == keyword index document i
    by_id: dict[str, int]
    analyzer: Analyzer
    bm25: bm25s.BM25
    card_rows: np.ndarray  # indices of card (non-resource) passages
    card_vectors: np.ndarray  # their embeddings, for ranking within a theme
    _word_sets: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, version: VersionInfo, synonyms: Synonyms,
             dead_links: frozenset[str] = frozenset()) -> "IndexSnapshot":
        records = store.get_all(version.name, with_embeddings=True)
        passages = [passage_from_record(r, dead=dead_links) for r in records]
        analyzer = Analyzer(synonyms=synonyms)
        docs = [f"{p.theme_title} {p.heading} {p.text} {' '.join(lk.title for lk in p.links)}" for p in passages]
        analyzer.learn(docs)
        retriever = bm25s.BM25()
        retriever.index([analyzer.tokens(d) or ["_"] for d in docs], show_progress=False)
        card_rows = np.array([i for i, p in enumerate(passages) if p.kind != "bron"], dtype=np.int64)
        dim = next((len(r.embedding) for r in records if r.embedding is not None), 1)
        vectors = np.stack([records[i].embedding for i in card_rows]) if len(card_rows) else np.zeros((0, dim))
        return cls(version=version, passages=passages, by_id={p.id: i for i, p in enumerate(passages)},
                   analyzer=analyzer, bm25=retriever, card_rows=card_rows,
                   card_vectors=np.asarray(vectors, dtype=np.float32))

    @cached_property
    def card_items(self) -> dict[str, Passage]:
        """Card passages (no linked-resource chunks) by item id, built once per snapshot."""
        return {p.item_id: p for p in self.passages if p.kind != "bron"}

    def word_set(self, row: int) -> frozenset[str]:
        """Content words of one passage, computed once (the diversity step compares them often)."""
        cached = self._word_sets.get(row)
        if cached is None:
            cached = self._word_sets[row] = frozenset(words(self.passages[row].text))
        return cached

    def keyword_scores(self, query: str) -> np.ndarray:
        tokens = [t for t in self.analyzer.tokens(self.analyzer.expand_query(query)) if t in self.bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def stats(self) -> dict[str, Any]:
        per_theme: dict[str, int] = {}
        per_kind: dict[str, int] = {}
        for p in self.passages:
            key = "bronnen" if p.theme is None else str(p.theme)
            per_theme[key] = per_theme.get(key, 0) + 1
            per_kind[p.kind] = per_kind.get(p.kind, 0) + 1
        return {"per_theme": per_theme, "per_kind": per_kind}
