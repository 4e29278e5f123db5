"""Personal-data detection and redaction (assistant/privacy.py)."""

from __future__ import annotations

import pytest

from assistant.privacy import describe, find_personal_data, is_valid_bsn, is_valid_iban, redact


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
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:]))


def test_describe_lists_each_kind_once_in_dutch() -> None:
    findings = find_personal_data("a@b.nl, c@d.nl en 111222333")
    assert describe(findings) == "een e-mailadres en een burgerservicenummer (BSN)"
    assert describe([]) == ""
