"""Unit tests of the pure metric functions on hand-made cases."""

from __future__ import annotations

import math

import pytest

from assistant.types import Passage
from evals.metrics import (
    CitedLink,
    aggregate,
    aggregate_by,
    citation_precision,
    citation_recall,
    decline_scores,
    extract_urls,
    foreign_urls,
    hit_at_k,
    is_dutch,
    latency_summary,
    link_hit,
    mean,
    mrr,
    ndcg_at_k,
    normalize_url,
    percentile,
    ranked_items,
    ranked_themes,
    reciprocal_rank,
)


def _p(item_id: str, theme: int | None, *, parent: str | None = None, parent_theme: int | None = None) -> Passage:
    return Passage(id=f"c-{item_id}", item_id=item_id, theme=theme, theme_title="", kind="bron" if theme is None else "vraag",
                   heading="", text="", score=0.0, parent_item_id=parent, parent_theme=parent_theme)


# --- retrieval -----------------------------------------------------------------------------------


def test_resource_passages_count_for_their_parent_theme_and_item():
    ranked = [_p("t2.vraag.1", 2), _p("bron:nji-vve:0", None, parent="t4.direct.1", parent_theme=4), _p("alg.hoe.1", 0)]
    assert ranked_themes(ranked) == [2, 4, 0]
    assert ranked_items(ranked) == ["t2.vraag.1", "t4.direct.1", "alg.hoe.1"]


def test_hit_at_k_theme_and_passage_level():
    themes = [2, 2, 4, 1, 5]
    assert hit_at_k(themes, {4}, 1) == 0.0
    assert hit_at_k(themes, {4}, 2) == 0.0
    assert hit_at_k(themes, {4}, 3) == 1.0
    assert hit_at_k(themes, {3}, 5) == 0.0
    assert hit_at_k(themes, {0, 2}, 1) == 1.0
    items = ["t4.intro.1", "t4.direct.2", "t4.direct.5"]
    assert hit_at_k(items, {"t4.direct.5", "t4.vraag.3"}, 2) == 0.0
    assert hit_at_k(items, {"t4.direct.5", "t4.vraag.3"}, 3) == 1.0
    assert hit_at_k([], {1}, 3) == 0.0
    assert hit_at_k([None, 3], {3}, 2) == 1.0
    with pytest.raises(ValueError):
        hit_at_k(themes, {4}, 0)


def test_reciprocal_rank_and_mrr():
    assert reciprocal_rank([5, 1, 4], {4}) == pytest.approx(1 / 3)
    assert reciprocal_rank([5, 1, 4], {2}) == 0.0
    assert reciprocal_rank([4, 4], {4}) == 1.0
    # (1/1 + 1/2 + 0) / 3
    assert mrr([[1], [2, 1], [3]], [{1}, {1}, {9}]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        mrr([[1]], [])


def test_ndcg_binary_relevance_counts_each_key_once():
    # One relevant key at rank 1: perfect, however often it repeats.
    assert ndcg_at_k([4, 4, 4], {4}, 5) == pytest.approx(1.0)
    # Relevant at rank 2 only.
    assert ndcg_at_k([1, 4], {4}, 5) == pytest.approx(1 / math.log2(3))
    # Two relevant keys, found at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3)).
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 5) == pytest.approx(expected)
    # Beyond k does not count.
    assert ndcg_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], set(), 5)


# --- URLs and citations ----------------------------------------------------------------------------

CORPUS = [
    "http://www.gelijke-kansen.nl",
    "https://kansenkaart.nl/",
    "https://www.pharos.nl/kaart-sleutelpersonen/",
]


def test_normalize_and_extract_urls():
    assert normalize_url("HTTPS://WWW.Pharos.nl/kaart-sleutelpersonen/") == "pharos.nl/kaart-sleutelpersonen"
    assert normalize_url("www.gelijke-kansen.nl.") == normalize_url("http://www.gelijke-kansen.nl")
    text = ("Zie [de kaart](https://kansenkaart.nl/), www.gelijke-kansen.nl. en ook pharos.nl/nieuw; "
            "mail info@school.nl niet meetellen als los domein.")
    urls = extract_urls(text)
    assert "https://kansenkaart.nl/" in urls
    assert "www.gelijke-kansen.nl" in urls
    assert "pharos.nl/nieuw" in urls
    assert "school.nl" not in urls


def test_foreign_urls_in_text_and_citations():
    text = "Lees www.gelijke-kansen.nl en https://kansenkaart.nl (bron [1])."
    assert foreign_urls(text, ["https://www.pharos.nl/kaart-sleutelpersonen/"], CORPUS) == []
    bad = text + " Meer op https://example.com/tips en ![x](https://evil.org/a.png)."
    assert foreign_urls(bad, [], CORPUS) == ["https://example.com/tips", "https://evil.org/a.png"]
    assert foreign_urls("", ["https://kansenkaart.nl/extra"], CORPUS) == ["https://kansenkaart.nl/extra"]
    # A bare domain that is not a corpus link is foreign too.
    assert foreign_urls("Zie pharos.nl voor meer.", [], CORPUS) == ["pharos.nl"]


def test_citation_precision():
    a, b, c = "https://a.nl/1", "https://b.nl/2", "https://c.nl/3"
    cited = [
        CitedLink(a, frozenset({a})),  # belongs to its passage
        CitedLink(b, frozenset()),  # expected
        CitedLink(c, frozenset({a})),  # neither: wrong source
    ]
    assert citation_precision(cited, [b]) == pytest.approx(2 / 3)
    assert citation_precision(cited[:2], [b]) == 1.0
    assert citation_precision([], [b]) is None
    # Normalised comparison: trailing slash and www. do not matter.
    assert citation_precision([CitedLink("https://www.b.nl/2/", frozenset())], [b]) == 1.0


def test_citation_recall_and_link_hit():
    a, b = "https://a.nl/1", "https://b.nl/2"
    assert citation_recall([a], [a, b]) == 0.5
    assert citation_recall([a, b, "https://x.nl"], [a, b]) == 1.0
    assert citation_recall([], [a]) == 0.0
    assert citation_recall([a], []) is None
    assert link_hit([a], [a, b]) == 1.0
    assert link_hit(["https://x.nl"], [a, b]) == 0.0
    assert link_hit([a], []) is None


# --- declines ----------------------------------------------------------------------------------------


def test_decline_scores_treat_declining_as_positive():
    expected = [True, True, True, False, False, False]  # 3 in scope, 3 out of scope
    answered = [True, False, True, False, False, True]  # one wrong decline, one missed decline
    d = decline_scores(expected, answered)
    assert (d.tp, d.fp, d.fn, d.tn) == (2, 1, 1, 2)
    assert d.precision == pytest.approx(2 / 3)
    assert d.recall == pytest.approx(2 / 3)
    assert d.accuracy == pytest.approx(4 / 6)
    none_declined = decline_scores([True, True], [True, True])
    assert none_declined.precision is None and none_declined.recall is None and none_declined.accuracy == 1.0
    with pytest.raises(ValueError):
        decline_scores([True], [])


# --- language ----------------------------------------------------------------------------------------


def test_is_dutch():
    assert is_dutch("Hoe betrekken we leerlingen en ouders/verzorgers bij de gevoelige overgangen?")
    assert is_dutch("Dit staat niet in de praktijkkaart. De kaart gaat over vijf thema's.")
    assert not is_dutch("How can our school involve parents who don't speak Dutch?")
    assert not is_dutch("The card recommends a checklist for the school and the teachers.")
    assert not is_dutch("")
    assert not is_dutch("https://www.pharos.nl/kaart-sleutelpersonen/")


# --- latency and aggregation -------------------------------------------------------------------------


def test_percentiles_and_latency_summary():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 50.0
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([40.0, 10.0], 50) == 25.0
    with pytest.raises(ValueError):
        percentile([], 50)
    summary = latency_summary(values)
    assert summary == {"n": 5, "p50_ms": 30.0, "p95_ms": 48.0, "mean_ms": 30.0, "max_ms": 50.0}
    assert latency_summary([])["p95_ms"] is None


def test_mean_and_aggregation_per_group():
    assert mean([1.0, None, 0.0, True]) == pytest.approx(2 / 3)
    assert mean([None]) is None
    records = [
        {"category": "plain", "themes": [1], "hit": 1.0, "recall": None},
        {"category": "plain", "themes": [1, 2], "hit": 0.0, "recall": 0.5},
        {"category": "english", "themes": [2], "hit": 1.0, "recall": 1.0},
    ]
    assert aggregate(records, ["hit", "recall"]) == {"hit": pytest.approx(2 / 3), "recall": 0.75}
    by_cat = aggregate_by(records, lambda r: [r["category"]], ["hit"])
    assert by_cat["plain"] == {"n": 2, "hit": 0.5}
    assert by_cat["english"] == {"n": 1, "hit": 1.0}
    by_theme = aggregate_by(records, lambda r: r["themes"], ["hit", "recall"])
    assert by_theme[1] == {"n": 2, "hit": 0.5, "recall": 0.5}
    assert by_theme[2] == {"n": 2, "hit": 0.5, "recall": 0.75}
