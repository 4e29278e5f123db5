"""The staff-language index (corpus/asked_as.yaml), the off-topic bank and their chunks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from corpus.model import load_card
from corpus.staff_language import MAX_ASKED, MIN_ASKED, load_asked_as, load_offtopic, stale_asked_as
from ingest.chunking import KIND_ASKED, ROLE_ASKED, ROLE_OFFTOPIC, asked_chunks, offtopic_chunks
from praktijkkaart.settings import CORPUS_DIR

URL = re.compile(r"https?://|www\.|\.(nl|com|org)\b", re.IGNORECASE)


def test_every_card_item_and_every_link_has_6_to_10_questions() -> None:
    card = load_card()
    raw = yaml.safe_load((CORPUS_DIR / "asked_as.yaml").read_text(encoding="utf-8"))
    assert set(raw["items"]) == {i.id for i in card.items}
    assert set(raw["links"]) == {lk.id for lk in card.links}
    for section in ("items", "links"):
        for key, qs in raw[section].items():
            assert MIN_ASKED <= len(qs) <= MAX_ASKED, key
            assert not any(URL.search(q) for q in qs), key


def test_asked_as_questions_point_to_their_item_and_link() -> None:
    card = load_card()
    asked = load_asked_as(card, CORPUS_DIR)
    assert len(asked) >= 6 * (len(card.items) + len(card.links))
    by_link = [a for a in asked if a.link_url]
    assert {a.link_url for a in by_link} == {lk.url for lk in card.links}
    for a in by_link:  # a link's questions point to the card item that carries it
        assert a.link_url in {lk.url for lk in card.by_id[a.item_id].links}
    assert len({a.question.casefold() for a in asked}) == len(asked)


def test_entries_for_items_the_card_no_longer_has_are_left_out_and_named(tmp_path: Path) -> None:
    (tmp_path / "asked_as.yaml").write_text(yaml.safe_dump({
        "items": {"t9.vraag.1": [f"vraag {n}" for n in range(6)], "t1.vraag.1": [f"v {n}" for n in range(6)]},
        "links": {"geen-link": [f"l {n}" for n in range(6)]}}), encoding="utf-8")
    card = load_card()
    assert {a.item_id for a in load_asked_as(card, tmp_path)} == {"t1.vraag.1"}
    assert stale_asked_as(card, tmp_path) == ["items.t9.vraag.1", "links.geen-link"]
    assert stale_asked_as(card, CORPUS_DIR) == []  # the shipped file matches the card


@pytest.mark.parametrize("bad, message", [
    ({"items": {"t1.vraag.1": ["een", "twee"]}}, "2 questions"),
    ({"items": {"t1.vraag.1": ["zelfde"] * 6}}, "duplicate question"),
])
def test_invalid_asked_as_is_refused_with_the_reason(tmp_path: Path, bad: dict, message: str) -> None:
    (tmp_path / "asked_as.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_asked_as(load_card(), tmp_path)


def test_offtopic_bank_is_large_and_covers_the_near_domain_topics() -> None:
    bank = load_offtopic(CORPUS_DIR)
    assert len(bank) >= 300
    topics = {q.topic for q in bank}
    assert {"personeel", "rooster", "vakdidactiek", "medisch", "wetgeving", "financien", "ict", "inspectie",
            "excursies", "chitchat", "instructie"} <= topics
    assert not any(URL.search(q.question) for q in bank)


def test_asked_and_offtopic_chunks_are_questions_that_are_never_passages() -> None:
    card = load_card()
    asked = asked_chunks(card, load_asked_as(card, CORPUS_DIR))
    off = offtopic_chunks(load_offtopic(CORPUS_DIR))
    assert {c.metadata["role"] for c in asked} == {ROLE_ASKED}
    assert {c.metadata["role"] for c in off} == {ROLE_OFFTOPIC}
    assert {c.embed_mode for c in asked + off} == {"query"}  # question-to-question similarity
    assert all(c.metadata["kind"] == KIND_ASKED and c.metadata["parent_item_id"] in card.by_id for c in asked)
    # Stable ids: the same data gives the same ids, and no two chunks share one.
    again = asked_chunks(card, load_asked_as(card, CORPUS_DIR))
    assert [c.id for c in asked] == [c.id for c in again]
    assert len({c.id for c in asked + off}) == len(asked) + len(off)
