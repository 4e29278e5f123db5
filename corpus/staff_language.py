"""Retrieval data beside the card: how staff ask for each item, and what they ask that the card does not cover.

- ``asked_as.yaml``: per card item and per link, 6-10 questions in staff language (everyday words,
  informal/abbreviated, role-specific, English). Each becomes its own search vector pointing to its item
  (the "hypothetical questions" form of a multi-vector retriever). They are never shown or quoted.
- ``offtopic.yaml``: near-domain school questions the card does not answer (personeelszaken, roosters,
  vakdidactiek, ...), the negative side of the scope decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from corpus.model import Card

ASKED_AS_FILE = "asked_as.yaml"
OFFTOPIC_FILE = "offtopic.yaml"
MIN_ASKED, MAX_ASKED = 6, 10


@dataclass(frozen=True)
class AskedAs:
    """One staff-language question and the card item it asks for (for a link: the item carrying it)."""

    item_id: str
    question: str
    n: int  # position within its entry, 1-based (part of the stable id)
    link_url: str | None = None  # set when the question asks for one linked resource of the item


@dataclass(frozen=True)
class OffTopic:
    id: str
    topic: str
    question: str


def load_asked_as(card: Card, corpus_dir: Path) -> tuple[AskedAs, ...]:
    """All asked-as questions; raises ValueError on counts outside 6-10 or duplicates. Entries for items or
    links the card no longer has are left out (`stale_asked_as` names them; a test keeps the shipped file
    clean), so removing a card item never blocks an ingest."""
    path = corpus_dir / ASKED_AS_FILE
    if not path.exists():
        return ()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    links = {lk.id: lk for lk in card.links}
    out: list[AskedAs] = []
    errors: list[str] = []
    seen: set[str] = set()
    entries: list[tuple[str, str | None, list[str]]] = []
    for item_id, qs in (raw.get("items") or {}).items():
        if item_id in card.by_id:
            entries.append((str(item_id), None, list(qs or [])))
    for link_id, qs in (raw.get("links") or {}).items():
        link = links.get(str(link_id))
        carriers = card.items_with_link(link.url) if link else []
        if carriers and link is not None:
            entries.append((carriers[0].id, link.url, list(qs or [])))
    for item_id, url, qs in entries:
        where = f"{item_id}{' (' + url + ')' if url else ''}"
        if not MIN_ASKED <= len(qs) <= MAX_ASKED:
            errors.append(f"{where}: {len(qs)} questions (want {MIN_ASKED}-{MAX_ASKED})")
        for n, q in enumerate(qs, start=1):
            text = " ".join(str(q).split())
            key = text.casefold()
            if key in seen:
                errors.append(f"{where}: duplicate question {text!r}")
            seen.add(key)
            out.append(AskedAs(item_id=item_id, question=text, n=n, link_url=url))
    if errors:
        raise ValueError("invalid asked_as.yaml:\n" + "\n".join(errors))
    return tuple(out)


def stale_asked_as(card: Card, corpus_dir: Path) -> list[str]:
    """Entries of asked_as.yaml for items or links the card does not have (left out by `load_asked_as`)."""
    path = corpus_dir / ASKED_AS_FILE
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    link_ids = {lk.id for lk in card.links}
    return ([f"items.{k}" for k in (raw or {}).get("items") or {} if k not in card.by_id]
            + [f"links.{k}" for k in (raw or {}).get("links") or {} if k not in link_ids])


def load_offtopic(corpus_dir: Path) -> tuple[OffTopic, ...]:
    """The off-topic bank; raises ValueError on duplicate ids or questions."""
    path = corpus_dir / OFFTOPIC_FILE
    if not path.exists():
        return ()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[OffTopic] = []
    ids: set[str] = set()
    texts: set[str] = set()
    for e in raw.get("questions") or []:
        q = OffTopic(id=str(e["id"]), topic=str(e["topic"]), question=" ".join(str(e["question"]).split()))
        if q.id in ids or q.question.casefold() in texts:
            raise ValueError(f"invalid offtopic.yaml: duplicate {q.id} / {q.question!r}")
        ids.add(q.id)
        texts.add(q.question.casefold())
        out.append(q)
    return tuple(out)
