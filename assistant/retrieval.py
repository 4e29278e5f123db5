"""Hybrid retrieval: BM25 (Dutch stems, compounds, synonyms) + dense (through the store), fused by
relative scores (each scaled to 0-1, weighted sum; reciprocal rank fusion as an option).

Card items are ranked on their own text *and* on the staff-language questions that ask for them
(corpus/asked_as.yaml): an item's keyword and dense scores are the best over its representations, the
"hypothetical questions" form of a multi-vector retriever. Linked resources lend support to the item that
carries them. The scope features (assistant/scope.py) come from the same pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.index import IndexSnapshot
from assistant.scope import ScopeFeatures, scope_features
from assistant.text import question_sentence
from assistant.types import Filters, Passage
from corpus.model import Kind
from corpus.text import collapse_repeats
from ingest.chunk_meta import ChunkRole
from praktijkkaart.settings import Settings
from vectorstore.base import Embedder, Store


@dataclass
class Retrieval:
    query: str
    ranked: list[Passage]  # fused + diversified passages (card + linked resources), best first
    themes: list[int]  # themes by relevance, best first (0 = general part)
    theme_scores: dict[int, float]
    card_relevance: dict[str, float]  # card item id -> relevance to the question (own text or asked-as)
    link_relevance: dict[str, float]  # link url -> how well its own asked-as questions / snapshot match
    scope: ScopeFeatures
    scope_gloss: ScopeFeatures | None = None  # an English question seen through its Dutch gloss (a second look)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Vectors:
    own: np.ndarray  # the question's embedding
    rank: np.ndarray  # what ranks passages: the question, plus its Dutch gloss for an English question
    english: bool


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.ms[name] = (time.perf_counter() - t0) * 1000


def allowed(p: Passage, f: Filters) -> bool:
    if f.school_type and p.school_type not in (f.school_type, "beide"):
        return False
    if f.themes and p.effective_theme not in f.themes:
        return False
    return not (f.kinds and p.kind not in f.kinds)


def _ranks(scores: dict[int, float]) -> dict[int, int]:
    order = sorted(scores, key=lambda i: -scores[i])
    return {i: r for r, i in enumerate(order)}


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first (ties by index, like a stable sort)."""
    if len(values) > k:
        kth = values[np.argpartition(-values, k - 1)[k - 1]]  # the k-th largest value
        above = np.flatnonzero(values > kth)
        idx = np.concatenate([above, np.flatnonzero(values == kth)[: k - len(above)]])  # ties: lowest index
        return idx[np.lexsort((idx, -values[idx]))]
    return np.argsort(-values, kind="stable")


def _scaled(scores: dict[int, float], settings: Settings, floor: float | None = None) -> dict[int, float]:
    """One ranking's contribution per row: 1/(k + rank) for RRF, or the score scaled to 0-1 over the
    candidates ('relative': min-max, or score/max when the scale has a natural zero, like BM25)."""
    if not scores:
        return {}
    if settings.retrieval.fusion == "rrf":
        return {i: 1.0 / (settings.retrieval.rrf_k + r + 1) for i, r in _ranks(scores).items()}
    hi = max(scores.values())
    lo = min(scores.values()) if floor is None else floor
    span = hi - lo
    return {i: (v - lo) / span if span > 0 else 1.0 for i, v in scores.items()}


def _fuse(keyword: dict[int, float], dense: dict[int, float], settings: Settings) -> dict[int, float]:
    """Weighted sum of the two scaled rankings (BM25 has a natural zero; cosines are min-max scaled)."""
    kw_part = _scaled(keyword, settings, floor=0.0)
    dense_part = _scaled(dense, settings)
    cfg = settings.retrieval
    return {i: cfg.keyword_weight * kw_part.get(i, 0.0) + cfg.dense_weight * dense_part.get(i, 0.0)
            for i in kw_part.keys() | dense_part.keys()}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _jaccard(sa: frozenset[str], sb: frozenset[str]) -> float:
    return len(sa & sb) / max(1, len(sa | sb))


def _embed(snapshot: IndexSnapshot, embedder: Embedder, query: str) -> _Vectors:
    """An English question is also embedded as its Dutch gloss: ranking uses both, the gloss weighted by
    how much of the question it covers (E5 ranks English against Dutch text less well). Repeated filler is
    collapsed first: it costs embedder time and carries no meaning."""
    own = embedder.embed_query(snapshot.analyzer.embedding_text(query))
    query = collapse_repeats(query)  # the gloss and the language test read the same collapsed text
    gloss = snapshot.analyzer.english_gloss(query)
    if gloss is None:
        return _Vectors(own, own, snapshot.analyzer.is_english(query))
    return _Vectors(own, _unit(own + gloss[1] * embedder.embed_query(gloss[0])), True)


def _masks(snapshot: IndexSnapshot, f: Filters) -> tuple[np.ndarray, np.ndarray]:
    """Which passages and which asked-as questions the filters allow."""
    n = len(snapshot.passages)
    if f.empty:
        return np.ones(n, dtype=bool), np.ones(len(snapshot.asked), dtype=bool)
    mask = np.fromiter((allowed(p, f) for p in snapshot.passages), dtype=bool, count=n)
    card_ok = mask[snapshot.card_rows] if len(snapshot.card_rows) else np.zeros(0, dtype=bool)
    asked = np.fromiter((card_ok[a.card_pos] and (not f.school_type or a.school_type in (f.school_type, "beide"))
                         for a in snapshot.asked), dtype=bool, count=len(snapshot.asked))
    return mask, asked


def _rank_passages(snapshot: IndexSnapshot, fused: dict[int, float], settings: Settings) -> list[Passage]:
    """Fused order with diversity: no near-duplicates, a few chunks of one linked resource at most."""
    cfg = settings.retrieval
    passages = snapshot.passages
    ranked: list[Passage] = []
    rows: list[int] = []
    per_source: dict[str, int] = {}
    for i in sorted(fused, key=lambda i: (-fused[i], passages[i].id)):
        p = passages[i]
        if p.source_url and per_source.get(p.source_url, 0) >= cfg.max_chunks_per_resource:
            continue
        if any(_jaccard(snapshot.word_set(i), snapshot.word_set(j)) >= cfg.near_duplicate_overlap for j in rows[:10]):
            continue
        if p.source_url:
            per_source[p.source_url] = per_source.get(p.source_url, 0) + 1
        ranked.append(replace(p, score=fused[i]))
        rows.append(i)
        if len(ranked) >= max(cfg.top_k, cfg.min_ranked):
            break
    return ranked


def _item_scores(snapshot: IndexSnapshot, kw: np.ndarray, kw_asked: np.ndarray, card_sims: np.ndarray,
                 asked_sims: np.ndarray, mask: np.ndarray, asked_mask: np.ndarray,
                 hub_penalty: float, top_n: int = 1, blend: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per card row: the best keyword and dense score over the item's own text and its asked-as questions
    (disallowed rows get -inf dense and 0 keyword)."""
    card_hub, asked_hub = snapshot.hubness if hub_penalty else (0.0, 0.0)
    k_vals = kw[snapshot.card_rows].astype(np.float32)
    d_vals = (card_sims - hub_penalty * card_hub).astype(np.float32)
    if len(snapshot.asked):
        pos = snapshot.asked_card_pos[asked_mask]
        adjusted = (asked_sims - hub_penalty * asked_hub)[asked_mask]
        if len(pos):
            np.maximum(d_vals, _asked_dense(pos, adjusted, len(d_vals), top_n, blend), out=d_vals)
        np.maximum.at(k_vals, pos, kw_asked[asked_mask])
    keep = mask[snapshot.card_rows]
    d_vals[~keep] = -np.inf
    k_vals[~keep] = 0.0
    return k_vals, d_vals


def _asked_dense(pos: np.ndarray, sims: np.ndarray, n_cards: int, top_n: int, blend: float) -> np.ndarray:
    """Per card row, from its asked-as questions: blend * the best similarity + (1 - blend) * the mean of the
    best `top_n` (-inf for a row without questions). With the best alone, an item with many questions (a
    suggestion with two links and their notes has three times as many) wins more often by one lucky match."""
    order = np.lexsort((-sims, pos))
    p, s = pos[order], sims[order].astype(np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(p)) + 1]
    rank = np.arange(len(p)) - np.repeat(starts, np.diff(np.r_[starts, len(p)]))
    top = rank < top_n
    sums, counts = np.zeros(n_cards), np.zeros(n_cards)
    np.add.at(sums, p[top], s[top])
    np.add.at(counts, p[top], 1.0)
    out = np.full(n_cards, -np.inf)
    out[p[starts]] = blend * s[starts] + (1 - blend) * sums[p[starts]] / counts[p[starts]]
    return out.astype(np.float32)


def _card_relevance(snapshot: IndexSnapshot, k_vals: np.ndarray, d_vals: np.ndarray, fused: dict[int, float],
                    settings: Settings) -> dict[str, float]:
    """The same fusion of keyword and dense scores, over the card items in the pool (the best `card_pool` by
    each ranking); a resource chunk that matches lends support to the item carrying its link."""
    pool = settings.retrieval.card_pool
    passages = snapshot.passages
    allowed = np.flatnonzero(np.isfinite(d_vals))
    d_top = allowed[_top(d_vals[allowed], pool)]
    k_top = _top(k_vals, pool)
    within = _fuse({int(j): float(k_vals[j]) for j in k_top if k_vals[j] > 0},
                   {int(j): float(d_vals[j]) for j in d_top}, settings)
    rel = {passages[int(snapshot.card_rows[j])].item_id: v for j, v in within.items()}
    for i, s in fused.items():
        parent = passages[i].parent_item_id
        if parent in rel:
            rel[parent] += settings.retrieval.link_support_weight * s
    return rel


def _link_relevance(snapshot: IndexSnapshot, asked_sims: np.ndarray, asked_mask: np.ndarray,
                    dense: dict[int, float]) -> dict[str, float]:
    """Per link: the best cosine of its own asked-as questions or of its snapshot chunks. Both are cosines
    (a ranked chunk's fused score is on another scale: it made any fetched link outrank its sibling)."""
    out: dict[str, float] = {}
    for a, s, ok in zip(snapshot.asked, asked_sims, asked_mask):
        if a.link_url and ok:
            out[a.link_url] = max(out.get(a.link_url, -1.0), float(s))
    for i, s in dense.items():
        url = snapshot.passages[i].source_url
        if url:
            out[url] = max(out.get(url, -1.0), float(s))
    return out


def _theme_scores(snapshot: IndexSnapshot, rel: dict[str, float], settings: Settings) -> dict[int, float]:
    """Each theme scores its three most relevant items (decaying weights): one strong match beats many
    mediocre ones; the general part is broad and weighs less."""
    per_theme: dict[int, list[float]] = {}
    for item_id, s in rel.items():
        p = snapshot.card_items.get(item_id)
        if p is not None and p.theme is not None:
            per_theme.setdefault(p.theme, []).append(s)
    return {th: sum(w * v for w, v in zip(settings.retrieval.theme_item_weights, sorted(vals, reverse=True)))
            * (settings.retrieval.general_weight if th == 0 else 1.0) for th, vals in per_theme.items()}


def retrieve(snapshot: IndexSnapshot, store: Store, embedder: Embedder, settings: Settings, query: str,
             filters: Filters | None = None) -> Retrieval:
    f = filters or Filters()
    timer = _Timer()
    with timer("embed_ms"):
        vecs = _embed(snapshot, embedder, query)
    with timer("keyword_ms"):
        kw_all = snapshot.keyword_scores(query)
        n = len(snapshot.passages)
        kw, kw_asked = kw_all[:n], kw_all[n:]
    with timer("dense_ms"):
        n_cand = settings.retrieval.candidates * (settings.retrieval.filtered_candidates_factor if not f.empty else 1)
        hits = store.query(snapshot.version.name, vecs.rank, n_cand, where={"role": ChunkRole.PASSAGE.value})
        dense = {snapshot.by_id[h.record.id]: h.score for h in hits if h.record.id in snapshot.by_id}
        card_sims = snapshot.card_vectors @ vecs.rank if len(snapshot.card_rows) else np.zeros(0)
        asked_sims = snapshot.asked_vectors @ vecs.rank if len(snapshot.asked) else np.zeros(0)
    with timer("fusion_ms"):
        mask, asked_mask = _masks(snapshot, f)
        kw_cand = np.flatnonzero((kw > 0) & mask)
        kw_top = kw_cand[np.argsort(-kw[kw_cand], kind="stable")][: settings.retrieval.candidates]
        dense_ok = {i: s for i, s in dense.items() if mask[i]}  # the filters' dense hits: fusion and link choice
        fused = _fuse({int(i): float(kw[i]) for i in kw_top}, dense_ok, settings)
        for i in fused:
            if snapshot.passages[i].kind == Kind.BRON:
                fused[i] *= settings.retrieval.resource_weight
        ranked = _rank_passages(snapshot, fused, settings)
        card_rel: dict[str, float] = {}
        if len(snapshot.card_rows):
            k_vals, d_vals = _item_scores(snapshot, kw, kw_asked * settings.retrieval.asked_keyword_weight, card_sims,
                                          asked_sims, mask, asked_mask, settings.retrieval.hub_penalty,
                                          settings.retrieval.asked_top_n, settings.retrieval.asked_top_blend)
            card_rel = _card_relevance(snapshot, k_vals, d_vals, fused, settings)
        theme_scores = _theme_scores(snapshot, card_rel, settings)
        themes = sorted(theme_scores, key=lambda th: -theme_scores[th])
        link_rel = _link_relevance(snapshot, asked_sims, asked_mask, dense_ok)
    with timer("scope_ms"):
        kw_max = float(kw_all.max()) if len(kw_all) else 0.0
        scope = scope_features(snapshot, query, vecs.own, english=vecs.english, keyword_max=kw_max)
        gloss = (scope_features(snapshot, query, vecs.rank, english=True, keyword_max=kw_max)
                 if vecs.rank is not vecs.own else None)
    return Retrieval(query=query, ranked=ranked, themes=themes, theme_scores=theme_scores, card_relevance=card_rel,
                     link_relevance=link_rel, scope=scope, scope_gloss=gloss, timings=timer.ms)


def question_scope(snapshot: IndexSnapshot, embedder: Embedder, query: str) -> ScopeFeatures | None:
    """A situation sketch of three or more sentences is also judged on the sentence that asks (its last
    question): the story around it dilutes what the question is about. On the development sets this took
    in-scope declines from 6 to 4 of 822 with off-topic declines unchanged; from two sentences on, five
    off-topic questions were answered, so two-sentence questions are judged whole. It costs a second
    embedding, so the assistant asks for it only when the question itself is not answered."""
    ask = question_sentence(query, min_sentences=3)
    if ask is None:
        return None
    kw = snapshot.keyword_scores(ask)
    return scope_features(snapshot, ask, embedder.embed_query(snapshot.analyzer.embedding_text(ask)),
                          english=snapshot.analyzer.is_english(ask), keyword_max=float(kw.max()) if len(kw) else 0.0)
