"""Turn the card (and resource snapshots) into chunks with stable ids and flat metadata."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from corpus.model import KIND_LABELS, Card, Item

SOURCE_CARD = "praktijkkaart"


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str  # what a reader sees (and what answers quote verbatim)
    embed_text: str  # what is embedded: the text with its context prepended
    metadata: dict[str, Any]  # flat scalars only (Chroma metadata); lists are JSON strings


def stable_id(prefix: str, source: str, location: str, text: str) -> str:
    """Readable prefix + hash of source, location and text: same content at the same place, same id."""
    digest = hashlib.sha256(f"{source}\x1f{location}\x1f{text}".encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"


def _context(item: Item) -> str:
    if item.theme == 0:
        return f"Praktijkkaart welbevinden en gelijke kansen — {item.heading}"
    return f"{item.theme_title} — {KIND_LABELS[item.kind]}"


def item_chunk(item: Item) -> Chunk:
    text = item.full_text
    embed_text = f"{_context(item)}: {text}"
    if item.links:  # the link titles say what a terse suggestion ("Handreiking VVE") is about
        embed_text += " (" + "; ".join(lk.title for lk in item.links) + ")"
    links = [{"url": lk.url, "title": lk.title} for lk in item.links]
    meta: dict[str, Any] = {
        "item_id": item.id,
        "theme": item.theme,
        "theme_title": item.theme_title,
        "kind": item.kind,
        "heading": item.heading,
        "school_type": item.school_type,
        "source": SOURCE_CARD,
        "links": json.dumps(links, ensure_ascii=False),
        "related_theme": item.related_theme if item.related_theme is not None else -1,
    }
    return Chunk(id=stable_id(item.id, SOURCE_CARD, item.id, embed_text), text=text, embed_text=embed_text, metadata=meta)


def card_chunks(card: Card) -> list[Chunk]:
    """One chunk per natural unit of the card: a paragraph, a question (with sub-list), a suggestion."""
    return [item_chunk(i) for i in card.items]


def resource_chunk(*, link_id: str, url: str, title: str, part: int, text: str, parent: Item,
                   heading: str = "", embed_text: str | None = None) -> Chunk:
    """A chunk of a linked resource (or its link card): carries its parent link, suggestion and theme.

    `embed_text` overrides what is embedded (a link card embeds only title + description: the card
    context it also shows is already embedded with the card's own chunk).
    """
    embed_text = embed_text or f"{title} — {heading + ': ' if heading else ''}{text}"
    meta: dict[str, Any] = {
        "item_id": f"bron:{link_id}:{part}",
        "theme": -1,  # Chroma metadata cannot be None; -1 means 'not card text'
        "theme_title": parent.theme_title,
        "kind": "bron",
        "heading": heading or title,
        "school_type": parent.school_type,
        "source": url,
        "source_title": title,
        "parent_item_id": parent.id,
        "parent_theme": parent.theme,
        "links": json.dumps([{"url": url, "title": title}], ensure_ascii=False),
        "related_theme": parent.theme,
    }
    return Chunk(id=stable_id(f"bron-{link_id}-{part}", url, str(part), f"{embed_text}\x1f{text}"), text=text,
                 embed_text=embed_text, metadata=meta)
