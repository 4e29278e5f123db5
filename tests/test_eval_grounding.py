"""Grounding checks: sentence splitting, verbatim / lexical support, calibration, and mutation tests."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.types import Answer, Citation, LinkRef, Passage
from corpus.model import load_card
from evals.grounding import (
    calibrate_threshold,
    check_answer,
    load_support_pairs,
    score_pairs,
    split_sentences,
    support_score,
    support_threshold,
    threshold_accuracy,
    verbatim_supported,
)

CARD = load_card()
CORPUS_URLS = {lk.url for lk in CARD.links}


def passage(item_id: str, score: float = 1.0) -> Passage:
    item = CARD.by_id[item_id]
    return Passage(
        id=f"chunk-{item_id}", item_id=item_id, theme=item.theme, theme_title=item.theme_title, kind=item.kind,
        heading=item.heading, text=item.full_text, score=score,
        links=tuple(LinkRef(url=lk.url, title=lk.title) for lk in item.links), school_type=item.school_type,
    )


def extractive_answer(question: str, context: list[str], vragen: list[str], direct: list[str],
                      lang: list[str]) -> Answer:
    """An answer in the extractive generator's format, built only from real card items."""
    passages = [passage(i, 1.0 - n / 100) for n, i in enumerate(context + vragen + direct + lang)]
    by_item = {p.item_id: p for p in passages}
    citations: list[Citation] = []

    def bullet(item_id: str) -> str:
        p = by_item[item_id]
        marks = ""
        for lk in p.links:
            citations.append(Citation(n=len(citations) + 1, url=lk.url, title=lk.title, passage_id=p.id))
            marks += f" [{len(citations)}]"
        item = CARD.by_id[item_id]
        subs = "".join(f"\n  - {s}" for s in item.subitems)
        return f"- {item.text}{marks}{subs}"

    theme = CARD.by_id[(context + vragen + direct + lang)[0]].theme
    lines = [f"Je vraag gaat over thema {theme}, {CARD.theme(theme).title}:", ""]
    lines += [" ".join(CARD.by_id[i].text for i in context), ""]
    for heading, ids in (("Vragen om met je team te bespreken", vragen), ("Direct aan de slag", direct),
                         ("Op langere termijn", lang)):
        if ids:
            lines += [f"**{heading}:**"] + [bullet(i) for i in ids] + [""]
    lines += [f"Lees het hele thema {theme} in de praktijkkaart:", "", "**Bronnen:**"]
    lines += [f"[{c.n}] {c.title} — {c.url}" for c in citations]
    return Answer(question=question, answer="\n".join(lines), in_scope=True, generator="extractive",
                  citations=citations, passages=passages, themes=[theme])


@pytest.fixture
def good() -> Answer:
    return extractive_answer(
        "Hoe begeleiden we de overstap van groep 8 naar het VO?",
        context=["t4.intro.1"], vragen=["t4.vraag.2", "t4.vraag.3"],
        direct=["t4.direct.2", "t4.direct.5"], lang=["t4.lang.2"],
    )


def _replace_line(answer: Answer, old: str, new: str) -> Answer:
    assert old in answer.answer, old
    return dataclasses.replace(answer, answer=answer.answer.replace(old, new, 1))


# --- splitting and verbatim support ----------------------------------------------------------------


def test_split_sentences_skips_template_lines_and_sources():
    md = (
        "## Gevoelige overgangen\n"
        "Je vraag gaat over thema 4, Gevoelige overgangen:\n\n"
        "Eerste zin van de context. Tweede zin [1].\n"
        "**Direct aan de slag:**\n"
        "- Handreiking adviesgesprek voor groep 8 [2]\n"
        "- Met wie kunnen we samenwerken? Bijvoorbeeld:\n"
        "  - Leerplicht;\n\n"
        "**Bronnen:**\n"
        "[1] Titel — https://kansenkaart.nl/\n"
        "[2] Titel — https://www.yumpu.com/nl/document/read/56733340/adviesgesprek-groep-8\n"
    )
    sents = split_sentences(md)
    assert [s.text for s in sents] == [
        "Eerste zin van de context.", "Tweede zin [1].", "Handreiking adviesgesprek voor groep 8 [2]",
        "Met wie kunnen we samenwerken?", "Leerplicht;",
    ]
    assert [s.citations for s in sents] == [(), (1,), (2,), (), ()]
    assert [s.bullet for s in sents] == [False, False, True, True, True]


def test_citation_marker_after_the_full_stop_stays_with_its_sentence():
    sents = split_sentences("Eerste zin. [1] Tweede zin. [2]")
    assert [(s.text, s.citations) for s in sents] == [("Eerste zin. [1]", (1,)), ("Tweede zin. [2]", (2,))]


def test_verbatim_supported_normalises_quotes_whitespace_markers_and_bullets():
    card_text = CARD.by_id["t4.direct.5"].full_text  # uses curly quotes ‘...’
    assert verbatim_supported("- Handreiking 'kansrijke doorstroom na de brugklas'.  [3]", [card_text])
    assert verbatim_supported("Deze bevat (wetenschappelijke)   inzichten, tips en praktijkvoorbeelden [1][2]",
                              [card_text])
    assert not verbatim_supported("Deze bevat alleen wetenschappelijke inzichten.", [card_text])
    assert not verbatim_supported("[1]", [card_text])
    # A sub-item is found inside its item's text.
    assert verbatim_supported("- Leerplicht;", [CARD.by_id["t2.vraag.5"].full_text])


# --- the extractive answer and its mutations -------------------------------------------------------


def test_correct_extractive_answer_passes(good: Answer):
    report = check_answer(good, CORPUS_URLS)
    assert report.method == "verbatim"
    assert report.ok, report.problems()
    assert report.total >= 7 and report.share == 1.0


def test_invented_sentence_is_caught(good: Answer):
    bad = _replace_line(good, "- Handreiking adviesgesprek voor groep 8 [1]",
                        "- Handreiking adviesgesprek voor groep 8 [1]\n"
                        "- Plan het adviesgesprek altijd in de eerste week van januari. [1]")
    report = check_answer(bad, CORPUS_URLS)
    assert not report.ok
    assert [s.text for s in report.sentences if not s.supported] == [
        "Plan het adviesgesprek altijd in de eerste week van januari. [1]"]


def test_invented_uncited_context_sentence_is_caught(good: Answer):
    context = CARD.by_id["t4.intro.1"].text
    bad = _replace_line(good, context, context + " Scholen moeten elk kind een mentor uit groep 8 geven.")
    report = check_answer(bad, CORPUS_URLS)
    unsupported = [s for s in report.sentences if not s.supported]
    assert [s.text for s in unsupported] == ["Scholen moeten elk kind een mentor uit groep 8 geven."]
    assert unsupported[0].reason == "not in any passage of the answer"


def test_citation_number_that_does_not_exist_is_caught(good: Answer):
    bad = _replace_line(good, "groep 8 [1]", "groep 8 [7]")
    report = check_answer(bad, CORPUS_URLS)
    assert report.unknown_citations == [7]
    assert any(not s.supported and s.reason == "unknown citation" for s in report.sentences)
    assert not report.ok


def test_citation_number_pointing_to_the_wrong_source_is_caught(good: Answer):
    # [2] is the VO-raad handreiking; the sentence comes from the groep-8 handreiking.
    bad = _replace_line(good, "groep 8 [1]", "groep 8 [2]")
    report = check_answer(bad, CORPUS_URLS)
    assert report.structural_ok  # every number exists ...
    wrong = [s for s in report.sentences if not s.supported]
    assert [s.text for s in wrong] == ["Handreiking adviesgesprek voor groep 8 [2]"]  # ... but it is the wrong one
    assert wrong[0].reason == "not in the cited passage"


def test_bullet_markers_cite_every_sentence_of_the_bullet(good: Answer):
    sents = {s.text: s for s in split_sentences(good.answer)}
    assert sents["Handreiking ‘kansrijke doorstroom na de brugklas’."].citations == (2,)
    # Card text from another passage, slipped into a cited bullet, is attributed to the wrong source.
    question = "Hoe betrekken we leerlingen en ouders/verzorgers bij de gevoelige overgangen?"
    bad = _replace_line(good, "- Handreiking adviesgesprek voor groep 8 [1]",
                        f"- {question} Handreiking adviesgesprek voor groep 8 [1]")
    report = check_answer(bad, CORPUS_URLS)
    assert [s.text for s in report.sentences if not s.supported] == [question]


def test_citation_whose_url_its_passage_does_not_carry_is_caught(good: Answer):
    other = next(lk for lk in CARD.links if lk.id == "kansenkaart")
    citations = [dataclasses.replace(c, url=other.url) if c.n == 1 else c for c in good.citations]
    report = check_answer(dataclasses.replace(good, citations=citations), CORPUS_URLS)
    assert report.foreign_urls == []  # a corpus URL, but not this passage's
    assert len(report.citation_errors) == 1 and "[1]" in report.citation_errors[0]
    assert len(report.source_list_errors) == 1  # the Bronnen list still shows the original URL for [1]
    assert not report.ok


def test_foreign_url_is_caught(good: Answer):
    bad = _replace_line(good, "**Bronnen:**", "Meer tips: https://www.example.com/overgang-tips\n\n**Bronnen:**")
    report = check_answer(bad, CORPUS_URLS)
    assert report.foreign_urls == ["https://www.example.com/overgang-tips"]
    assert not report.ok
    in_sources = _replace_line(good, "[1] ", "[1] zie ook https://evil.example.org/x — ")
    assert check_answer(in_sources, CORPUS_URLS).foreign_urls == ["https://evil.example.org/x"]


def test_markdown_image_is_caught_even_with_a_corpus_url(good: Answer):
    img = f"![overgang]({good.citations[0].url})"
    bad = _replace_line(good, "**Bronnen:**", f"{img}\n\n**Bronnen:**")
    report = check_answer(bad, CORPUS_URLS)
    assert report.images == [img]
    assert not report.ok


def test_declined_answer_must_not_cite():
    declined = Answer(question="Wat verdient een leraar?", in_scope=False, generator="extractive", status="declined",
                      answer="Daar gaat de praktijkkaart niet over. De kaart behandelt vijf thema's.")
    assert check_answer(declined, CORPUS_URLS).ok
    p = passage("t4.direct.2")
    cited = dataclasses.replace(declined, passages=[p],
                                citations=[Citation(n=1, url=p.links[0].url, title="x", passage_id=p.id)])
    report = check_answer(cited, CORPUS_URLS)
    assert report.other == ["a declined answer cites sources"]
    assert not report.ok


# --- lexical support for LLM answers -------------------------------------------------------------------


def test_lexical_check_accepts_paraphrase_and_rejects_invention():
    p = passage("t5.intro.2")
    answer = Answer(
        question="Hoe zie ik hoe het met mijn leerlingen gaat?", in_scope=True, generator="llm", passages=[p],
        answer=("Volgens de kaart helpt een dagelijkse check-in, bijvoorbeeld met een emotiemeter in de klas, "
                "om te zien hoe het met de leerlingen gaat. Ook een dagelijkse check-out is belangrijk."),
    )
    report = check_answer(answer, CORPUS_URLS)
    assert report.method == "lexical"
    assert report.ok, report.problems()
    invented = dataclasses.replace(answer, answer=answer.answer + " Een check-in verhoogt de toetsresultaten "
                                                                  "met gemiddeld twintig procent.")
    report = check_answer(invented, CORPUS_URLS)
    assert [s.supported for s in report.sentences] == [True, True, False]


def test_support_score_is_stemmed_content_word_recall():
    text = CARD.by_id["t2.intro.1"].full_text
    assert support_score("Partnerschap tussen ouders en school draagt bij aan betere leerprestaties.", text) == 1.0
    # 'verzorgers' and 'ouders' are one synonym group, 'leerprestaties' is stemmed.
    assert support_score("Partnerschap met verzorgers leidt tot betere leerprestatie.", text) >= 0.75
    assert support_score("Huisbezoeken halveren het verzuim binnen een maand.", text) < 0.5
    assert support_score("En dat is dat.", text) == 1.0  # nothing to check


def test_calibrate_threshold_maximises_accuracy():
    scored = [(0.9, True), (0.8, True), (0.7, False), (0.65, True), (0.3, False), (0.1, False)]
    t = calibrate_threshold(scored)
    assert threshold_accuracy(scored, t) == pytest.approx(5 / 6)
    assert 0.3 < t <= 0.8
    assert calibrate_threshold([(0.2, False), (0.9, True)]) == pytest.approx(0.55)
    with pytest.raises(ValueError):
        calibrate_threshold([])


def test_support_threshold_is_accurate_on_the_hand_labelled_pairs():
    pairs = load_support_pairs()
    assert len(pairs) >= 40
    assert sum(p.supported for p in pairs) >= 20 and sum(not p.supported for p in pairs) >= 20
    assert all(p.passage in CARD.by_id for p in pairs)
    scored = score_pairs(pairs)
    t = support_threshold()
    assert 0.3 < t < 0.95
    assert threshold_accuracy(scored, t) >= 0.85
    # Leave-one-out: a threshold calibrated without a pair still classifies it correctly most of the time.
    hits = 0
    for i, (score, label) in enumerate(scored):
        ti = calibrate_threshold(scored[:i] + scored[i + 1:])
        hits += (score >= ti) == label
    assert hits / len(scored) >= 0.85


def test_the_answer_path_uses_the_calibrated_support_threshold():
    """assistant.grounding carries the threshold as a constant (the answer path reads no eval data);
    it must be what the calibration on evals/support_pairs.yaml gives today."""
    from assistant.grounding import SUPPORT_THRESHOLD

    assert support_threshold() == SUPPORT_THRESHOLD
