"""Chunks for the linked resources: snapshot text where we have it, a "link card" where we do not.

Offline by design: reads corpus/resources/ and corpus/link_notes.yaml only, never the network.

Snapshot text comes from outside the card, so it is data: it is made plain (no links, HTML, URLs or e-mail
addresses; corpus.safe_text.plain_text) and every sentence or heading that instructs the reader's assistant
or carries a planted code is dropped before it is chunked, embedded or shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from corpus.model import Card, Link
from corpus.safe_text import has_canary, is_instruction, plain_text
from ingest.chunking import Chunk, resource_chunk
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import Settings

MIN_WORDS = 150
MAX_WORDS = 400
LINK_NOTES = "link_notes.yaml"

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before whitespace and
# a capital, digit or opening quote: "bijv. een" and "o.a. de" stay whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[A-Z0-9À-Ý\"'“‘(\[-])")


@dataclass(frozen=True)
class TextChunk:
    heading: str  # heading of the section the chunk starts in ('' before the first heading)
    text: str


def load_link_notes(corpus_dir: Path) -> dict[str, str]:
    """link id -> our own short Dutch 'over deze bron' text (empty dict when the file is missing)."""
    path = corpus_dir / LINK_NOTES
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): " ".join(str(v.get("about", "")).split()) for k, v in (raw.get("notes") or {}).items()}


def resource_chunks(settings: Settings, card: Card) -> list[Chunk]:
    """Chunks for all links of the card: snapshot text chunks, or one link card per link without text."""
    store = SnapshotStore(settings.resources_dir)
    notes = load_link_notes(settings.corpus_dir)
    out: list[Chunk] = []
    for link in card.links:
        parents = card.items_with_link(link.url)
        if not parents:
            continue
        parent = parents[0]
        manifest = store.manifest(link.id)
        text = store.text(link.id) if manifest is not None and manifest.url == link.url else None
        text = plain_text(text) if text else None
        pieces = split_text(text) if text else []
        if pieces:
            out.extend(
                resource_chunk(link_id=link.id, url=link.url, title=link.title, part=n, text=p.text, parent=parent,
                               heading=p.heading)
                for n, p in enumerate(pieces, start=1)
            )
        else:
            out.append(resource_chunk(link_id=link.id, url=link.url, title=link.title, part=0,
                                      text=link_card_text(link, notes.get(link.id, ""), parent.location,
                                                          parent.full_text),
                                      parent=parent, heading="Over deze bron",
                                      embed_text=f"{link.title}. {notes.get(link.id, '')}".strip()))
    return out


def link_card_text(link: Link, about: str, location: str, context: str) -> str:
    lines = []
    if about:
        lines.append(f"Over deze bron: {about}")
    lines.append(f"Bron: {link.title} ({link.publisher}).")
    lines.append(f"In de praktijkkaart ({location}): {context}")
    return "\n\n".join(lines)


# --- splitting ------------------------------------------------------------------------------------

def _words(text: str) -> int:
    return len(text.split())


def _sections(markdown: str) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) in document order; lines of one paragraph are joined, list items kept apart."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    para: list[str] = []

    def flush() -> None:
        if para:
            sections[-1][1].append(" ".join(para))
            para.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        heading = _HEADING.match(stripped)
        if heading:
            flush()
            title = heading.group(2).strip()
            sections.append(("" if _hostile(title) else title, []))
        elif not stripped:
            flush()
        elif stripped.startswith(("- ", "* ", "+ ")) or re.match(r"^\d+[.)]\s", stripped):
            flush()
            para.append(stripped)
            flush()
        else:
            para.append(stripped)
    flush()
    return [(h, ps) for h, ps in sections if ps]


def _hostile(sentence: str) -> bool:
    """A sentence that talks to the assistant or carries a planted code: never indexed."""
    return is_instruction(sentence) or has_canary(sentence)


def _sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip() and not _hostile(s)]


def _sentence_pieces(paragraph: str) -> list[str]:
    """The paragraph's sentences; a sentence longer than MAX_WORDS (no boundary to respect) is cut by words."""
    out: list[str] = []
    for sentence in _sentences(paragraph):
        words = sentence.split()
        out += [" ".join(words[i:i + MAX_WORDS]) for i in range(0, len(words), MAX_WORDS)]
    return out


def split_text(markdown: str) -> list[TextChunk]:
    """Split snapshot text into chunks of about MIN_WORDS..MAX_WORDS words, at sentence boundaries.

    A chunk prefers to end at a section heading (once it has MIN_WORDS), else at a paragraph end, else
    at a sentence end. A short section runs on into the next one, whose heading then stays visible as
    a line in the text. The chunk's heading is that of the section it starts in.
    """
    chunks: list[TextChunk] = []
    heading = ""
    parts: list[str] = []  # paragraphs (or paragraph parts) of the chunk being built
    size = 0

    def close() -> None:
        nonlocal parts, size
        if parts:
            chunks.append(TextChunk(heading=heading, text="\n\n".join(parts)))
        parts, size = [], 0

    for section_heading, paragraphs in _sections(markdown):
        if size >= MIN_WORDS:
            close()
        section_started = False
        for paragraph in paragraphs:
            if size >= MIN_WORDS and size + _words(paragraph) > MAX_WORDS:
                close()
            paragraph_started = False
            for sentence in _sentence_pieces(paragraph):
                label = section_heading if parts and not section_started and section_heading else ""
                if parts and size + _words(label) + _words(sentence) > MAX_WORDS:
                    close()
                    label, paragraph_started = "", False
                if not parts:
                    heading = section_heading
                if paragraph_started:
                    parts[-1] += " " + sentence
                else:
                    parts.append(f"{label}\n\n{sentence}" if label else sentence)
                size += _words(label) + _words(sentence)
                section_started = paragraph_started = True
    close()
    return chunks
