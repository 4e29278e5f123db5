"""Attack variants of personal data in realistic staff questions (assistant/privacy.py).

Every variant names the kind that must be found and the raw values that must be gone after `redact`.
All data is synthetic: BSNs are made-up numbers that pass the elfproef, IBANs are published test numbers.
"""

from __future__ import annotations

import re

import pytest

from assistant.privacy import find_personal_data, redact

# (question, expected kind, raw values that must not survive redaction)
VARIANTS: list[tuple[str, str, tuple[str, ...]]] = [
    # --- names after a cue word ---------------------------------------------------------------
    ("Hoe help ik mijn leerling sanne met begrijpend lezen?", "naam", ("sanne",)),
    ("de leerling: Sanne de Vries is vaak afwezig, wat nu?", "naam", ("Sanne", "Vries")),
    ("Mijn mentorleerling Sanne zit niet lekker in haar vel", "naam", ("Sanne",)),
    ("Wat doe ik met leerling Łukasz die net uit Polen komt?", "naam", ("Łukasz",)),
    ("mijn zorgleerling Daan van den Berg heeft een OPP, hoe verder?", "naam", ("Daan", "Berg")),
    ("Mijn zorgleerling heet Yusuf, hoe help ik hem met plannen?", "naam", ("Yusuf",)),
    ("het meisje Fatima spreekt nog weinig Nederlands", "naam", ("Fatima",)),
    ("de jongen Daan is erg druk tijdens de instructie", "naam", ("Daan",)),
    ("leerlinge Aïcha Ben Ali komt vaak te laat", "naam", ("Aïcha", "Ali")),
    ("Kan ik leerling Bilal el Idrissi doorverwijzen naar het wijkteam?", "naam", ("Bilal", "Idrissi")),
    ("mijn leerling Oleksandr uit Oekraïne slaapt slecht", "naam", ("Oleksandr",)),
    ("Wat als mijn mentorleerling mohammed niet meer komt?", "naam", ("mohammed",)),
    ("mijn leerling Roos wil niet meer naar gym", "naam", ("Roos",)),
    # --- names without a cue word -------------------------------------------------------------
    ("Sanne de Vries uit groep 7 heeft thuis problemen, wat kan ik doen?", "naam", ("Sanne", "Vries")),
    ("Zoë uit groep 6 wordt gepest, hoe pak ik dat aan?", "naam", ("Zoë",)),
    ("Anaïs (groep 6) huilt elke ochtend bij het afscheid", "naam", ("Anaïs",)),
    ("Özlem uit 2b durft niet te praten in de klas", "naam", ("Özlem",)),
    ("Hoe praat ik met de ouders van Mohammed over zijn gedrag?", "naam", ("Mohammed",)),
    ("Fatima El Amrani heeft moeite met de overstap naar het vo", "naam", ("Fatima", "Amrani")),
    ("Sem in klas 3b spijbelt steeds vaker", "naam", ("Sem",)),
    ("Jan-Willem Bakker uit groep 8 krijgt een laag advies", "naam", ("Jan", "Willem", "Bakker")),
    ("Hoe begeleid ik Noah van der Meer bij de overstap?", "naam", ("Noah", "Meer")),
    ("daan uit groep 5 vertelt dat hij thuis wordt geslagen", "naam", ("daan",)),
    ("De moeder van Lotte Jansen belt steeds over de toetsen", "naam", ("Lotte", "Jansen")),
    ("Roos de Boer uit groep 4 is vaak moe", "naam", ("Roos", "Boer")),
    ("Wat doe ik als Mila weer niet op school komt?", "naam", ("Mila",)),
    ("Ahmet Yılmaz (groep 8) krijgt geen passend schooladvies", "naam", ("Ahmet", "Yılmaz")),
    ("Yohannes uit groep 7 is net uit Eritrea gekomen", "naam", ("Yohannes",)),
    ("Shanice Kromodimedjo uit 3b wil stoppen met school", "naam", ("Shanice", "Kromodimedjo")),
    ("Hoe betrek ik de vader van Daan bij het gesprek?", "naam", ("Daan",)),
    ("İbrahim uit groep 7 is erg boos op zijn klasgenoten", "naam", ("İbrahim",)),
    ("Mag ik Xylia uit groep 7 een time-out geven?", "naam", ("Xylia",)),
    ("Mijn leerling, J.P. Bakker, wil een ander profiel", "naam", ("Bakker",)),
    # --- BSN with odd grouping and separators -------------------------------------------------
    ("bsn 12 34 56 782 staat in het dossier", "bsn", ("12 34 56 782",)),
    ("BSN: 123/456/782, mag ik dat doorsturen?", "bsn", ("123/456/782",)),
    ("haar bsn is 1234 56 782", "bsn", ("1234 56 782",)),
    ("burgerservicenummer 123-456-782 voor de aanmelding", "bsn", ("123-456-782",)),
    ("zijn BSN is 12.34.56.782", "bsn", ("12.34.56.782",)),
    ("sofinummer 111 22 2333 klopt dat?", "bsn", ("111 22 2333",)),
    # --- obfuscated e-mail addresses ----------------------------------------------------------
    ("mail naar sanne.devries [at] school.nl graag", "email", ("sanne.devries", "school.nl")),
    ("mail naar j.jansen(at)basisschool.nl over het verzuim", "email", ("j.jansen", "basisschool.nl")),
    ("ouder bereikbaar via p.dejong at gmail.com", "email", ("p.dejong", "gmail.com")),
    ("sanne.devries [at] school [punt] nl is het adres", "email", ("sanne.devries", "school")),
    ("stuur het naar moeder {at} ziggo.nl", "email", ("moeder {at} ziggo.nl",)),
    ("k.bakker at hotmail dot com is de vader", "email", ("k.bakker", "hotmail")),
    # --- phone numbers ------------------------------------------------------------------------
    ("bel de moeder op 06/12345678 vanmiddag", "telefoon", ("06/12345678",)),
    ("vader: 06.12.34.56.78", "telefoon", ("06.12.34.56.78",)),
    ("de oma in België: +32 470 12 34 56", "telefoon", ("+32 470 12 34 56",)),
    ("Belgisch nummer 0032 470 123456", "telefoon", ("0032 470 123456",)),
    ("bel 0031 6 1234 5678 na drie uur", "telefoon", ("0031 6 1234 5678",)),
    ("school 020/123 45 67", "telefoon", ("020/123 45 67",)),
    ("+31-6-12345678 is van de voogd", "telefoon", ("+31-6-12345678",)),
    ("zijn nummer is 06 - 12 34 56 78", "telefoon", ("12 34 56 78",)),
    # --- IBAN ---------------------------------------------------------------------------------
    ("iban nl91 abna 0417 1643 00 voor de ouderbijdrage", "iban", ("nl91 abna 0417 1643 00",)),
    ("Belgische rekening BE68 5390 0754 7034", "iban", ("BE68 5390 0754 7034",)),
    # --- date of birth ------------------------------------------------------------------------
    ("leerling geboren 12-03-2015, mag hij al naar groep 3?", "geboortedatum", ("12-03-2015",)),
    ("geb. 3 maart 2014, zit in groep 5", "geboortedatum", ("3 maart 2014",)),
    ("geboortedatum: 03/12/2015", "geboortedatum", ("03/12/2015",)),
    ("ze is geboren op 12 maart 2015 in Syrië", "geboortedatum", ("12 maart 2015",)),
    ("born 2015-03-12, how do I enrol her?", "geboortedatum", ("2015-03-12",)),
    # --- home address -------------------------------------------------------------------------
    ("het gezin woont op Kerkstraat 12 boven de winkel", "adres", ("Kerkstraat 12",)),
    ("adres: Lindenlaan 4a, 1234 AB Utrecht", "adres", ("Lindenlaan 4a", "1234 AB")),
    ("postcode 3512 JK, welk wijkteam hoort daarbij?", "adres", ("3512 JK",)),
    ("ze wonen aan de Dorpsweg 17 in Ede", "adres", ("Dorpsweg 17",)),
    ("woont op de van Goghlaan 3-II", "adres", ("Goghlaan 3-II",)),
]


def test_there_are_enough_distinct_variants() -> None:
    assert len(VARIANTS) >= 45
    assert len({text for text, _, _ in VARIANTS}) == len(VARIANTS)


@pytest.mark.parametrize(("text", "kind", "secrets"), VARIANTS, ids=[v[0][:40] for v in VARIANTS])
def test_variant_is_found_and_redacted(text: str, kind: str, secrets: tuple[str, ...]) -> None:
    assert kind in [f.kind for f in find_personal_data(text)]
    out = redact(text)
    for secret in secrets:
        assert secret not in out, out


def test_redaction_replaces_a_hyphenated_name_whole() -> None:
    out = redact("Hoe help ik leerling Jan-Willem de Vries met rekenen?")
    assert out == "Hoe help ik leerling [naam] met rekenen?"


def test_redaction_leaves_no_fragment_glued_to_a_placeholder() -> None:
    # '[naam]Willem' or 'Sanne[naam]' would mean that only part of a name was replaced.
    for text, _, _ in VARIANTS:
        out = redact(text)
        assert not re.search(r"\w\[|\](?=\w)", out), out
