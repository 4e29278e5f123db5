"""The Bronnen page: the whole praktijkkaart, searchable (hits marked), with every link. `bronnen?thema=N` (the
link under an answer) opens the page at theme N."""

from __future__ import annotations

import html
import logging

import streamlit as st

from corpus.model import Card, Item
from corpus.text import fold
from ui.html_text import highlight_html, link_html
from ui.render import corpus_hrefs, escape_markdown, markdown_link
from ui.state import current_settings, get_card

log = logging.getLogger(__name__)

Section = tuple[str, int | None, list[tuple[str, tuple[Item, ...]]]]


def _matches(item: Item, words: list[str]) -> bool:
    haystack = fold(" ".join([item.full_text, item.heading, *(f"{lk.title} {lk.url}" for lk in item.links)]))
    return all(w in haystack for w in words)


def _item_html(item: Item, words: list[str], allowed: frozenset[str]) -> str:
    """One card item: its text, sub-list and links, escaped, with the search hits in <mark>."""
    parts = [f"<p>{highlight_html(item.text, words)}</p>"]
    if item.subitems:
        parts.append("<ul>" + "".join(f"<li>{highlight_html(s, words)}</li>" for s in item.subitems) + "</ul>")
    for lk in item.links:
        parts.append(f'<p class="pk-link">Link: {link_html(lk.title, lk.url, allowed)} · '
                     f"{html.escape(lk.domain)}</p>")
    return "".join(parts)


def _sections(card: Card) -> list[Section]:
    sections: list[Section] = [("Algemeen", None, [("", card.general)])]
    for t in card.themes:
        sections.append((f"Thema {t.number} · {t.title}", t.number, [
            ("Inleiding", t.intro), ("Vragen om jezelf te stellen", t.vragen),
            ("Direct aan de slag", t.direct), ("Op langere termijn", t.lang),
        ]))
    return sections


def _asked_theme(card: Card) -> int | None:
    """The theme of `?thema=N`, when N is one of the card's themes."""
    raw = st.query_params.get("thema")
    try:
        number = int(str(raw))
    except ValueError:
        return None
    return number if any(t.number == number for t in card.themes) else None


def _render_section(parts: list[tuple[str, list[Item]]], words: list[str], allowed: frozenset[str]) -> None:
    for part_label, items in parts:
        if not items:
            continue
        if part_label:
            st.markdown(f"**{escape_markdown(part_label)}**")
        chunks = []
        for item in items:
            if not part_label:
                chunks.append(f"<p><strong>{html.escape(item.heading)}</strong></p>")
            chunks.append(_item_html(item, words, allowed))
        st.html("".join(chunks))


def _render_links(card: Card, words: list[str]) -> None:
    links = [lk for lk in card.links if all(w in fold(f"{lk.title} {lk.url} {lk.publisher}") for w in words)]
    if links:
        with st.expander(f"Alle links van de praktijkkaart ({len(links)})", expanded=False):
            st.markdown("\n".join(
                f"- {markdown_link(lk.title, lk.url)} · {escape_markdown(lk.publisher)} · "
                f"{escape_markdown(lk.domain)}"
                for lk in links))


def sources_page() -> None:
    settings = current_settings()
    card = get_card(str(settings.corpus_dir))
    st.title("Bronnen: de praktijkkaart", anchor=False)
    st.markdown(
        f"Hier lees je de hele *{escape_markdown(card.title)}*: per thema de vragen om jezelf te "
        "stellen, de suggesties om direct mee aan de slag te gaan en die voor de langere termijn, met alle links."
    )
    query = st.text_input("Zoek in de praktijkkaart", placeholder="bijvoorbeeld: ouders, nieuwkomers, brugklas",
                          key="sources_query")
    words = fold(query).split()
    asked = _asked_theme(card)
    allowed = corpus_hrefs(settings.corpus_dir)

    total = 0
    for title, number, parts in _sections(card):
        visible = [(label, [i for i in items if _matches(i, words)]) for label, items in parts]
        count = sum(len(items) for _, items in visible)
        total += count
        if words and not count:
            continue
        label = f"{escape_markdown(title)} ({count})" if words else escape_markdown(title)
        with st.expander(label, expanded=bool(words) or (asked is not None and number == asked)):
            _render_section(visible, words, allowed)
    if words and not total:
        st.info("Niets gevonden in de praktijkkaart. Probeer een ander woord.")
    _render_links(card, words)
