"""Hybrid retrieval: BM25 (Dutch stems, compounds, synonyms) + dense (through the store), fused by
relative scores (each scaled to 0-1, weighted sum; reciprocal rank fusion as an option), diversified,
then ranked *for the answer*: first the best theme(s), then that theme's most relevant questions and
suggestions."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.index import IndexSnapshot
from assistant.text import words
from assistant.types import Filters, Passage
from praktijkkaart.settings import Settings
from vectorstore.base import Embedder, Store

# Follow-ups lean on the previous turn: they start with a connective ("en voor het VO?") or point back
# ("kun je daar meer over vertellen?"). A new, self-contained question is left alone.
_FOLLOWUP_START = re.compile(r"^(en|maar|ook|dus|wat als|hoe zit het|and|what about)\b", re.IGNORECASE)
_ANAPHOR = re.compile(r"\b(daar|daarover|daarvan|daarbij|hiervan|hierover|hierbij|ervan|erover|meer over|that|those)\b"
                      r"|\b(die|deze|dat|dit|those|these)\s+(ambtenaren|kaart|handreiking\w*|bron\w*|links?|interventies?|"
                      r"aanpak|checklists?|vragen|suggesties?|partners?|tips?|boeken?)\b", re.IGNORECASE)


def standalone_query(question: str, history: list[dict] | None, max_turns: int) -> str:
    """Make a follow-up self-contained by prefixing the user's earlier question."""
    if not history or max_turns == 0:
        return question
    earlier = [h["content"] for h in history if h.get("role") == "user" and h.get("content")][-max_turns:]
    if not earlier:
        return question
    if _FOLLOWUP_START.search(question) or _ANAPHOR.search(question) or len(words(question)) <= 2:
        return f"{earlier[-1]} {question}"
    return question


@dataclass
class Retrieval:
    query: str
    ranked: list[Passage]  # fused + diversified, best first
    themes: list[int]  # chosen themes, best first (0 = general part)
    theme_scores: dict[int, float]
    card_relevance: dict[str, float]  # card item id -> within-card relevance
    scope_score: float
    dense_max: float
    overlap: float
    timings: dict[str, float] = field(default_factory=dict)


def _allowed(p: Passage, f: Filters) -> bool:
    if f.school_type and p.school_type not in (f.school_type, "beide"):
        return False
    if f.themes and p.effective_theme not in f.themes:
        return False
    if f.kinds and p.kind not in f.kinds:
        return False
    return True


def _ranks(scores: dict[int, float]) -> dict[int, int]:
    order = sorted(scores, key=lambda i: -scores[i])
    return {i: r for r, i in enumerate(order)}


CARD_POOL = 256


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
    if settings.fusion == "rrf":
        return {i: 1.0 / (settings.rrf_k + r + 1) for i, r in _ranks(scores).items()}
    hi = max(scores.values())
    lo = min(scores.values()) if floor is None else floor
    span = hi - lo
    return {i: (v - lo) / span if span > 0 else 1.0 for i, v in scores.items()}


def _fuse(keyword: dict[int, float], dense: dict[int, float], settings: Settings) -> dict[int, float]:
    """Weighted sum of the two scaled rankings (BM25 has a natural zero; cosines are min-max scaled)."""
    kw_part = _scaled(keyword, settings, floor=0.0)
    dense_part = _scaled(dense, settings)
    return {i: settings.keyword_weight * kw_part.get(i, 0.0) + settings.dense_weight * dense_part.get(i, 0.0)
            for i in kw_part.keys() | dense_part.keys()}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _jaccard(sa: frozenset[str], sb: frozenset[str]) -> float:
    return len(sa & sb) / max(1, len(sa | sb))


def retrieve(snapshot: IndexSnapshot, store: Store, embedder: Embedder, settings: Settings, query: str,
             filters: Filters | None = None) -> Retrieval:
    f = filters or Filters()
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    q_vec = embedder.embed_query(query)
    # An English question is also embedded as its Dutch gloss: the dense search uses both, the gloss
    # weighted by how much of the question it covers (E5 ranks English against Dutch text less well).
    gloss = snapshot.analyzer.english_gloss(query)
    g_vec = embedder.embed_query(gloss[0]) if gloss else None
    rank_vec = q_vec if g_vec is None or gloss is None else _unit(q_vec + gloss[1] * g_vec)
    t["embed_ms"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    kw = snapshot.keyword_scores(query)
    t["keyword_ms"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    n_cand = settings.candidates * (3 if not f.empty else 1)
    hits = store.query(snapshot.version.name, rank_vec, n_cand)
    dense = {snapshot.by_id[h.record.id]: h.score for h in hits if h.record.id in snapshot.by_id}
    card_sims = snapshot.card_vectors @ rank_vec if len(snapshot.card_rows) else np.zeros(0)
    t["dense_ms"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    passages = snapshot.passages
    n = len(passages)
    if f.empty:
        mask = np.ones(n, dtype=bool)
    else:
        mask = np.fromiter((_allowed(p, f) for p in passages), dtype=bool, count=n)
    kw_cand = np.flatnonzero((kw > 0) & mask)
    kw_top = kw_cand[np.argsort(-kw[kw_cand], kind="stable")][: settings.candidates]
    fused = _fuse({int(i): float(kw[i]) for i in kw_top}, {i: s for i, s in dense.items() if mask[i]}, settings)
    for i in fused:
        if passages[i].kind == "bron":
            fused[i] *= settings.resource_weight

    # Diversity: no near-duplicates, at most two chunks of one linked resource.
    ranked: list[Passage] = []
    ranked_rows: list[int] = []
    per_source: dict[str, int] = {}
    for i in sorted(fused, key=lambda i: (-fused[i], passages[i].id)):
        p = passages[i]
        if p.source_url and per_source.get(p.source_url, 0) >= 2:
            continue
        if any(_jaccard(snapshot.word_set(i), snapshot.word_set(j)) >= 0.8 for j in ranked_rows[:10]):
            continue
        if p.source_url:
            per_source[p.source_url] = per_source.get(p.source_url, 0) + 1
        ranked.append(replace(p, score=fused[i]))
        ranked_rows.append(i)
        if len(ranked) >= max(settings.top_k, 12):
            break

    # Within-card relevance (the same fusion of keyword and dense scores, over the card) for the card items
    # in the pool: the best CARD_POOL by each ranking. The card has 82 items, so on the card that is every
    # item; on a corpus of 200k chunks it keeps the per-question work small (no dict over every row).
    card_rel: dict[str, float] = {}
    if len(snapshot.card_rows):
        keep = mask[snapshot.card_rows]
        rows = snapshot.card_rows[keep]
        sims = card_sims[keep]
        k_vals = kw[rows]
        d_top = _top(sims, CARD_POOL)
        k_top = _top(k_vals, CARD_POOL)
        within = _fuse({int(j): float(k_vals[j]) for j in k_top if k_vals[j] > 0},
                       {int(j): float(sims[j]) for j in d_top}, settings)
        card_rel = {passages[int(rows[j])].item_id: v for j, v in within.items()}
        # A resource chunk that matches the question lends support to the card item carrying its link.
        for i, s in fused.items():
            parent = passages[i].parent_item_id
            if parent in card_rel:
                card_rel[parent] += settings.link_support_weight * s

    # Stage one: the best theme(s). Each theme scores its three best fused passages (decaying weights),
    # so one strong match beats many mediocre ones.
    per_theme: dict[int, list[float]] = {}
    for i, s in fused.items():
        th = passages[i].effective_theme
        if th is not None:
            per_theme.setdefault(th, []).append(s)
    theme_scores = {th: sum(w * v for w, v in zip((1.0, 0.5, 0.25), sorted(vals, reverse=True)))
                    * (settings.general_weight if th == 0 else 1.0) for th, vals in per_theme.items()}
    themes = _choose_themes(theme_scores, settings.max_themes, settings.second_theme_ratio)
    t["fusion_ms"] = (time.perf_counter() - t0) * 1000

    # Scope: the question's own similarity; an English question that would be declined gets a second
    # look through its gloss (which can only raise the score, as far as it covers the question).
    own_sims = card_sims if rank_vec is q_vec else snapshot.card_vectors @ q_vec
    dense_max = float(own_sims.max()) if len(own_sims) else 0.0
    overlap = snapshot.analyzer.overlap(query)
    if gloss is not None and g_vec is not None and scope_score(dense_max, overlap) < settings.decline_threshold:
        gloss_max = float((snapshot.card_vectors @ g_vec).max())
        dense_max += gloss[1] * max(0.0, gloss_max - dense_max)
    return Retrieval(query=query, ranked=ranked, themes=themes, theme_scores=theme_scores, card_relevance=card_rel,
                     scope_score=scope_score(dense_max, overlap), dense_max=dense_max, overlap=overlap, timings=t)


def scope_score(dense_max: float, overlap: float) -> float:
    """Evidence that the card speaks to the question, on a scale where the decline threshold is ~3.

    Dense similarity to the best card passage does most of the work (multilingual E5 cosines of
    on-topic questions, English included, sit above ~0.84; school-admin questions below), and the
    IDF-weighted share of question words the card knows breaks ties. For English questions dense_max
    already includes the Dutch gloss (Analyzer.english_gloss). Weights and threshold were fitted on the
    golden set (evals/golden.yaml); the English pairs in evals/language_pairs.yaml check them.
    """
    return (dense_max - 0.78) / 0.02 + 0.5 * overlap


def _choose_themes(scores: dict[int, float], max_themes: int, ratio: float) -> list[int]:
    order = sorted(scores, key=lambda th: -scores[th])
    if not order:
        return []
    chosen = [order[0]]
    for th in order[1:max_themes]:
        if scores[th] >= ratio * scores[order[0]] and th != 0 and chosen[0] != 0:
            chosen.append(th)
    return chosen
