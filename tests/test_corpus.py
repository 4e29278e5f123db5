"""Transcription drift: corpus/ must stay faithful to the seed text of the praktijkkaart.

The seed (a PDF text extraction) lives outside the repo: $PRAKTIJKKAART_SHARED_DIR/seed/, else
../shared/seed/ beside the clone, else /work/shared/seed/. Locally the seed-based tests skip when it is
missing; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from corpus.model import KIND_LABELS, Card, load_card, load_synonyms

ROOT = Path(__file__).resolve().parent.parent
SEED_NAME = "praktijkkaart-gelijke-kansen-welbevinden.txt"
URL_RE = re.compile(r"https?://[^\s<>\"')]+")
COVERAGE_MIN = 0.98

# Where each of the 38 links sits on the printed card, read off the seed by a person (not derived from
# corpus/). The PDF extraction puts each theme's URLs after its text; the words they are on decide the item.
EXPECTED_ATTACHMENTS: dict[str, set[str]] = {
    # Theme 1 -- direct
    "https://www.verwey-jonker.nl/artikel/nieuw-overzicht-van-factoren-die-samenhangen-met-kansenongelijkheid/":
        {"t1.direct.1"},  # "Rapport van het Verweij Jonker Instituut"
    "http://www.gelijke-kansen.nl": {"t1.direct.2"},  # "www.gelijke-kansen.nl"
    "https://www.gelijke-kansen.nl/actueel/nieuws/2021/10/14/de-151-van-de-gka": {"t1.direct.2"},  # "bundel van 151"
    "https://www.pharos.nl/infosheets/welbevinden-op-school/": {"t1.direct.3"},  # "Infosheets Pharos ... regulier"
    "https://www.pharos.nl/infosheets/hoe-werk-je-aan-welbevinden-op-scholen-met-vluchtelingen-en-andere-nieuwkomers/":
        {"t1.direct.3"},  # "... en specifiek voor nieuwkomers"
    # Theme 1 -- langere termijn
    "https://www.pharos.nl/wp-content/uploads/2021/08/checklist-welbevinden-PO_aangevuld-nieuwkomers2.pdf":
        {"t1.lang.1"},  # "Welbevinden Checklist PO en VO"
    "https://www.pharos.nl/wp-content/uploads/2021/08/checklist-welbevinden-VO_aangevuld-nieuwkomers.docx.pdf":
        {"t1.lang.1"},
    "https://www.klassenmanagement.ncoj.nl/km_bouwstenen/zorg-begeleiding/een-zorgzaam-en-veilig-schoolklimaat.php":
        {"t1.lang.2"},  # "Bouwstenen om te werken aan een 'caring classroom'"
    "https://www.boomtestonderwijs.nl/auteur/110-7360_Agirdag": {"t1.lang.4"},  # "Orhan Agirdag"
    "https://www.boomtestonderwijs.nl/auteur/110-7361_Kambel": {"t1.lang.4"},  # "Ellen-Rose Kambel"
    "https://www.magazine-on-the-spot.nl/samendurvendelendoen/wp-content/uploads/2018/03/"
    "Gelijke-Kansen-in-Diverse-Klassen-PO-El-Hadioui.pdf": {"t1.lang.5"},  # "Gelijke kansen in diverse klassen"
    "https://www.lowan.nl/po/lesmateriaal/samenleren-op-een-superdiverse-school/":
        {"t1.lang.5"},  # "Samenleren op een superdiverse school"
    # Theme 2
    "https://www.pharos.nl/kaart-sleutelpersonen/": {"t2.vraag.3"},  # "tolk of sleutelpersoon"
    "https://www.yumpu.com/nl/document/read/55501922/gereedschap-oudercontact": {"t2.direct.1"},  # "scan oudercontact"
    "https://www.hogeschoolrotterdam.nl/onderzoek/projecten-en-publicaties/talentontwikkeling/gereedschapskist/":
        {"t2.direct.2"},  # "Op deze website"
    "https://magazine.amersfoort.nl/inspiratiemagazine-jeugd-en-onderwijs/school-brugfunctionaris-vo/":
        {"t2.direct.3"},  # "inspiratiemagazine"
    "https://www.pharos.nl/wp-content/uploads/2021/08/Pharos_praatplaat_welbevinden.pdf": {"t2.direct.4"},  # "Praatplaat"
    "https://uitgeverijpica.nl/downloads/804-met-plezier-naar-school": {"t2.direct.5"},  # "Met plezier naar school!"
    "https://www.gelijke-kansen.nl/actueel/nieuws/2020/02/21/symposium-handreiking-armoede-op-scholen":
        {"t2.lang.1"},  # "De handreiking Omgaan met Armoede op Scholen"
    # Theme 3 (its suggestions follow theme 4's in the extraction)
    "https://www.pharos.nl/wp-content/uploads/2021/08/Overzicht-interventies-Wellbevinden-nieuwkomerskinderen-Pharos-def.pdf":
        {"t3.direct.1"},  # "interventies ... nieuwkomerskinderen"
    "https://www.trimbos.nl/aanbod/webwinkel/product/af1489-sociaal-emotionele-problemen-tijdig-signaleren-in-het-primair-onderwijs":
        {"t3.direct.2"},  # "... signaleren in het primair onderwijs"
    "https://www.trimbos.nl/aanbod/webwinkel/product/pfg55192-handreiking-signaleren-voor-het-voortgezet-onderwijs":
        {"t3.direct.2"},  # "... signaleren in het voortgezet onderwijs"
    "https://kansenkaart.nl/": {"t3.lang.1"},  # "deze kansenkaart"
    "https://www.aanpakmetandereogen.nl/media/filer_public/dc/30/dc30ed7d-a05c-435f-be16-451424a05175/"
    "ondersteuningsroute-po.pdf": {"t3.lang.2"},  # "ondersteuningsroute ... Primair onderwijs"
    "https://www.aanpakmetandereogen.nl/media/filer_public/93/77/9377271f-a3cf-4bcf-8767-909dd9f964a8/"
    "model-ondersteuning-vo.pdf": {"t3.lang.2"},  # "... Voortgezet onderwijs"
    # Theme 4
    "https://www.nji.nl/voor-en-vroegschoolse-educatie-vve/tips-voor-instellingen": {"t4.direct.1"},  # "(VVE)"
    "https://www.yumpu.com/nl/document/read/56733340/adviesgesprek-groep-8": {"t4.direct.2"},  # "groep 8"
    "https://www.yumpu.com/nl/document/read/60021337/handreiking-ouders-en-lob-vmbo": {"t4.direct.3"},  # "vmbo"
    "https://www.lowan.nl/wp-content/uploads/2020/02/ISK-Walcheren-Brochure-overgang-ISK-naar-VO.pdf":
        {"t4.direct.4"},  # "Overgang van Internationale schakelklas naar VO"
    "https://www.vo-raad.nl/nieuws/nieuwe-handreiking-kansrijke-doorstroom-na-de-brugklas":
        {"t4.direct.5"},  # "kansrijke doorstroom na de brugklas"
    "https://studiezalen.com/": {"t4.lang.2"},  # "de aanpak Studiezalen"
    # Theme 5
    "https://klaswijs.nl/blog/zelfeffectiviteit-in-het-basisonderwijs/": {"t5.direct.1"},  # "Een blog"
    "https://www.pharos.nl/wp-content/uploads/2021/08/Info-leraren-Wellbevinden-nieuwkomerskinderen-Pharos.pdf":
        {"t5.direct.2"},  # "Hand-out voor leraren"
    "https://www.trimbos.nl/aanbod/webwinkel/product/af1921-preventief-werken-aan-sociaal-emotionele-ontwikkeling-en-welbevinden":
        {"t5.direct.3"},  # "Handreiking preventief werken"
    "https://www.onderwijskennis.nl/artikelen/leidraad-onderwijs-vanuit-hoge-verwachtingen":
        {"t5.direct.4"},  # "Leidraad ... hoge verwachtingen"
    "https://gelijkekansenindeklas.nl/": {"t5.direct.6"},  # "gelijke kansen in de klas"
    "https://leonycoppens.nl/opleidingsaanbod/": {"t5.lang.1"},  # "traumasensitief werken ... drie pijlers"
    "https://www.augeomagazine.nl/nl/magazine/11525/813554/zo_doe_je_dat_-_iedereen_kan_traumasensitief_werken.html":
        {"t5.lang.2"},  # "de uitgebreide handreiking van Augeo Foundation"
}

THEME_TITLES = {
    1: "Welbevinden en gelijke kansen",
    2: "Belang van brede samenwerking",
    3: "Interventies met impact",
    4: "Gevoelige overgangen",
    5: "Dagelijks het verschil maken",
}

# (intro, vragen, direct, lang) per theme, counted on the printed card.
THEME_SHAPE = {1: (4, 8, 3, 5), 2: (3, 5, 5, 3), 3: (3, 3, 2, 2), 4: (1, 4, 5, 2), 5: (2, 5, 6, 2)}


# --- the seed ------------------------------------------------------------------------------------------

def _seed_candidates() -> list[Path]:
    out = []
    if os.environ.get("PRAKTIJKKAART_SHARED_DIR"):
        out.append(Path(os.environ["PRAKTIJKKAART_SHARED_DIR"]) / "seed" / SEED_NAME)
    out += [ROOT.parent / "shared" / "seed" / SEED_NAME, Path("/work/shared/seed") / SEED_NAME]
    return out


@pytest.fixture(scope="module")
def seed_text() -> str:
    for path in _seed_candidates():
        if path.is_file():
            return path.read_text(encoding="utf-8")
    reason = "seed text not found; looked in: " + ", ".join(str(p) for p in _seed_candidates())
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def card() -> Card:
    return load_card()


def seed_urls(text: str) -> set[str]:
    return {u.rstrip(".,;") for u in URL_RE.findall(text)}


# --- words ---------------------------------------------------------------------------------------------

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "„": '"', "\u00a0": " ", "\u00ad": ""})
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)  # runs of letters: digits (footnote marks, years) split words off


def normalise(text: str) -> str:
    """Undo the PDF layout: NFKC (footnote marks ¹ ² become digits), plain quotes, words broken at a line end."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)  # NFKC: ¹ -> 1
    # "self-\nefficacy", "ouders/\nverzorgers", "(buiten)\nwereld": the line break is layout, not a space.
    text = re.sub(r"([-/)])[ \t]*\n\s*(?=[^\W\d_])", r"\1", text)
    return text


def words(text: str) -> list[str]:
    return [w.casefold() for w in _LETTERS.findall(normalise(text))]


def seed_prose(text: str) -> str:
    """The seed without URLs, bullet glyphs and list markers (page furniture of the extraction)."""
    kept = []
    for line in text.splitlines():
        line = URL_RE.sub(" ", line)
        line = re.sub(r"^[\s•\-\uf0a7\uf0b7]+", "", line)  # bullets, sub-list dashes, question markers
        kept.append(line)
    return "\n".join(kept)


def corpus_text(card: Card) -> str:
    """Everything a reader sees on the card, laid out like the card: headings once per section, then items."""
    parts = [card.title]
    for item in card.general:
        parts += [item.heading, item.full_text]
    for theme in card.themes:
        parts.append(f"{theme.number}. {theme.title}")
        for label_kind, items in (("intro", theme.intro), ("vraag", theme.vragen),
                                  ("suggestie_direct", theme.direct), ("suggestie_lang", theme.lang)):
            if label_kind != "intro" and items:
                parts.append(items[0].heading)
            parts += [i.full_text for i in items]
    return "\n".join(parts)


def coverage(seed_words: list[str], corpus_words: list[str]) -> tuple[float, Counter]:
    """Share of the seed's word *occurrences* matched by occurrences in the corpus (multiset).

    A multiset, not a set: Dutch prose repeats its words (de, het, leerlingen, welbevinden ...), so a set
    comparison would still pass when a whole paragraph is dropped as long as its words occur elsewhere on the
    card. With counts, every dropped or truncated sentence lowers the share.
    """
    need, have = Counter(seed_words), Counter(corpus_words)
    missing = need - have
    return 1 - sum(missing.values()) / max(1, sum(need.values())), missing


# --- links ---------------------------------------------------------------------------------------------

def test_expected_table_covers_every_seed_url(seed_text: str) -> None:
    urls = seed_urls(seed_text)
    assert len(urls) == 38
    assert urls == set(EXPECTED_ATTACHMENTS), (
        f"only in seed: {sorted(urls - set(EXPECTED_ATTACHMENTS))}; "
        f"only in table: {sorted(set(EXPECTED_ATTACHMENTS) - urls)}")


def test_links_yaml_holds_exactly_the_seed_urls(seed_text: str, card: Card) -> None:
    in_yaml = [lk.url for lk in card.links]
    assert len(in_yaml) == len(set(in_yaml)) == 38
    assert set(in_yaml) == seed_urls(seed_text)


@pytest.mark.parametrize("url", sorted(EXPECTED_ATTACHMENTS))
def test_each_link_is_attached_to_exactly_its_suggestion(card: Card, url: str) -> None:
    attached = {i.id for i in card.items_with_link(url)}
    assert attached == EXPECTED_ATTACHMENTS[url]


def test_every_link_has_a_short_title_and_publisher(card: Card) -> None:
    for lk in card.links:
        assert lk.title.strip() and len(lk.title) <= 100, lk
        assert lk.publisher.strip(), lk
        assert "://" not in lk.title, f"title is a URL: {lk}"
        assert lk.school_type in ("po", "vo", "beide")


def test_links_carry_the_words_they_were_on(card: Card) -> None:
    """Spot checks that the item text still contains the words the link was printed on."""
    spots = {"t1.direct.1": "Verweij Jonker", "t1.lang.1": "Checklist PO en VO", "t2.vraag.3": "sleutelpersoon",
             "t3.lang.1": "kansenkaart", "t4.direct.1": "(VVE)", "t5.lang.2": "Augeo Foundation",
             "t2.lang.1": "Omgaan met Armoede", "t3.direct.1": "nieuwkomerskinderen"}
    for item_id, phrase in spots.items():
        assert phrase in card.by_id[item_id].full_text, item_id


# --- words ---------------------------------------------------------------------------------------------

def test_seed_words_occur_in_the_corpus(seed_text: str, card: Card) -> None:
    seed_words = words(seed_prose(seed_text))
    assert len(seed_words) > 3000, "the seed looks truncated"
    share, missing = coverage(seed_words, words(corpus_text(card)))
    assert share >= COVERAGE_MIN, (
        f"only {share:.2%} of the seed's words occur in the corpus; missing (word: times): "
        f"{dict(missing.most_common(40))}")


def test_coverage_check_notices_a_dropped_paragraph(seed_text: str, card: Card) -> None:
    """The 98% gate is not a formality: dropping one theme's intro from the corpus fails it."""
    seed_words = words(seed_prose(seed_text))
    full = corpus_text(card)
    dropped = full.replace(card.theme(3).intro[1].full_text, "").replace(card.theme(1).intro[1].full_text, "")
    assert dropped != full
    share, _ = coverage(seed_words, words(dropped))
    assert share < COVERAGE_MIN


def test_normalisation_joins_words_broken_over_lines() -> None:
    assert words("self-\nefficacy en ouders/\nverzorgers, (buiten)\nwereld") == \
        words("self-efficacy en ouders/verzorgers, (buiten)wereld")
    assert words("schoolbreed1 in het welbevinden²") == ["schoolbreed", "in", "het", "welbevinden"]


def test_corpus_adds_little_that_is_not_in_the_seed(seed_text: str, card: Card) -> None:
    """The other direction: card text words (not our headings/figure note) nearly all come from the seed."""
    item_words = words("\n".join(i.full_text for i in card.items))
    share, missing = coverage(item_words, words(seed_prose(seed_text)))
    assert share >= COVERAGE_MIN, dict(missing.most_common(40))


# --- structure -----------------------------------------------------------------------------------------

def test_five_themes_with_intro_questions_and_both_suggestion_kinds(card: Card) -> None:
    assert {t.number: t.title for t in card.themes} == THEME_TITLES
    for theme in card.themes:
        assert theme.intro and theme.vragen and theme.direct and theme.lang, theme.number
        assert (len(theme.intro), len(theme.vragen), len(theme.direct), len(theme.lang)) == THEME_SHAPE[theme.number]
        for item in theme.items:
            assert item.theme == theme.number and item.theme_title == theme.title
            assert item.text.strip()
        assert {i.kind for i in theme.intro} == {"intro"}
        assert {i.kind for i in theme.vragen} == {"vraag"}
        assert {i.kind for i in theme.direct} == {"suggestie_direct"}
        assert {i.kind for i in theme.lang} == {"suggestie_lang"}


def test_question_count_matches_the_seed(seed_text: str, card: Card) -> None:
    # In the extraction every 'vraag om jezelf te stellen' starts with a tab and the (lost) question glyph.
    seed_questions = [ln for ln in seed_text.splitlines() if re.match(r"^\t[\s\uf0a7]*[A-Z]", ln)]
    assert len(seed_questions) == sum(len(t.vragen) for t in card.themes) == 25


def test_general_parts_and_footnotes(card: Card) -> None:
    headings = [i.heading for i in card.general]
    for needle in ("Hoe kijken we", "Voor wie", "Wat je als school kunt doen", "Samenwerking is het toverwoord",
                   "schoolbreed", "welbevinden"):
        assert any(needle in h for h in headings), needle
    assert all(i.theme == 0 and i.kind == "algemeen" for i in card.general)
    bullets = card.by_id["alg.watjekuntdoen.1"]
    assert len(bullets.subitems) == 7
    assert "Met school-breed bedoelen we" in card.by_id["alg.voetnoot-schoolbreed.1"].text
    assert card.by_id["alg.voetnoot-welbevinden.1"].text.startswith("Met welbevinden bedoelen we")


def test_scrambled_pieces_sit_where_a_reader_finds_them(card: Card) -> None:
    """The extraction put these in the wrong column; the corpus must not."""
    assert "nieuwkomerskinderen" in card.by_id["t3.direct.1"].text
    assert "signaleren" in card.by_id["t3.direct.2"].full_text
    assert card.by_id["t3.vraag.1"].text.startswith("Hebben we voldoende zicht op de sociale kenmerken")
    assert card.by_id["t4.intro.1"].text.startswith("Iedere overgang naar een nieuwe school")
    assert not any("nieuwkomerskinderen" in i.full_text for i in card.theme(4).items)


def test_sub_lists_stay_with_their_question(card: Card) -> None:
    assert len(card.by_id["t2.vraag.5"].subitems) == 9
    assert card.by_id["t2.vraag.5"].subitems[-1].startswith("Vluchtelingenwerk")
    assert len(card.by_id["t3.vraag.2"].subitems) == 5
    assert len(card.by_id["t2.lang.3"].subitems) == 4
    assert card.by_id["t5.lang.1"].subitems == ("Veiligheid bieden", "Relaties stimuleren", "Emoties en gedrag hanteren")
    assert "- Veiligheid bieden" in card.by_id["t5.lang.1"].full_text


def test_item_ids_are_positional_and_unique(card: Card) -> None:
    ids = [i.id for i in card.items]
    assert len(ids) == len(set(ids)) == 82
    for theme in card.themes:
        for kind, items in (("intro", theme.intro), ("vraag", theme.vragen), ("direct", theme.direct),
                            ("lang", theme.lang)):
            assert [i.id for i in items] == [f"t{theme.number}.{kind}.{n}" for n in range(1, len(items) + 1)]
    assert set(KIND_LABELS) >= {i.kind for i in card.items}


def test_school_type_only_where_the_card_says_so(card: Card) -> None:
    tagged = {i.id: i.school_type for i in card.items if i.school_type != "beide"}
    assert tagged == {"t4.vraag.3": "vo", "t4.vraag.4": "vo", "t4.direct.1": "po", "t4.direct.2": "po",
                      "t4.direct.3": "vo", "t4.direct.4": "vo", "t4.direct.5": "vo"}


def test_broken_link_reference_is_refused(tmp_path: Path) -> None:
    import shutil

    from praktijkkaart.settings import CORPUS_DIR

    shutil.copytree(CORPUS_DIR, tmp_path / "c", ignore=shutil.ignore_patterns("*.py", "__pycache__", "resources"))
    path = tmp_path / "c" / "praktijkkaart.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("[kansenkaart]", "[kansenkaart-typo]"), encoding="utf-8")
    with pytest.raises(ValueError, match="kansenkaart-typo"):
        load_card(tmp_path / "c")


# --- synonyms ------------------------------------------------------------------------------------------

def test_synonyms_load_with_staff_language() -> None:
    syn = load_synonyms()
    for term in ("lln", "ib'er", "po", "vo", "groep 8", "brugklas", "isk", "vve", "middelbare school"):
        assert syn.expand.get(term), term
    assert "leerlingen" in syn.expand["lln"]
    assert any(v == "voortgezet onderwijs" for v in syn.expand["middelbare school"])
    assert "voortgezet onderwijs" in syn.expand["vo"]

    def grouped(a: str, b: str) -> bool:
        return any(a in g and b in g for g in syn.groups)

    assert grouped("ouders", "verzorgers")
    assert grouped("nieuwkomers", "vluchtelingen")
    assert all(k == k.lower() for k in syn.expand)
    assert all(w == w.lower() for g in syn.groups for w in g)
