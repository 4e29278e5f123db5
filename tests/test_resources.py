"""Resource chunks from snapshots, link cards for links without one, and our link notes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fixtures.resource_pages import notes_dir

from corpus.model import load_card
from ingest.resources import MAX_WORDS, MIN_WORDS, load_link_notes, resource_chunks, split_text
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import CORPUS_DIR, Settings


def _sentence(n: int, topic: str) -> str:
    return f"Zin {n} gaat over {topic} en bevat daarom een aantal gewone woorden voor de test."


def _paragraph(start: int, count: int, topic: str) -> str:
    return " ".join(_sentence(i, topic) for i in range(start, start + count))


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("praktijkkaart.yaml", "links.yaml", "synonyms.yaml", "link_notes.yaml"):
        (corpus / name).write_bytes((CORPUS_DIR / name).read_bytes())
    return Settings(corpus_dir=corpus, data_dir=tmp_path / "data")


def _store_snapshot(settings: Settings, link_id: str, text: str, url: str | None = None) -> None:
    link = next(lk for lk in load_card(settings.corpus_dir).links if lk.id == link_id)
    SnapshotStore(settings.resources_dir).save(
        link_id=link_id, url=url or link.url, final_url=url or link.url, status=200, content_type="text/html",
        kind="html", raw=text.encode(), text=text, extractor="test", etag=None, last_modified=None)


# --- splitting ------------------------------------------------------------------------------------

def test_split_keeps_sections_and_sizes() -> None:
    # Three sections of ~250, ~40 and ~600 words (the last one a single long paragraph).
    md = "\n\n".join([
        "# Titel", "## Veiligheid", _paragraph(0, 9, "veiligheid"), _paragraph(9, 8, "veiligheid"),
        "## Ouders", _paragraph(100, 3, "ouders"),
        "## Signaleren", _paragraph(200, 40, "signaleren"),
    ])
    chunks = split_text(md)
    sizes = [len(c.text.split()) for c in chunks]
    assert all(s <= MAX_WORDS for s in sizes), sizes
    assert all(s >= MIN_WORDS for s in sizes[:-1]), sizes
    assert chunks[0].heading == "Veiligheid"
    assert "veiligheid" in chunks[0].text and "ouders" not in chunks[0].text  # closed at the heading
    # The short 'Ouders' section runs on into 'Signaleren', whose heading stays visible in the text.
    assert chunks[1].heading == "Ouders" and "Signaleren\n\n" in chunks[1].text
    # Every chunk starts and ends on a sentence boundary; no sentence is lost or repeated.
    for c in chunks:
        body = c.text.split("\n\n")[-1]
        assert body.startswith("Zin ") and c.text.endswith("voor de test.")
    numbers = [int(n) for n in re.findall(r"Zin (\d+) ", " ".join(c.text for c in chunks))]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers)) == 9 + 8 + 3 + 40


def test_split_pdf_pages_and_lines() -> None:
    md = ("## Pagina 1\n\nEen regel die\ndoorloopt op de volgende regel.\n\n- punt een\n- punt twee\n\n"
          "## Pagina 2\n\nSlot.")
    chunks = split_text(md)
    assert len(chunks) == 1 and chunks[0].heading == "Pagina 1"
    assert chunks[0].text == ("Een regel die doorloopt op de volgende regel.\n\n- punt een\n\n- punt twee"
                              "\n\nPagina 2\n\nSlot.")


def test_split_cuts_a_sentence_only_when_it_alone_exceeds_the_maximum() -> None:
    chunks = split_text("woord " * (MAX_WORDS * 2 + 10))
    assert [len(c.text.split()) for c in chunks] == [MAX_WORDS, MAX_WORDS, 10]


def test_split_does_not_break_dutch_abbreviations() -> None:
    text = "Dit geldt o.a. voor de brugklas, bijv. bij de overgang. " * 60
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(c.text.endswith("bij de overgang.") for c in chunks)


# --- resource chunks ------------------------------------------------------------------------------

def test_without_snapshots_every_link_is_a_link_card(settings: Settings) -> None:
    card = load_card(settings.corpus_dir)
    chunks = resource_chunks(settings, card)
    assert len(chunks) == len(card.links) == 38
    notes = load_link_notes(settings.corpus_dir)
    by_link = {json.loads(c.metadata["links"])[0]["url"]: c for c in chunks}
    for link in card.links:
        c = by_link[link.url]
        parent = card.items_with_link(link.url)[0]
        assert c.metadata["kind"] == "bron" and c.metadata["item_id"] == f"bron:{link.id}:0"
        assert c.metadata["parent_item_id"] == parent.id and c.metadata["related_theme"] == parent.theme
        assert c.text.startswith(f"Over deze bron: {notes[link.id]}")
        assert link.title in c.text and parent.full_text in c.text
    assert len({c.id for c in chunks}) == 38


def test_snapshot_text_replaces_the_link_card(settings: Settings) -> None:
    text = "## Inleiding\n\n" + _paragraph(0, 12, "welbevinden") + "\n\n## Aanpak\n\n" + _paragraph(50, 12, "aanpak")
    _store_snapshot(settings, "pharos-infosheet-welbevinden", text)
    card = load_card(settings.corpus_dir)
    prefix = "bron:pharos-infosheet-welbevinden:"
    chunks = [c for c in resource_chunks(settings, card) if c.metadata["item_id"].startswith(prefix)]
    assert [c.metadata["item_id"] for c in chunks] == [prefix + "1", prefix + "2"]
    assert [c.metadata["heading"] for c in chunks] == ["Inleiding", "Aanpak"]
    assert chunks[0].metadata["source_title"] == "Pharos-infosheet Welbevinden op school"
    assert chunks[0].metadata["parent_item_id"] == "t1.direct.3"
    assert all("Over deze bron" not in c.text for c in chunks)
    # Same snapshot, same ids (re-ingest embeds nothing new).
    again = [c.id for c in resource_chunks(settings, card) if c.metadata["item_id"].startswith(prefix)]
    assert again == [c.id for c in chunks]


def test_snapshot_of_another_url_is_ignored(settings: Settings) -> None:
    _store_snapshot(settings, "kansenkaart", _paragraph(0, 20, "kansen"), url="https://example.org/oud-adres")
    card = load_card(settings.corpus_dir)
    [c] = [c for c in resource_chunks(settings, card) if c.metadata["item_id"].startswith("bron:kansenkaart:")]
    assert c.metadata["item_id"] == "bron:kansenkaart:0" and c.text.startswith("Over deze bron:")


# --- link notes -----------------------------------------------------------------------------------

def test_link_notes_cover_every_link_briefly() -> None:
    notes = load_link_notes(CORPUS_DIR)
    assert set(notes) == {lk.id for lk in load_card(CORPUS_DIR).links}
    for link_id, about in notes.items():
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", about) if s]
        assert 1 <= len(sentences) <= 3, link_id
        assert 10 <= len(about.split()) <= 70, link_id


def test_link_notes_are_in_our_own_words() -> None:
    """No run of 8 words is copied from the shared resource notes (names and titles from the card aside)."""
    def shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}

    card = load_card(CORPUS_DIR)
    source = set().union(*(shingles(p.read_text(encoding="utf-8")) for p in notes_dir().glob("*.txt")))
    for link_id, about in load_link_notes(CORPUS_DIR).items():
        link = next(lk for lk in card.links if lk.id == link_id)
        ours = shingles(link.title + " " + " ".join(i.full_text for i in card.items_with_link(link.url)))
        copied = (shingles(about) & source) - ours
        assert not copied, (link_id, sorted(copied)[:3])
