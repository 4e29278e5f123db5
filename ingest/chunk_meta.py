"""The metadata of one index record, typed: what ingest writes and what the answer path reads back.

Chroma metadata holds flat scalars only (no None, no lists), so `to_flat()` writes the wire form the index
has always had: a missing theme is -1, links are a JSON string, optional keys are left out. `from_flat()` is
its inverse and tolerates records that lack keys (older or hand-made records get the same defaults the
reader always used). The flat form is hashed into the chunk id, so it must not change shape: a changed key
would re-embed every record at the next ingest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from corpus.model import Kind

NO_THEME = -1  # Chroma metadata cannot be None
# to_flat writes str(enum): a plain str, never the StrEnum itself, whatever the caller passed in.


class ChunkRole(StrEnum):
    """What a record is for. Passages (card + linked resources) are what answers quote; asked-as questions
    point to a card item and are never shown; off-topic questions only inform the scope decision."""

    PASSAGE = "passage"
    ASKED = "asked"
    OFFTOPIC = "offtopic"


@dataclass(frozen=True)
class LinkMeta:
    """A link a record carries (card items: with its school type; linked resources: without)."""

    url: str
    title: str
    school_type: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"url": self.url, "title": self.title}  # key order is part of the hashed flat form
        if self.school_type is not None:
            out["school_type"] = self.school_type
        return out


@dataclass(frozen=True)
class ChunkMeta:
    role: ChunkRole
    item_id: str
    kind: Kind
    theme: int | None = None  # 0 general part, 1-5 themes; None for resources and retrieval-only records
    theme_title: str = ""
    heading: str = ""
    school_type: str = "beide"
    source: str = ""  # 'praktijkkaart', 'offtopic' or the URL of a linked resource
    links: tuple[LinkMeta, ...] = ()
    related_theme: int | None = None
    # Written only for the records that have them (None: the key is absent from the flat form).
    caption: bool | None = None  # card items: a figure caption
    source_title: str | None = None  # linked resources
    parent_item_id: str | None = None  # linked resources and asked-as questions: the card item behind them
    parent_theme: int | None = None
    link_url: str | None = None  # asked-as questions: the link the question asks for (None: the item itself)
    embed_hash: str | None = None  # the embedding-cache key, added when the chunk is finished

    @property
    def is_resource(self) -> bool:
        return self.kind == Kind.BRON

    def to_flat(self) -> dict[str, Any]:
        """Chroma metadata: flat scalars, -1 for no theme, links as a JSON string."""
        flat: dict[str, Any] = {
            "role": str(self.role), "item_id": self.item_id,
            "theme": NO_THEME if self.theme is None else self.theme,
            "theme_title": self.theme_title, "kind": str(self.kind), "heading": self.heading,
            "school_type": self.school_type, "source": self.source,
            "links": json.dumps([lk.to_json() for lk in self.links], ensure_ascii=False),
            "related_theme": NO_THEME if self.related_theme is None else self.related_theme,
        }
        optional = {"caption": self.caption, "source_title": self.source_title,
                    "parent_item_id": self.parent_item_id, "parent_theme": self.parent_theme,
                    "embed_hash": self.embed_hash}
        flat.update({k: v for k, v in optional.items() if v is not None})
        if self.role == ChunkRole.ASKED:  # always written for asked-as questions ("" = the item itself)
            flat["link_url"] = self.link_url or ""
        return flat

    @classmethod
    def from_flat(cls, m: Mapping[str, Any], default_item_id: str = "") -> ChunkMeta:
        """The inverse of to_flat (missing keys get the defaults the reader has always used)."""
        role = ChunkRole(str(m.get("role", ChunkRole.PASSAGE)))
        links = tuple(LinkMeta(str(lk["url"]), str(lk["title"]),
                               None if lk.get("school_type") is None else str(lk["school_type"]))
                      for lk in json.loads(m.get("links", "[]")))
        return cls(
            role=role, item_id=str(m.get("item_id", default_item_id)), kind=Kind(str(m.get("kind", ""))),
            theme=_theme(m.get("theme")), theme_title=str(m.get("theme_title", "")),
            heading=str(m.get("heading", "")), school_type=str(m.get("school_type", "beide")),
            source=str(m.get("source", "")), links=links, related_theme=_theme(m.get("related_theme")),
            caption=None if m.get("caption") is None else bool(m["caption"]),
            source_title=None if m.get("source_title") is None else str(m["source_title"]),
            parent_item_id=None if m.get("parent_item_id") is None else str(m["parent_item_id"]),
            parent_theme=None if m.get("parent_theme") is None else int(m["parent_theme"]),
            link_url=str(m.get("link_url") or "") or None,
            embed_hash=None if m.get("embed_hash") is None else str(m["embed_hash"]),
        )


def _theme(value: object) -> int | None:
    if value is None:
        return None
    theme = int(value)  # type: ignore[call-overload]
    return None if theme < 0 else theme
