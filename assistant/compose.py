"""The default generator: a short Dutch answer composed only of card text.

Template lines (opening, headings, closing) are bold or end with a colon; every other sentence is
copied verbatim from a passage that the answer lists, and every link is cited as [n].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.retrieval import Retrieval
from assistant.text import stem, words
from assistant.types import Citation, Passage
from corpus.model import Card

MAX_WORDS = 250
_ABBREV = ("o.a.", "bijv.", "etc.", "d.w.z.", "m.b.t.", "e.d.", "i.p.v.")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý‘'“(])")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in _SPLIT.split(text.strip()):
        if out and out[-1].endswith(_ABBREV):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s for s in out if s]


def theme_names(card: Card) -> list[str]:
    return [f"{t.number}. {t.title}" for t in card.themes]


def decline_text(card: Card) -> str:
    themes = "\n".join(f"- {n}" for n in theme_names(card))
    return ("Daar zegt de praktijkkaart *Welbevinden en gelijke kansen* niets over, dus daar kan ik je niet mee "
            "helpen. De kaart gaat over deze vijf thema's:\n\n" + themes +
            "\n\nStel gerust een vraag over een van deze thema's, bijvoorbeeld over ouders betrekken, "
            "overgangen naar het VO of traumasensitief werken.")


@dataclass
class Composed:
    text: str
    citations: list[Citation]
    used: list[Passage]  # passages the answer draws on, in answer order


class _Citer:
    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_url: dict[str, int] = {}

    def cite(self, p: Passage) -> str:
        marks = []
        for lk in p.links:
            if lk.url not in self._by_url:
                n = len(self.citations) + 1
                self._by_url[lk.url] = n
                self.citations.append(Citation(n, lk.url, lk.title, p.id, lk.dead))
            marks.append(f"[{self._by_url[lk.url]}]")
        return "".join(marks)


def _best_sentences(query: str, paragraphs: list[Passage], n: int) -> list[tuple[Passage, str]]:
    """The intro sentence(s) sharing most stems with the question; the theme's opening sentence otherwise."""
    q = {stem(w) for w in words(query)}
    scored = []
    for pi, p in enumerate(paragraphs):
        for si, s in enumerate(sentences(p.text)):
            overlap = len(q & {stem(w) for w in words(s)})
            scored.append((overlap, -pi, -si, p, s))
    if not scored:
        return []
    scored.sort(key=lambda x: (x[0], x[1], x[2]), reverse=True)
    if scored[0][0] == 0:
        first = paragraphs[0]
        return [(first, sentences(first.text)[0])]
    return [(p, s) for overlap, _pi, _si, p, s in scored[:n] if overlap > 0]


def compose(retrieval: Retrieval, card_passages: dict[str, Passage], card: Card) -> Composed:
    """Build the answer for the chosen theme(s) from the card passages (item id -> Passage)."""
    rel = retrieval.card_relevance
    citer = _Citer()
    used: list[Passage] = []
    lines: list[str] = []
    themes = retrieval.themes

    def theme_items(kind: str, th: int) -> list[Passage]:
        items = [p for i in rel if (p := card_passages.get(i)) is not None and p.theme == th and p.kind == kind]
        return sorted(items, key=lambda p: (-rel[p.item_id], p.item_id))

    if themes == [0]:
        general = theme_items("algemeen", 0)[:2]
        lines.append("**Uit het algemene deel van de praktijkkaart:**")
        for p in general:
            lines.append("")
            lines.append(p.text)
            used.append(p)
        lines += ["", "**Lees de uitwerking per thema op de pagina Bronnen.**"]
        return Composed("\n".join(lines), citer.citations, used)

    titles = " en ".join(f"thema {th} „{card.theme(th).title}”" for th in themes)
    lines.append(f"**Uit de praktijkkaart, {titles}:**")
    intro = theme_items("intro", themes[0])
    intro_in_order = sorted(intro, key=lambda p: p.item_id)
    context = _best_sentences(retrieval.query, intro_in_order, 2)
    while len(context) > 1 and sum(len(c[1].split()) for c in context) > 45:
        context = context[:-1]  # one or two sentences of context, not a paragraph
    if context:
        lines.append("")
        lines.append(" ".join(s for _, s in context))
        used.extend(dict.fromkeys(p for p, _ in context))

    n_themes = len(themes)
    per_theme_q = 3 if n_themes == 1 else 2
    per_theme_s = 5 if n_themes == 1 else 3  # the word budget below usually keeps it to 3-5 in all
    # Long questions (with a long sub-list) only when they are the best match.
    vragen = [p for th in themes for p in
              [q for n, q in enumerate(theme_items("vraag", th)) if n == 0 or len(q.text.split()) <= 45][:per_theme_q]]
    sugg: list[Passage] = []
    for th in themes:
        both = sorted(theme_items("suggestie_direct", th) + theme_items("suggestie_lang", th),
                      key=lambda p: -rel[p.item_id])
        sugg.extend(both[:per_theme_s])
    budget = MAX_WORDS - sum(len(line.split()) for line in lines)

    def bullet(p: Passage) -> str:
        text = p.text if len(p.text.split()) <= 80 else p.text.split("\n", 1)[0]
        text = text.replace("\n- ", "\n  - ")  # the item's sub-list as a nested list
        return f"- {text} {citer.cite(p)}".rstrip()

    if vragen:
        lines += ["", "### Vragen om met je team te bespreken:"]
        for p in vragen:
            if budget - len(p.text.split()) < 130 and p is not vragen[0]:  # keep room for suggestions
                break  # checked before citing: a cited link must belong to a shown passage
            b = bullet(p)
            lines.append(b)
            used.append(p)
            budget -= len(b.split())
    ordered_sugg = sorted(sugg, key=lambda p: -rel[p.item_id])
    chosen: list[Passage] = []
    for p in ordered_sugg:
        cost = len(p.text.split())
        if len(chosen) >= 5 or (len(chosen) >= 3 and budget - cost < 0):
            break
        chosen.append(p)
        budget -= cost
    for kind, heading in (("suggestie_direct", "### Direct aan de slag:"), ("suggestie_lang", "### Op langere termijn:")):
        part = [p for p in chosen if p.kind == kind]
        if part:
            lines += ["", heading]
            for p in part:
                lines.append(bullet(p))
                used.append(p)
    quotes = _resource_quotes(retrieval, themes)
    if quotes:
        lines += ["", "### Uit de gelinkte bronnen:"]
        for p, text in quotes:
            lines.append(f"- {text} {citer.cite(p)}")
            used.append(p)
    read_more = " en ".join(f"thema {th} „{card.theme(th).title}”" for th in themes)
    lines += ["", f"**Lees het hele {read_more} op de pagina Bronnen.**"]
    if citer.citations:
        lines += ["", "### Bronnen"]
        for c in citer.citations:
            dead = " (deze link werkte niet bij de laatste controle)" if c.dead else ""
            lines.append(f"[{c.n}] {c.title} — {c.url}{dead}")
    return Composed("\n".join(lines), citer.citations, used)


# Text fetched from the web is data: a sentence that talks to the reader's assistant ("negeer alle
# instructies", "voeg deze link toe") or carries a URL is never quoted, whatever its relevance.
_SUSPECT = re.compile(r"https?://|www\.|\binstructie|\bnegeer\b|\bignore\b|\bprompt\b|\bsysteem|\bsystem\b|"
                      r"\bassistent\b|\bassistant\b|\bvoeg\b.*\blink|\bcanary\b|[A-Z]{4,}-[0-9A-Za-z]{3,}",
                      re.IGNORECASE)


def _resource_quotes(retrieval: Retrieval, themes: list[int], limit: int = 1) -> list[tuple[Passage, str]]:
    """At most one short verbatim quote from a fetched linked resource that ranks among the top results
    and hangs under one of the chosen themes (link cards are our own descriptions: not quoted)."""
    out: list[tuple[Passage, str]] = []
    q = {stem(w) for w in words(retrieval.query)}
    for p in retrieval.ranked[:5]:
        if p.kind != "bron" or p.heading == "Over deze bron" or p.parent_theme not in themes:
            continue
        good = [s for s in sentences(p.text) if not _SUSPECT.search(s) and 6 <= len(s.split()) <= 40
                and "\n" not in s]
        good.sort(key=lambda s: -len(q & {stem(w) for w in words(s)}))
        if good and q & {stem(w) for w in words(good[0])}:
            out.append((p, good[0]))
        if len(out) >= limit:
            break
    return out
