"""Data passed between retrieval, generation, the CLI and the UI (the JSON contract lives here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SchoolFilter = Literal["po", "vo"]


@dataclass(frozen=True)
class LinkRef:
    url: str
    title: str
    dead: bool = False  # the link failed at its last check (see `praktijkkaart links`)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval. school_type 'po' keeps po + beide chunks; themes/kinds keep only those."""

    school_type: SchoolFilter | None = None
    themes: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.school_type is None and not self.themes and not self.kinds


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk with its score and everything needed to cite and show it."""

    id: str  # stable chunk id
    item_id: str  # card item id such as 't4.direct.2' (for resource chunks: 'bron:<link id>:<n>')
    theme: int | None  # 0 general part, 1-5 themes, None for linked-resource chunks
    theme_title: str
    kind: str  # algemeen | intro | vraag | suggestie_direct | suggestie_lang | bron
    heading: str
    text: str
    score: float
    links: tuple[LinkRef, ...] = ()
    school_type: str = "beide"
    source_url: str | None = None  # for resource chunks: the linked resource the text comes from
    source_title: str | None = None
    parent_item_id: str | None = None  # for resource chunks: the card item that carries the link
    parent_theme: int | None = None  # for resource chunks: the theme of that card item

    @property
    def location(self) -> str:
        from corpus.model import KIND_LABELS

        if self.theme is None:
            return f"Bron · {self.source_title or self.source_url}"
        if self.theme == 0:
            return f"Algemeen · {self.heading}"
        return f"Thema {self.theme} · {self.theme_title} · {KIND_LABELS.get(self.kind, self.kind)}"

    @property
    def effective_theme(self) -> int | None:
        return self.theme if self.theme is not None else self.parent_theme

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "theme": self.theme, "kind": self.kind, "text": self.text,
            "score": round(float(self.score), 6),
            "links": [{"url": lk.url, "title": lk.title} for lk in self.links],
            "item_id": self.item_id, "location": self.location,
        }


@dataclass(frozen=True)
class Citation:
    n: int
    url: str
    title: str
    passage_id: str
    dead: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "url": self.url, "title": self.title, "passage_id": self.passage_id}


@dataclass
class Answer:
    question: str
    answer: str  # Markdown, Dutch
    in_scope: bool
    generator: Literal["extractive", "llm"]
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    themes: list[int] = field(default_factory=list)
    # Why the answer is what it is: 'ok', 'declined', 'invalid_input', 'llm_fallback', 'store_error'.
    status: str = "ok"
    notice: str | None = None  # a Dutch note for the user (e.g. why the LLM answer was replaced)
    meta: dict[str, Any] = field(default_factory=dict)  # timings, index version, scores

    def to_json(self) -> dict[str, Any]:
        """The CLI / API contract (`praktijkkaart ask --json`)."""
        return {
            "question": self.question, "answer": self.answer, "in_scope": self.in_scope,
            "generator": self.generator,
            "citations": [c.to_json() for c in self.citations],
            "passages": [p.to_json() for p in self.passages],
            "status": self.status, "notice": self.notice, "themes": self.themes,
            "meta": self.meta,
        }

    @property
    def cited_passages(self) -> list[Passage]:
        """Passages behind the citations, in citation order ([1] first), as the answer's reader meets them."""
        first_n: dict[str, int] = {}
        for c in self.citations:
            first_n.setdefault(c.passage_id, c.n)
        return sorted((p for p in self.passages if p.id in first_n), key=lambda p: first_n[p.id])


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)
