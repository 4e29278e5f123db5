"""ChunkMeta: the typed metadata of an index record and its flat (Chroma) wire form.

The flat form is hashed into every chunk id, so these tests pin it: the legacy dicts below are what
ingest wrote before ChunkMeta existed (copied from its output), and the ids of chunks built from a fixed
item must not change (a changed id re-embeds the whole index at the next ingest)."""

from __future__ import annotations

import json

import pytest

from corpus.model import Item, Kind, Link
from corpus.staff_language import AskedAs, OffTopic
from ingest.chunk_meta import ChunkMeta, ChunkRole, LinkMeta
from ingest.chunking import asked_chunks, item_chunk, offtopic_chunks, resource_chunk

LEGACY = {
    "card": {"caption": False, "embed_hash": "fce526e00a5d5abd51b266c290ae67f2",
             "heading": "Concrete suggesties om direct mee aan de slag te gaan", "item_id": "t1.direct.1",
             "kind": "suggestie_direct",
             "links": json.dumps([{"url": "https://x.nl/f", "title": "Factoren", "school_type": "beide"}]),
             "related_theme": -1, "role": "passage", "school_type": "beide", "source": "praktijkkaart",
             "theme": 1, "theme_title": "Welbevinden en gelijke kansen"},
    "asked_link": {"embed_hash": "eb06b606d45b27e8e6fd3f7448950cbf", "heading": "",
                   "item_id": "vraagvorm:t1.direct.1:link:vj1", "kind": "vraagvorm", "link_url": "https://x.nl/f",
                   "links": "[]", "parent_item_id": "t1.direct.1", "parent_theme": 1, "related_theme": 1,
                   "role": "asked", "school_type": "beide", "source": "praktijkkaart", "theme": -1,
                   "theme_title": "Welbevinden en gelijke kansen"},
    "asked_item": {"embed_hash": "78c2a9118c71f0f1d1973d80b0c14c84", "heading": "", "item_id": "vraagvorm:alg.hoe.1:1",
                   "kind": "vraagvorm", "link_url": "", "links": "[]", "parent_item_id": "alg.hoe.1",
                   "parent_theme": 0, "related_theme": 0, "role": "asked", "school_type": "beide",
                   "source": "praktijkkaart", "theme": -1, "theme_title": "Algemeen"},
    "offtopic": {"embed_hash": "38919ac34cd116d87df21518fb85bf35", "heading": "personeel",
                 "item_id": "buiten_kaart:o001", "kind": "buiten_kaart", "links": "[]", "related_theme": -1,
                 "role": "offtopic", "school_type": "beide", "source": "offtopic", "theme": -1, "theme_title": ""},
    "resource": {"embed_hash": "f0fd12a1c2463a43a420758537e2cab1", "heading": "X — één", "item_id": "bron:x:0",
                 "kind": "bron", "links": json.dumps([{"url": "https://x.nl/a", "title": "X — één"}], ensure_ascii=False),
                 "parent_item_id": "t1.direct.1", "parent_theme": 1, "related_theme": 1, "role": "passage",
                 "school_type": "beide", "source": "https://x.nl/a", "source_title": "X — één", "theme": -1,
                 "theme_title": "Welbevinden en gelijke kansen"},
}


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_flat_metadata_round_trips_exactly(name: str) -> None:
    meta = ChunkMeta.from_flat(LEGACY[name])
    assert meta.to_flat() == LEGACY[name]
    assert ChunkMeta.from_flat(meta.to_flat()) == meta
    assert all(v is not None and not isinstance(v, (list, dict)) for v in meta.to_flat().values())
    assert all(type(v) in (str, int, bool) for v in meta.to_flat().values())  # no StrEnum leaks into Chroma


def test_sentinels_become_none_and_enums() -> None:
    res = ChunkMeta.from_flat(LEGACY["resource"])
    assert res.theme is None and res.role is ChunkRole.PASSAGE and res.kind is Kind.BRON and res.is_resource
    assert res.links == (LinkMeta("https://x.nl/a", "X — één"),) and res.parent_theme == 1
    asked = ChunkMeta.from_flat(LEGACY["asked_item"])
    assert asked.link_url is None and asked.theme is None and asked.related_theme == 0
    off = ChunkMeta.from_flat(LEGACY["offtopic"])
    assert off.related_theme is None and off.role is ChunkRole.OFFTOPIC and off.caption is None


def test_sparse_records_get_the_reader_defaults() -> None:
    meta = ChunkMeta.from_flat({"kind": "vraag", "theme": 2}, default_item_id="r1")
    assert (meta.role, meta.item_id, meta.theme, meta.links, meta.school_type) == (ChunkRole.PASSAGE, "r1", 2, (), "beide")


ITEM = Item(id="t3.direct.2", theme=3, theme_title="Thema drie", kind=Kind.SUGGESTIE_DIRECT, heading="Kop",
            text="Doe iets met ouders.", links=(Link("l1", "https://x.nl/l1", "Handreiking", "X", "po"),),
            caption=False)


def test_chunk_ids_are_unchanged() -> None:
    """Ids computed by the code before ChunkMeta (same items): same ids, so no re-embedding."""
    from corpus.model import Card, Theme

    card = Card(title="K", general=(), themes=(Theme(3, "Thema drie", (), (), (ITEM,), ()),), links=ITEM.links)
    assert item_chunk(ITEM).id == "t3.direct.2-dffc284cdbcc6824"
    asked = asked_chunks(card, (AskedAs("t3.direct.2", "Hoe met ouders?", 1),
                                AskedAs("t3.direct.2", "Wat is de handreiking?", 2, "https://x.nl/l1")))
    assert [c.id for c in asked] == ["vraagvorm-t3.direct.2-8f5547b5990c16dc", "vraagvorm-t3.direct.2-565cbbef44edeeb4"]
    assert offtopic_chunks((OffTopic("o9", "personeel", "Hoeveel verlof?"),))[0].id == "buiten_kaart-o9-0ae565bdfe4946f7"
    res = resource_chunk(link_id="l1", url="https://x.nl/l1", title="Handreiking", part=0, text="Tekst.", parent=ITEM)
    assert res.id == "bron-l1-0-06d3da6c6766a05b"
