"""Turn the card (and resource snapshots, asked-as questions, the off-topic bank) into chunks with stable
ids and flat metadata."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

from corpus.model import KIND_LABELS, Card, Item, Kind
from corpus.staff_language import AskedAs, OffTopic
from ingest.chunk_meta import ChunkMeta, ChunkRole, LinkMeta

SOURCE_CARD = "praktijkkaart"
EmbedMode = Literal["query", "passage"]

# Kept as names for the callers that import them (the enums are the source of truth).
ROLE_PASSAGE, ROLE_ASKED, ROLE_OFFTOPIC = ChunkRole.PASSAGE, ChunkRole.ASKED, ChunkRole.OFFTOPIC
KIND_ASKED, KIND_OFFTOPIC = Kind.VRAAGVORM, Kind.BUITEN_KAART


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str  # what a reader sees (and what answers quote verbatim)
    embed_text: str  # what is embedded: the text with its context prepended
    meta: ChunkMeta
    embed_mode: EmbedMode = "passage"  # questions are embedded as E5 queries: question-to-question similarity

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The flat form stored in the index (Chroma metadata)."""
        return self.meta.to_flat()

    @property
    def embed_key(self) -> str:
        """Hash of what the embedding depends on (mode + text): the key of the embedding cache."""
        return embed_key(self.embed_mode, self.embed_text)


def embed_key(mode: str, text: str) -> str:
    return hashlib.sha256(f"{mode}\x1f{text}".encode()).hexdigest()[:32]


def stable_id(prefix: str, source: str, location: str, text: str) -> str:
    """Readable prefix + hash of source, location and text: same content at the same place, same id."""
    digest = hashlib.sha256(f"{source}\x1f{location}\x1f{text}".encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"


def _finish(prefix: str, source: str, location: str, text: str, embed_text: str, meta: ChunkMeta,
            mode: EmbedMode = "passage") -> Chunk:
    """The id covers everything stored (text, embedded text, metadata): any change is a new record."""
    meta = replace(meta, embed_hash=embed_key(mode, embed_text))
    flat = json.dumps(meta.to_flat(), sort_keys=True, ensure_ascii=False)
    payload = f"{embed_text}\x1f{text}\x1f{flat}"
    return Chunk(id=stable_id(prefix, source, location, payload), text=text, embed_text=embed_text,
                 meta=meta, embed_mode=mode)


def _context(item: Item) -> str:
    if item.theme == 0:
        return f"Praktijkkaart welbevinden en gelijke kansen — {item.heading}"
    return f"{item.theme_title} — {KIND_LABELS[item.kind]}"


def item_chunk(item: Item) -> Chunk:
    text = item.full_text
    embed_text = f"{_context(item)}: {text}"
    if item.links:  # the link titles say what a terse suggestion ("Handreiking VVE") is about
        embed_text += " (" + "; ".join(lk.title for lk in item.links) + ")"
    meta = ChunkMeta(
        role=ChunkRole.PASSAGE, item_id=item.id, kind=item.kind, theme=item.theme, theme_title=item.theme_title,
        heading=item.heading, school_type=item.school_type, source=SOURCE_CARD,
        links=tuple(LinkMeta(lk.url, lk.title, lk.school_type) for lk in item.links),
        related_theme=item.related_theme, caption=item.caption,
    )
    return _finish(item.id, SOURCE_CARD, item.id, text, embed_text, meta)


def card_chunks(card: Card) -> list[Chunk]:
    """One chunk per natural unit of the card: a paragraph, a question (with sub-list), a suggestion."""
    return [item_chunk(i) for i in card.items]


def asked_chunks(card: Card, asked: tuple[AskedAs, ...]) -> list[Chunk]:
    """One chunk per asked-as question, pointing to its card item (and, for a link's questions, its link)."""
    out: list[Chunk] = []
    links = card.link_by_url
    for a in asked:
        item = card.by_id[a.item_id]
        link = links.get(a.link_url) if a.link_url else None
        meta = ChunkMeta(
            role=ChunkRole.ASKED, item_id=f"{KIND_ASKED}:{a.item_id}:{'link:' + link.id if link else ''}{a.n}",
            kind=Kind.VRAAGVORM, theme_title=item.theme_title,
            school_type=link.school_type if link else item.school_type, source=SOURCE_CARD,
            parent_item_id=item.id, parent_theme=item.theme, link_url=a.link_url or None, related_theme=item.theme,
        )
        out.append(_finish(f"{KIND_ASKED}-{a.item_id}", SOURCE_CARD, meta.item_id, a.question, a.question,
                           meta, mode="query"))
    return out


def offtopic_chunks(bank: tuple[OffTopic, ...]) -> list[Chunk]:
    out: list[Chunk] = []
    for q in bank:
        meta = ChunkMeta(role=ChunkRole.OFFTOPIC, item_id=f"{KIND_OFFTOPIC}:{q.id}", kind=Kind.BUITEN_KAART,
                         heading=q.topic, source="offtopic")
        out.append(_finish(f"{KIND_OFFTOPIC}-{q.id}", "offtopic", q.id, q.question, q.question, meta, mode="query"))
    return out


def resource_chunk(*, link_id: str, url: str, title: str, part: int, text: str, parent: Item,
                   heading: str = "", embed_text: str | None = None) -> Chunk:
    """A chunk of a linked resource (or its link card): carries its parent link, suggestion and theme.

    `embed_text` overrides what is embedded (a link card embeds only title + description: the card
    context it also shows is already embedded with the card's own chunk).
    """
    embed_text = embed_text or f"{title} — {heading + ': ' if heading else ''}{text}"
    meta = ChunkMeta(
        role=ChunkRole.PASSAGE, item_id=f"bron:{link_id}:{part}", kind=Kind.BRON,
        theme_title=parent.theme_title, heading=heading or title, school_type=parent.school_type, source=url,
        source_title=title, parent_item_id=parent.id, parent_theme=parent.theme,
        links=(LinkMeta(url, title),), related_theme=parent.theme,
    )
    return _finish(f"bron-{link_id}-{part}", url, str(part), text, embed_text, meta)
