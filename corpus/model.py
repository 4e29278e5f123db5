"""Typed model of the praktijkkaart and its loader.

Item ids are derived from position (see praktijkkaart.yaml) so that golden questions and
tests can refer to passages by a readable, stable name such as ``t4.direct.2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml


class Kind(StrEnum):
    """What a chunk of the index is (a StrEnum: equal to, and stored as, its string)."""

    ALGEMEEN = "algemeen"  # the card's general part (theme 0)
    INTRO = "intro"
    VRAAG = "vraag"
    SUGGESTIE_DIRECT = "suggestie_direct"
    SUGGESTIE_LANG = "suggestie_lang"
    BRON = "bron"  # a chunk of a linked resource
    VRAAGVORM = "vraagvorm"  # an asked-as question (retrieval only, never shown)
    BUITEN_KAART = "buiten_kaart"  # a question of the off-topic bank (scope decision only)


SchoolType = Literal["po", "vo", "beide"]

KIND_LABELS: dict[str, str] = {
    Kind.ALGEMEEN: "Algemeen",
    Kind.INTRO: "Inleiding",
    Kind.VRAAG: "Vragen om jezelf te stellen",
    Kind.SUGGESTIE_DIRECT: "Direct aan de slag",
    Kind.SUGGESTIE_LANG: "Op langere termijn",
    Kind.BRON: "Gelinkte bron",
}

_DEFAULT_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Link:
    id: str
    url: str
    title: str
    publisher: str
    school_type: SchoolType = "beide"

    @property
    def domain(self) -> str:
        host = self.url.split("://", 1)[-1].split("/", 1)[0]
        return host.removeprefix("www.")


@dataclass(frozen=True)
class Item:
    """One natural unit of the card: a paragraph, a question or a suggestion."""

    id: str
    theme: int  # 0 = general part
    theme_title: str
    kind: Kind
    heading: str
    text: str
    subitems: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    school_type: SchoolType = "beide"
    related_theme: int | None = None  # general items that announce a theme
    caption: bool = False  # a figure caption, not a sentence of the running text

    @property
    def full_text(self) -> str:
        """Text as shown to a reader: the item followed by its sub-list."""
        if not self.subitems:
            return self.text
        return self.text + "\n" + "\n".join(f"- {s}" for s in self.subitems)

    @property
    def location(self) -> str:
        """Human label: 'Thema 4 · Gevoelige overgangen · Direct aan de slag'."""
        if self.theme == 0:
            return f"Algemeen · {self.heading}"
        return f"Thema {self.theme} · {self.theme_title} · {KIND_LABELS[self.kind]}"


@dataclass(frozen=True)
class Theme:
    number: int
    title: str
    intro: tuple[Item, ...]
    vragen: tuple[Item, ...]
    direct: tuple[Item, ...]
    lang: tuple[Item, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return self.intro + self.vragen + self.direct + self.lang


@dataclass(frozen=True)
class Card:
    title: str
    general: tuple[Item, ...]
    themes: tuple[Theme, ...]
    links: tuple[Link, ...]

    @cached_property
    def items(self) -> tuple[Item, ...]:
        out: list[Item] = list(self.general)
        for t in self.themes:
            out.extend(t.items)
        return tuple(out)

    @cached_property
    def by_id(self) -> dict[str, Item]:
        return {i.id: i for i in self.items}

    @cached_property
    def link_by_url(self) -> dict[str, Link]:
        return {lk.url: lk for lk in self.links}

    def theme(self, number: int) -> Theme:
        return self.themes[number - 1]

    def items_with_link(self, url: str) -> list[Item]:
        return [i for i in self.items if any(lk.url == url for lk in i.links)]


@dataclass(frozen=True)
class Synonyms:
    expand: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[tuple[str, ...], ...] = ()
    english: dict[str, tuple[str, ...]] = field(default_factory=dict)  # English word -> card words (a glossary)
    spell_out: dict[str, str] = field(default_factory=dict)  # chat shorthand -> the words it stands for


def _load_links(path: Path) -> dict[str, Link]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["links"]
    links: dict[str, Link] = {}
    for entry in raw:
        link = Link(
            id=entry["id"], url=entry["url"], title=entry["title"], publisher=entry["publisher"],
            school_type=entry.get("school_type", "beide"),
        )
        if link.id in links:
            raise ValueError(f"duplicate link id {link.id}")
        links[link.id] = link
    return links


def _items(raw: list[dict[str, Any]], *, prefix: str, kind: Kind, theme: int, theme_title: str, heading: str,
           links: dict[str, Link]) -> tuple[Item, ...]:
    out = []
    for n, entry in enumerate(raw, start=1):
        if isinstance(entry, str):
            entry = {"text": entry}
        try:
            item_links = tuple(links[lid] for lid in entry.get("links", []))
        except KeyError as exc:
            raise ValueError(f"{prefix}.{n}: unknown link id {exc}") from None
        out.append(Item(
            id=f"{prefix}.{n}", theme=theme, theme_title=theme_title, kind=kind, heading=heading,
            text=" ".join(entry["text"].split()), subitems=tuple(" ".join(s.split()) for s in entry.get("subitems", [])),
            links=item_links, school_type=entry.get("school_type", "beide"),
            related_theme=entry.get("theme"), caption=bool(entry.get("caption", False)),
        ))
    return tuple(out)


def load_card(corpus_dir: Path | None = None) -> Card:
    """Parse praktijkkaart.yaml and links.yaml into a Card; raises ValueError on broken references."""
    d = corpus_dir or _DEFAULT_DIR
    links = _load_links(d / "links.yaml")
    raw = yaml.safe_load((d / "praktijkkaart.yaml").read_text(encoding="utf-8"))
    general: list[Item] = []
    for section in raw["general"]:
        prefix = f"alg.{section['key']}"
        if "bullets" in section:
            # The list of what a school can do is one unit: one item, its bullets as sub-list.
            bullets = section["bullets"]
            general.append(Item(
                id=f"{prefix}.1", theme=0, theme_title="Algemeen", kind=Kind.ALGEMEEN, heading=section["heading"],
                text=section["heading"] + ":", subitems=tuple(" ".join(b["text"].split()) for b in bullets),
            ))
        else:
            general.extend(_items(section["paragraphs"], prefix=prefix, kind=Kind.ALGEMEEN, theme=0,
                                  theme_title="Algemeen", heading=section["heading"], links=links))
    themes = []
    for t in raw["themes"]:
        num, title = int(t["number"]), t["title"]
        common = {"theme": num, "theme_title": title, "links": links}
        themes.append(Theme(
            number=num, title=title,
            intro=_items(t["intro"], prefix=f"t{num}.intro", kind=Kind.INTRO, heading="Inleiding", **common),
            vragen=_items(t["vragen"], prefix=f"t{num}.vraag", kind=Kind.VRAAG, heading="Vragen om jezelf te stellen", **common),
            direct=_items(t["direct"], prefix=f"t{num}.direct", kind=Kind.SUGGESTIE_DIRECT,
                          heading="Concrete suggesties om direct mee aan de slag te gaan", **common),
            lang=_items(t["lang"], prefix=f"t{num}.lang", kind=Kind.SUGGESTIE_LANG,
                        heading="Concrete suggesties voor ontwikkeling op langere termijn", **common),
        ))
    if [t.number for t in themes] != list(range(1, len(themes) + 1)):
        raise ValueError("themes must be numbered 1..n in order")
    card = Card(title=raw["title"], general=tuple(general), themes=tuple(themes), links=tuple(links.values()))
    used = {lk.id for i in card.items for lk in i.links}
    unused = set(links) - used
    if unused:
        raise ValueError(f"links not attached to any item: {sorted(unused)}")
    return card


def load_synonyms(corpus_dir: Path | None = None) -> Synonyms:
    d = corpus_dir or _DEFAULT_DIR
    raw = yaml.safe_load((d / "synonyms.yaml").read_text(encoding="utf-8"))
    expand: dict[str, tuple[str, ...]] = {}
    for section in ("expand", "english"):  # both map a term to card words
        for k, vs in (raw.get(section) or {}).items():
            expand.setdefault(str(k).lower(), tuple(str(v) for v in vs))
    groups = tuple(tuple(str(w).lower() for w in g) for g in raw.get("groups") or [])
    english = {str(k).lower(): tuple(str(v) for v in vs) for k, vs in (raw.get("english") or {}).items()}
    spell_out = {str(k).lower(): str(v) for k, v in (raw.get("spell_out") or {}).items()}
    return Synonyms(expand=expand, groups=groups, english=english, spell_out=spell_out)
