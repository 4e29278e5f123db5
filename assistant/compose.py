"""The default generator: a short Dutch answer composed only of card text.

Shape: one opening sentence of the card (a complete sentence, never a caption), the 2-3 card items that
fit *this* question best (from any theme, verbatim, with their links as [n]), at most two questions for the
team, then the sources (numbered so that the best-fitting link of each lead item comes first, an item's
further links after them). The rest of the answer's theme(s) goes to a folded part (`more`). Template lines
are headings or end with a colon; every other sentence is copied verbatim from a passage the answer lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.retrieval import Retrieval
from assistant.text import stem, words
from assistant.types import Citation, LinkRef, Passage, SchoolFilter
from corpus.model import Card, Kind
from corpus.safe_text import is_quotable
from corpus.text import card_sentences
from praktijkkaart.settings import AnswerSettings, Settings

sentences = card_sentences  # the card's sentence splitter (corpus/text.py), by its old name
_PARAGRAPH_KINDS = (Kind.INTRO, Kind.ALGEMEEN)


def theme_names(card: Card) -> list[str]:
    return [f"{t.number}. {t.title}" for t in card.themes]


def decline_text(card: Card) -> str:
    themes = "\n".join(theme_names(card))
    return ("Daar zegt de praktijkkaart *Welbevinden en gelijke kansen* niets over, dus daar kan ik je niet mee "
            "helpen. De kaart gaat over deze vijf thema's:\n\n" + themes +
            "\n\nStel gerust een vraag over een van deze thema's, bijvoorbeeld over ouders betrekken, "
            "overgangen naar het VO of traumasensitief werken.")


def not_covered_text(related: Sequence[Passage]) -> str:
    """Outside the card, but close to parts of it: say so, and name those parts (no quotes, no links)."""
    lines = ["De praktijkkaart *Welbevinden en gelijke kansen* gaat hier niet over, dus daar kan ik je niet mee "
             "helpen."]
    if related:
        lines += ["", "Wel verwant in de kaart:", ""]
        for p in related:
            first = " ".join(p.text.split()[:12])
            lines.append(f"- {p.location}: „{first} …”")
        lines += ["", "Wil je daar meer over weten? Stel je vraag dan over dat onderwerp."]
    return "\n".join(lines)


@dataclass
class Composed:
    text: str
    citations: list[Citation]
    used: list[Passage]  # passages the answer draws on, in answer order (short answer first, then `more`)
    more: str = ""
    lead: list[Passage] = field(default_factory=list)


class _Citer:
    def __init__(self, link_relevance: dict[str, float], school_type: SchoolFilter | None) -> None:
        self.citations: list[Citation] = []
        self._by_url: dict[str, int] = {}
        self._rel = link_relevance
        self._school = school_type
        self.folded = False

    def _links(self, p: Passage) -> list[LinkRef]:
        """The passage's links, best matching first; links for the other school type are left out when the
        question or the filter names one."""
        links = [lk for lk in p.links if not self._school or lk.school_type in (self._school, "beide")]
        return sorted(links, key=lambda lk: -self._rel.get(lk.url, -1.0))

    def _number(self, p: Passage, lk: LinkRef) -> int:
        if lk.url not in self._by_url:
            n = len(self.citations) + 1
            self._by_url[lk.url] = n
            self.citations.append(Citation(n, lk.url, lk.title, p.id, lk.dead, folded=self.folded))
        return self._by_url[lk.url]

    def reserve_best(self, passages: Sequence[Passage]) -> None:
        """Number the best-matching link of each of these passages first, in their order: the sources list
        then opens with one fitting link per lead item, and an item's further links (the VO version beside
        the PO one, a second infosheet) follow them."""
        for p in passages:
            links = self._links(p)
            if links:
                self._number(p, links[0])

    def cite(self, p: Passage) -> str:
        """[n] for each link of the passage, in number order."""
        return "".join(f"[{n}]" for n in sorted(self._number(p, lk) for lk in self._links(p)))

    def sources(self, folded: bool) -> list[str]:
        part = [c for c in self.citations if c.folded == folded]
        if not part:
            return []
        lines = ["", "### Bronnen"]
        for c in part:
            dead = " (deze link werkte niet bij de laatste controle)" if c.dead else ""
            lines.append(f"[{c.n}] {c.title} — {c.url}{dead}")
        return lines


def _n_words(text: str) -> int:
    return len(re.sub(r"\[\d+\]", " ", text).split())


def _stems(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


def _opening(query: str, ranked_items: list[Passage], theme_paragraphs: list[Passage],
             cfg: AnswerSettings) -> tuple[Passage, str] | None:
    """The complete card sentence that fits the question best: from a relevant intro/general paragraph
    or the lead theme's introduction; the theme's first sentence when nothing overlaps."""
    q = _stems(query)
    pool = list(dict.fromkeys([p for p in ranked_items[:5] if p.kind in _PARAGRAPH_KINDS] + theme_paragraphs))
    best: tuple[float, int, int, Passage, str] | None = None
    for pi, p in enumerate(pool):
        if p.caption:
            continue
        for si, s in enumerate(sentences(p.text)):
            n = _n_words(s)
            if not (6 <= n <= cfg.max_opening_words) or not s[0].isupper() or s[-1] not in ".!?" or "\n" in s:
                continue
            score = len(q & _stems(s)) - cfg.opening_position_penalty * pi
            key = (score, -pi, -si, p, s)
            if best is None or key[:3] > best[:3]:
                best = key
    if best is None:
        return None
    if best[0] <= 0 and theme_paragraphs:  # nothing overlaps: the theme's own opening sentence
        first = next((p for p in theme_paragraphs if not p.caption), None)
        if first is not None:
            lead = next((x for x in sentences(first.text) if 6 <= _n_words(x) <= cfg.max_opening_words), None)
            if lead is not None:
                return first, lead
    return best[3], best[4]


def _bullet(p: Passage, citer: _Citer) -> str:
    text = p.text.replace("\n- ", "\n  - ")  # the item's sub-list as a nested list
    return f"- {text} {citer.cite(p)}".rstrip()


def _by_relevance(retrieval: Retrieval, card_passages: dict[str, Passage]) -> list[Passage]:
    rel = retrieval.card_relevance
    items = [p for i in rel if (p := card_passages.get(i)) is not None and not p.caption]
    return sorted(items, key=lambda p: (-rel[p.item_id], p.item_id))


def _is_paragraph(p: Passage) -> bool:
    """Running text (an introduction or a general paragraph) rather than a question, suggestion or list."""
    return p.kind in _PARAGRAPH_KINDS and "\n- " not in p.text


def _choose_lead(ranked: list[Passage], rel: dict[str, float], ratio: float) -> list[Passage]:
    """The 2-3 card items that fit best, from any theme: a third joins when it is nearly as relevant."""
    lead = ranked[:2]
    if len(ranked) > 2 and rel[ranked[2].item_id] >= ratio * rel[ranked[0].item_id]:
        lead.append(ranked[2])
    return lead


def _paragraph_sentences(query: str, p: Passage, limit: int) -> list[str]:
    """The paragraph's sentences that share most words with the question (at most `limit`, in text order);
    its first sentence when none does."""
    q = _stems(query)
    sents = [s for s in sentences(p.text) if _n_words(s) >= 4]
    scored = sorted(range(len(sents)), key=lambda i: (-len(q & _stems(sents[i])), i))
    best = [i for i in scored[:limit] if q & _stems(sents[i])] or [0]
    return [sents[i] for i in sorted(best)] if sents else []


def compose(retrieval: Retrieval, card_passages: dict[str, Passage], card: Card, settings: Settings,
            school_type: SchoolFilter | None = None) -> Composed:
    """Build the short answer and its folded rest from the card passages (item id -> Passage)."""
    rel = retrieval.card_relevance
    ranked = _by_relevance(retrieval, card_passages)
    citer = _Citer(retrieval.link_relevance, school_type)
    if not ranked:
        return Composed("", [], [])
    lead = _choose_lead(ranked, rel, settings.answer.lead_ratio)
    paragraphs = [p for p in lead if _is_paragraph(p)]
    bullets = [p for p in lead if not _is_paragraph(p)]
    opening_lines, used = _opening_block(retrieval.query, ranked, paragraphs, card_passages, lead[0].theme,
                                         settings.answer)
    lines = [" ".join(opening_lines)] if opening_lines else []
    budget = settings.answer.max_visible_words - _n_words(" ".join(lines)) - 6  # the two headings
    if bullets:
        citer.reserve_best(bullets)
        lines += ["", "### Uit de praktijkkaart"]
        for p in bullets:
            lines.append(_bullet(p, citer))
            used.append(p)
            budget -= _n_words(p.text)
    lead_themes = list(dict.fromkeys(p.theme for p in lead if p.theme is not None))
    team = [p for p in ranked if p.kind == Kind.VRAAG and p not in lead and p.theme in lead_themes
            and rel[p.item_id] >= settings.answer.team_ratio * rel[ranked[0].item_id]]
    team = team[: settings.answer.max_team_questions]
    shown_team = []
    for p in team:
        if _n_words(p.text) <= budget:
            shown_team.append(p)
            budget -= _n_words(p.text)
    if shown_team:
        lines += ["", "### Om met je team te bespreken"]
        for p in shown_team:
            lines.append(_bullet(p, citer))
            used.append(p)
    quotes = _resource_quotes(retrieval, lead_themes)
    visible_quotes = [(p, q) for p, q in quotes if p.parent_item_id in {x.item_id for x in lead}
                      and _n_words(q) <= budget]
    if visible_quotes:  # a fetched resource behind a lead item, in its own words
        lines += _quote_lines(visible_quotes, citer)
        used += [p for p, _ in visible_quotes]
    lines += citer.sources(folded=False)
    folded_quotes = [x for x in quotes if x not in visible_quotes]
    more, more_used = _more(card_passages, card, lead_themes, set(used), citer, folded_quotes)
    return Composed("\n".join(lines), citer.citations, used + more_used, more, lead)


def _opening_block(query: str, ranked: list[Passage], paragraphs: list[Passage], card_passages: dict[str, Passage],
                   theme: int | None, cfg: AnswerSettings) -> tuple[list[str], list[Passage]]:
    """Sentences of the lead's paragraphs (the card's own words on a background question), or else the one
    card sentence from the lead theme's introduction that fits the question best."""
    if paragraphs:
        out: list[str] = []
        for p in paragraphs:
            out += _paragraph_sentences(query, p, 2 if p is paragraphs[0] else 1)
        return out, list(paragraphs)
    theme_paras = sorted((p for p in card_passages.values() if p.theme == theme and p.kind in _PARAGRAPH_KINDS),
                         key=lambda p: _item_order(p.item_id))
    opening = _opening(query, ranked, theme_paras, cfg)
    return ([opening[1]], [opening[0]]) if opening else ([], [])


def _item_order(item_id: str) -> tuple[str, int]:
    head, _, n = item_id.rpartition(".")
    return head, int(n) if n.isdigit() else 0


def _quote_lines(quotes: list[tuple[Passage, str]], citer: _Citer) -> list[str]:
    return ["", "### Uit de gelinkte bronnen"] + [f"- {text} {citer.cite(p)}" for p, text in quotes]


def _more(card_passages: dict[str, Passage], card: Card, themes: list[int], shown: set[Passage], citer: _Citer,
          quotes: list[tuple[Passage, str]]) -> tuple[str, list[Passage]]:
    """The rest of the lead's theme(s), in card order, for the folded part ("Meer uit thema N")."""
    citer.folded = True
    lines: list[str] = []
    used: list[Passage] = []
    for th in themes[:2]:
        if th == 0:
            continue
        title = card.theme(th).title
        lines += ["", f"### Meer uit thema {th} „{title}”"]
        for kind, heading in ((Kind.VRAAG, "Vragen om met je team te bespreken:"),
                              (Kind.SUGGESTIE_DIRECT, "Direct aan de slag:"),
                              (Kind.SUGGESTIE_LANG, "Op langere termijn:")):
            part = sorted((p for p in card_passages.values() if p.theme == th and p.kind == kind and p not in shown),
                          key=lambda p: _item_order(p.item_id))
            if part:
                lines += ["", f"**{heading}**"]
                for p in part:
                    lines.append(_bullet(p, citer))
                    used.append(p)
        lines += ["", f"Lees het hele thema {th} „{title}” op de pagina Bronnen:"]
    if quotes:
        lines += _quote_lines(quotes, citer)
        used += [p for p, _ in quotes]
    lines += citer.sources(folded=True)
    return "\n".join(lines).strip("\n"), used


def _resource_quotes(retrieval: Retrieval, themes: list[int], limit: int = 1) -> list[tuple[Passage, str]]:
    """At most one short verbatim quote from a fetched linked resource that ranks among the top results
    and hangs under one of the chosen themes (link cards are our own descriptions: not quoted)."""
    out: list[tuple[Passage, str]] = []
    q = _stems(retrieval.query)
    for p in retrieval.ranked[:5]:
        if p.kind != Kind.BRON or p.heading == "Over deze bron" or p.parent_theme not in themes:
            continue
        # Fetched text is data: only a plain sentence that instructs no one and points nowhere is quoted.
        good = [s for s in sentences(p.text) if is_quotable(s) and 6 <= len(s.split()) <= 40 and "\n" not in s]
        good.sort(key=lambda s: -len(q & _stems(s)))
        if good and q & _stems(good[0]):
            out.append((p, good[0]))
        if len(out) >= limit:
            break
    return out
