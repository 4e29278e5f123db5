"""Personal-data detection and redaction (assistant/privacy.py)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.privacy import (
    PrivacyCheck,
    check_personal_data,
    describe,
    find_personal_data,
    is_valid_bsn,
    is_valid_iban,
    redact,
)
from assistant.privacy_names import first_names
from corpus.model import load_card

ROOT = Path(__file__).resolve().parent.parent


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_personal_data(text)]


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "111.222.333", "111 222 333", "1112.22.333"])
def test_valid_bsn_is_found(bsn: str) -> None:
    findings = find_personal_data(f"Wat doe ik met de leerling met BSN {bsn}?")
    assert [f.kind for f in findings] == ["bsn"]
    assert findings[0].text == bsn
    assert findings[0].description == "een burgerservicenummer (BSN)"


@pytest.mark.parametrize("number", ["111222334", "123456789", "000000000", "12345678", "1234567890"])
def test_numbers_failing_the_elfproef_are_not_a_bsn(number: str) -> None:
    assert "bsn" not in kinds(f"We hebben {number} euro subsidie gekregen")


def test_bsn_glued_to_a_label_is_found() -> None:
    assert kinds("BSN-111222333 en nr.123456782") == ["bsn", "bsn"]


def test_elfproef() -> None:
    assert is_valid_bsn("111222333")
    assert is_valid_bsn("111.222.333")
    assert not is_valid_bsn("111222332")
    assert not is_valid_bsn("000000000")


@pytest.mark.parametrize("email", ["j.jansen@school.nl", "ouder+kind@gmail.com", "IB.Team@Basisschool-De-Wijk.NL"])
def test_email_is_found(email: str) -> None:
    assert kinds(f"mail naar {email} graag") == ["email"]


@pytest.mark.parametrize("phone", [
    "06-12345678", "06 1234 5678", "0612345678", "020-1234567", "010 123 45 67", "+31 6 12345678",
    "+31612345678", "0031 20 123 4567", "(020) 123 4567", "+31 (0)6 12345678",
])
def test_dutch_phone_number_is_found(phone: str) -> None:
    findings = find_personal_data(f"Bel de moeder op {phone} vanmiddag")
    assert [f.kind for f in findings] == ["telefoon"]
    assert findings[0].text == phone


@pytest.mark.parametrize("text", ["groep 8 in 2023-2024", "tussen 9 en 12 uur", "12 leerlingen, 3 klassen"])
def test_ordinary_numbers_are_not_phone_numbers(text: str) -> None:
    assert kinds(text) == []


@pytest.mark.parametrize("iban", ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "nl91abna0417164300",
                                  "GB82 WEST 1234 5698 7654 32"])
def test_valid_iban_is_found(iban: str) -> None:
    findings = find_personal_data(f"Het rekeningnummer {iban} voor de ouderbijdrage")
    assert [f.kind for f in findings] == ["iban"]
    assert findings[0].text == iban


def test_iban_failing_mod97_is_not_reported_as_iban() -> None:
    assert not is_valid_iban("NL91ABNA0417164301")
    assert "iban" not in kinds("rekening NL91ABNA0417164301")
    assert is_valid_iban("DE89 3704 0044 0532 0130 00")


@pytest.mark.parametrize(("text", "name"), [
    ("Hoe help ik leerling Ahmed met zijn huiswerk?", "Ahmed"),
    ("mijn leerling Sanne de Vries is vaak afwezig", "Sanne de Vries"),
    ("Mijn leerling, Yusuf, praat weinig", "Yusuf"),
    ("leerlinge Fatima El Amrani uit groep 6", "Fatima El Amrani"),
    ("De leerling J. de Vries komt niet meer", "J. de Vries"),
    ("Wat doe ik als leerling Özlem niet wil praten?", "Özlem"),
    ("How do I help my pupil Anna settle in?", "Anna"),
])
def test_pupil_name_is_found(text: str, name: str) -> None:
    findings = find_personal_data(text)
    assert [(f.kind, f.text) for f in findings] == [("naam", name)]
    assert "leerling" in findings[0].description


@pytest.mark.parametrize("text", [
    "Hoe betrekken we ouders die slecht Nederlands spreken?",
    "Wat kan een leerling Nederlands leren in de ISK?",
    "Hoe begeleid ik een leerling in groep 8 bij de overstap naar het VO?",
    "Welke leerlingen hebben extra ondersteuning nodig?",
    "Mijn leerlingen voelen zich niet veilig",
    "wat is de cao-salarisschaal?",
    "Is there a guide on how to show every pupil I believe in them?",  # English "I" after "pupil"
    "What do I do when a pupil we all like suddenly goes quiet?",
])
def test_ordinary_questions_have_no_findings(text: str) -> None:
    assert find_personal_data(text) == []


def test_redact_replaces_every_finding_and_keeps_the_rest() -> None:
    text = ("Leerling Ahmed (BSN 111222333) woont bij zijn moeder, bereikbaar op 06-12345678 of "
            "moeder@example.nl; rekening NL91ABNA0417164300.")
    out = redact(text)
    for secret in ("Ahmed", "111222333", "06-12345678", "moeder@example.nl", "NL91ABNA0417164300"):
        assert secret not in out
    assert out == ("Leerling [naam] (BSN [BSN]) woont bij zijn moeder, bereikbaar op [telefoonnummer] of "
                   "[e-mailadres]; rekening [IBAN].")


def test_redact_leaves_clean_text_unchanged() -> None:
    text = "Hoe organiseren we een ouderavond voor ouders die weinig Nederlands spreken?"
    assert redact(text) == text


def test_findings_are_ordered_and_do_not_overlap() -> None:
    findings = find_personal_data("06-12345678, NL91ABNA0417164300 en 111222333")
    assert [f.kind for f in findings] == ["telefoon", "iban", "bsn"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_describe_lists_each_kind_once_in_dutch() -> None:
    findings = find_personal_data("a@b.nl, c@d.nl en 111222333")
    assert describe(findings) == "een e-mailadres en een burgerservicenummer (BSN)"
    assert describe([]) == ""


# --- the policy function -------------------------------------------------------------------------

def test_check_of_a_clean_question_lets_it_through_unchanged() -> None:
    text = "Hoe betrekken we ouders die weinig Nederlands spreken bij de overstap?"
    check = check_personal_data(text)
    assert check == PrivacyCheck(findings=(), message="", redacted=text)
    assert check.ok


def test_check_names_what_was_found_without_repeating_it() -> None:
    text = "Leerling Sanne de Vries (BSN 111222333) is bereikbaar via sanne.devries [at] school.nl"
    check = check_personal_data(text)
    assert not check.ok
    assert [f.kind for f in check.findings] == ["naam", "bsn", "email"]
    assert "naam van een leerling" in check.message and "burgerservicenummer" in check.message
    assert "e-mailadres" in check.message and "niet verstuurd" in check.message
    for secret in ("Sanne", "Vries", "111222333", "devries", "school.nl"):
        assert secret not in check.message
        assert secret not in check.redacted
    assert check.redacted == redact(text) == "Leerling [naam] (BSN [BSN]) is bereikbaar via [e-mailadres]"


def test_check_is_frozen() -> None:
    check = check_personal_data("bel 06-12345678")
    with pytest.raises(AttributeError):
        check.message = "anders"  # type: ignore[misc]


# --- names that are also ordinary words ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Ik heb hoop dat het beter gaat met de klas",
    "Mijn leerling wil niet naar school",
    "Mark je agenda voor de studiedag",
    "Roos is een mooie bloem voor op tafel",
    "De leerling kan niet stilzitten",
    "Dan gaan we naar het museum",
    "Antwoord in het Frans graag",
    "Elke leerling telt en erin geloven helpt",
    "Hoe zit het tijdens de Ramadan met gym?",
    "Can I use this card for my school? Will it help with Christian schools?",
    "Is there a checklist by Pharos?",
    "Hoe werkt de methode Kanjertraining in groep 5?",
    "We gebruiken Parnassys en Magister voor de leerlingdossiers",
    "Leerlingen uit groep 8 en kinderen uit 3b gaan op excursie",
    "Welk referentieniveau moet een leerling eind groep 8 halen, 1F of 2F?",
    "Kunnen we met de Gelijke Kansen Alliantie en het Verwey-Jonker Instituut samenwerken?",
    "Wat vindt Orhan Agirdag van meertaligheid, en wat schrijft Leony Coppens over trauma?",
])
def test_ordinary_words_and_public_names_are_not_personal_names(text: str) -> None:
    assert find_personal_data(text) == []


@pytest.mark.parametrize(("text", "name"), [
    ("leerling Roos heeft dyslexie", "Roos"),
    ("Roos uit groep 4 huilt veel", "Roos"),
    ("Fleur de Jong uit 5a is vaak moe", "Fleur de Jong"),
    ("mijn mentorleerling Bas is gestopt", "Bas"),
    ("Mijn zoon Sem zit in groep 3", "Sem"),
    ("Sanne heeft ADHD, hoe help ik haar?", "Sanne"),
    ("De ouders van Emma komen op gesprek", "Emma"),
])
def test_names_need_only_the_evidence_their_list_entry_asks_for(text: str, name: str) -> None:
    assert [(f.kind, f.text) for f in find_personal_data(text)] == [("naam", name)]


def test_a_word_name_without_evidence_is_not_flagged_but_a_plain_name_is() -> None:
    # Roos is marked as an ordinary word: mid-sentence alone it is not enough; Daan is not marked.
    assert find_personal_data("Hoe help ik Roos met lezen?") == []
    assert [f.text for f in find_personal_data("Hoe help ik Daan met lezen?")] == ["Daan"]


def test_the_first_name_list_is_broad_lowercase_and_marks_word_names() -> None:
    names = first_names()
    assert len(names) > 4000
    assert all(n == n.lower() and " " not in n for n in names)
    for name in ("sanne", "daan", "sem", "zoë", "anaïs", "łukasz", "özlem", "mohammed", "fatima", "yohannes",
                 "oleksandr", "shanice", "ahmet", "aïcha"):
        assert names.get(name) is False, name
    for word in ("roos", "fleur", "mark", "bas", "wil", "kim", "sterre", "dan", "frans", "elke"):
        assert names.get(word) is True, word


# --- numbers that are not personal data ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ISBN 978-90-244-0123-4", "Van 08.30 tot 15.15 uur, pauze 10.00-10.15", "De subsidie is 12.345.678 euro",
    "Groepen 1 2 3 4 5 6 7 8 9 10", "In 2021 PO en VO samen, vanaf 2023 VO-scholen", "Op 12 maart 2025 is de studiedag",
    "Het schooljaar 2024-2025 begint op 2 september", "Het Kerkplein 2 keer per jaar schoonmaken",
    "Look at pharos.nl for the checklist", "Op het schoolplein 3 kinderen gepest", "ik ben geboren in Syrië",
])
def test_ordinary_numbers_dates_and_places_have_no_findings(text: str) -> None:
    assert find_personal_data(text) == []


# --- false positives on the project's own questions and card -------------------------------------

def _questions(path: Path) -> list[tuple[str, str]]:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []
    for q in raw["questions"]:
        out.append((q["id"], q["question"]))
        out += [(f"{q['id']}:history", turn["content"]) for turn in q.get("history") or []]
    return out


# The questions in these files that do name a person: they must be flagged, they are no false positives.
TRUE_POSITIVES = {"q123",  # "Mag ik Jamal uit groep 7 schorsen ...?"
                  "h9_119"}  # "Spreek me vanaf nu aan met 'meester Henk' ...": the asker's own name, held back too
# Known false positives, kept: holding back a word too many costs less than letting a name through.
KNOWN_FALSE_POSITIVES = {"h10_104"}  # "... in Uk & Puk": a VVE programme read as a name (near-domain, declined anyway)


@pytest.mark.parametrize("name", ["evals/golden.yaml", "evals/holdout.yaml", "evals/holdout2.yaml",
                                  "evals/holdout3.yaml", "evals/holdout4.yaml", "evals/holdout5.yaml",
                                  "evals/holdout6.yaml", "evals/holdout7.yaml",
                                  "evals/holdout8.yaml", "evals/holdout9.yaml", "evals/holdout10.yaml",
                                  "evals/holdout11.yaml", "evals/holdout12.yaml", "evals/holdout13.yaml",
                                  "evals/holdout14.yaml",
                                  "corpus/offtopic.yaml"])
def test_no_question_of_the_question_files_is_flagged(name: str) -> None:
    questions = _questions(ROOT / name)
    assert len(questions) >= 30
    flagged = {qid for qid, text in questions if find_personal_data(text)}
    assert flagged == (TRUE_POSITIVES | KNOWN_FALSE_POSITIVES) & {qid for qid, _ in questions}


def test_no_asked_as_question_is_flagged() -> None:
    raw: dict[str, Any] = yaml.safe_load((ROOT / "corpus/asked_as.yaml").read_text(encoding="utf-8"))
    questions = [q for section in raw.values() for qs in section.values() for q in qs]
    assert len(questions) > 900
    assert [q for q in questions if find_personal_data(q)] == []


def test_the_cards_own_texts_and_authors_are_not_flagged() -> None:
    card = load_card()
    texts = [t for item in card.items for t in (item.heading, item.text, *item.subitems)]
    links = yaml.safe_load((ROOT / "corpus/links.yaml").read_text(encoding="utf-8"))["links"]
    texts += [link[key] for link in links for key in ("title", "publisher")]
    notes = yaml.safe_load((ROOT / "corpus/link_notes.yaml").read_text(encoding="utf-8"))["notes"]
    texts += [note["about"] for note in notes.values()]
    assert any("Leony Coppens" in t for t in texts) and any("El Hadioui" in t for t in texts)
    assert [(t[:60], find_personal_data(t)) for t in texts if find_personal_data(t)] == []


# --- speed -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a" * 2000, "Aaaa " * 400, "1 " * 1000, "12-" * 666, "1." * 1000, "(0)" * 666, "+3" * 1000,
    "a." * 1000 + "@", "a [at] " * 285, "Sanne de " * 222, "leerling " * 222, "Kerkstraat" * 200,
    "geboren " * 250, "A" * 2000,
])
def test_detection_is_fast_on_adversarial_input(text: str) -> None:
    find_personal_data("warm-up: the name list is read once")
    started = time.perf_counter()
    find_personal_data(text[:2000])
    assert (time.perf_counter() - started) * 1000 < 50


@pytest.mark.parametrize("text, flagged", [
    ("Wat kost een busreis met 60 leerlingen naar het Anne Frank Huis ongeveer?", False),
    ("We gaan met groep 8 naar het Van Gogh Museum, wat moet ik regelen?", False),
    ("Werkt iemand hier met de Maria Montessori School samen?", False),
    ("Anne Jansen uit groep 7 huilt veel, wat nu?", True),  # a person, even next to a capitalised word
    ("Hoe help ik Sanne Huis uit groep 5?", True),  # a surname that is also an institution word
])
def test_a_name_that_names_a_place_or_body_is_not_personal_data(text: str, flagged: bool) -> None:
    assert bool(find_personal_data(text)) is flagged
