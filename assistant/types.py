"""Data passed between retrieval, generation, the CLI and the UI (the JSON contract lives here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from assistant.diagnostics import Diagnostics
from corpus.model import KIND_LABELS, Kind

SchoolFilter = Literal["po", "vo"]


class AnswerStatus(StrEnum):
    """Why an answer is what it is (a StrEnum: compares equal to its JSON string)."""

    OK = "ok"
    NOT_COVERED = "not_covered"  # outside the card; related parts are named
    DECLINED = "declined"  # outside the card, nothing related
    INVALID_INPUT = "invalid_input"
    PERSONAL_DATA = "personal_data"
    LLM_FALLBACK = "llm_fallback"
    STORE_ERROR = "store_error"


class Role(StrEnum):
    """Who spoke an earlier turn (a StrEnum: equal to the 'role' string of the JSON history)."""

    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation. `content` keeps the name of the JSON form ({"role", "content"})."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        # Turn("user", ...) from older callers is read as the enum; an unknown role is refused here.
        object.__setattr__(self, "role", Role(self.role))

    def to_json(self) -> dict[str, str]:
        return {"role": str(self.role), "content": self.content}

    @classmethod
    def coerce(cls, turns: Iterable[Turn | Mapping[str, Any]] | None) -> list[Turn]:
        """Typed turns from Turn objects or {"role", "content"} dicts (the JSON of `--history`, the UI's
        messages). The edges (CLI, UI, evals, `answer()`) call this once; malformed entries are dropped."""
        out: list[Turn] = []
        for t in turns or ():
            if isinstance(t, Turn):
                out.append(t)
            elif isinstance(t, Mapping) and t.get("role") in tuple(Role) and isinstance(t.get("content"), str):
                out.append(cls(Role(t["role"]), t["content"]))
        return out


# What the outer edges accept: typed turns or the old {"role", "content"} dicts.
HistoryInput = Sequence[Turn | Mapping[str, Any]]


@dataclass(frozen=True)
class LinkRef:
    url: str
    title: str
    dead: bool = False  # the link failed at its last check (see `praktijkkaart links`)
    school_type: str = "beide"  # po / vo when the resource is for one school type only


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
    kind: Kind
    heading: str
    text: str
    score: float
    links: tuple[LinkRef, ...] = ()
    school_type: str = "beide"
    source_url: str | None = None  # for resource chunks: the linked resource the text comes from
    source_title: str | None = None
    parent_item_id: str | None = None  # for resource chunks: the card item that carries the link
    parent_theme: int | None = None  # for resource chunks: the theme of that card item
    caption: bool = False  # a figure caption: never an answer's opening line

    @property
    def location(self) -> str:
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
    folded: bool = False  # cited only in the folded part (`Answer.more`), not in the short answer

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "url": self.url, "title": self.title, "passage_id": self.passage_id,
                "folded": self.folded}


@dataclass
class Answer:
    question: str
    answer: str  # Markdown, Dutch: the short answer (the card items that fit, team questions, sources)
    in_scope: bool
    generator: Literal["extractive", "llm"]
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    themes: list[int] = field(default_factory=list)
    status: AnswerStatus = AnswerStatus.OK
    notice: str | None = None  # a Dutch note for the user (e.g. why the LLM answer was replaced)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)  # index version, scope, scores, timings, LLM
    more: str = ""  # Markdown, Dutch: the rest of the answer's theme(s), shown folded ("Meer uit thema N")
    followup_of: str | None = None  # read as a follow-up on this earlier question
    warnings: list[str] = field(default_factory=list)  # Dutch, for the operator: e.g. the question log could not be written

    def to_json(self) -> dict[str, Any]:
        """The CLI / API contract (`praktijkkaart ask --json`)."""
        return {
            "question": self.question, "answer": self.answer, "in_scope": self.in_scope,
            "generator": self.generator,
            "citations": [c.to_json() for c in self.citations],
            "passages": [p.to_json() for p in self.passages],
            "status": str(self.status), "notice": self.notice, "themes": self.themes,
            "more": self.more, "followup_of": self.followup_of, "warnings": self.warnings, "meta": self.meta,
        }

    @property
    def meta(self) -> dict[str, Any]:
        """The diagnostics as the `meta` dict of the JSON contract (`ask --json`). Kept for JSON readers and
        for tests on other branches that read `answer.meta[...]`; code reads `diagnostics` instead."""
        return self.diagnostics.to_json()

    @property
    def cited_passages(self) -> list[Passage]:
        """Passages behind the citations, in citation order ([1] first), as the answer's reader meets them."""
        first_n: dict[str, int] = {}
        for c in self.citations:
            first_n.setdefault(c.passage_id, c.n)
        return sorted((p for p in self.passages if p.id in first_n), key=lambda p: first_n[p.id])


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)
