"""One text module (corpus/text.py): folding, accents, the Dutch stemmer, stop words and the card's sentence
splitter live there once; the answer path, the grounding check and the injection screen use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_fold_accents_quotes() -> None:
    from corpus.text import fold, strip_accents

    assert fold("Één ‘Café’ Ärger") == "een 'cafe' arger"
    assert strip_accents("naïef coöperatie") == "naief cooperatie"  # case kept


def test_one_stemmer_and_named_stop_word_lists() -> None:
    import assistant.grounding as grounding
    import assistant.text as text
    import corpus.text as ct

    assert text.fold is ct.fold and text.stem is ct.stem and text.STOPWORDS is ct.SEARCH_STOPWORDS
    assert grounding._STOPWORDS is ct.GROUNDING_STOPWORDS
    assert ct.stem("ouders") == ct.dutch_stemmer().stemWord("ouders")
    assert ct.dutch_stemmer() is ct.dutch_stemmer()


def test_card_sentences_keep_abbreviations_together() -> None:
    from assistant.compose import sentences
    from corpus.text import card_sentences

    assert sentences is card_sentences
    assert card_sentences("Denk aan o.a. Ouders. Zij helpen! (Ook) leraren.") == [
        "Denk aan o.a. Ouders.", "Zij helpen!", "(Ook) leraren."]


@pytest.mark.parametrize("pattern", [r"def _?fold\(", r"unicodedata\.combining", r"Stemmer\.Stemmer\("])
def test_no_second_copy_outside_the_text_module(pattern: str) -> None:
    hits = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("tests/", ".venv/", "build/")) or rel == "corpus/text.py":
            continue
        if re.search(pattern, path.read_text(encoding="utf-8")):
            hits.append(rel)
    assert hits == []


def test_chat_shorthand_is_written_out_for_the_embedder() -> None:
    from assistant.text import Analyzer
    from corpus.model import load_synonyms

    a = Analyzer(load_synonyms())
    assert (a.spell_out("lln gr 7 zitten nt lekker in hun vel na de zomervak, kost t veel tijd?")
            == "leerlingen groep 7 zitten niet lekker in hun vel na de zomervakantie, kost het veel tijd?")
    assert a.spell_out("Als IB'er op een sbo wil ik dit met het MT bespreken") == (
        "Als IB'er op een sbo wil ik dit met het MT bespreken")  # acronyms of full sentences stay
    plain = "Hoe betrek ik ouders bij de overstap naar het vo?"
    assert a.spell_out(plain) is plain  # nothing to write out: the very same text (and cached embedding)
    english = "What can n teachers do for t pupils?"
    assert a.spell_out(english) is english  # English questions are left alone


def test_every_question_is_embedded_through_one_function() -> None:
    """Runtime retrieval and the scope fitter must embed the same text: the fitted model judges vectors
    made the way it was fitted (a drift here once left repeats collapsed only at runtime)."""
    from assistant.text import Analyzer
    from corpus.model import load_synonyms

    a = Analyzer(load_synonyms())
    assert a.embedding_text("lln gr 7 zijn zooooo moe moe moe moe") == "leerlingen groep 7 zijn zooo moe moe"
    callers = [p.relative_to(ROOT).as_posix() for d in ("assistant", "evals", "ingest", "ui", "praktijkkaart")
               for p in (ROOT / d).rglob("*.py") if "analyzer.spell_out(" in p.read_text(encoding="utf-8")]
    assert callers == []


def test_the_asking_sentence_of_a_situation_sketch() -> None:
    from assistant.text import question_sentence

    sketch = ("Onze roosteraar wil de gemengde brugklas afschaffen. Dat is lastig in te roosteren. "
              "Welke argumenten geeft de kaart om hem te houden? Ik hoor het graag.")
    assert question_sentence(sketch, min_sentences=3) == "Welke argumenten geeft de kaart om hem te houden?"
    assert question_sentence("Een kind huilt vaak. Wat doe ik?", min_sentences=3) is None  # judged whole
    assert question_sentence("Eén. Twee. Drie", min_sentences=3) == "Drie"  # no question mark: the last one
