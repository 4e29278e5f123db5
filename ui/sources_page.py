"""The Bronnen page: the whole praktijkkaart, searchable, with every link."""

from __future__ import annotations

import logging
import unicodedata

import streamlit as st

from corpus.model import Item
from ui.render import (
    escape_markdown,
    markdown_link,
)
from ui.state import (
    current_settings,
    get_card,
)

log = logging.getLogger(__name__)

# --- Bronnen ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _matches(item: Item, words: list[str]) -> bool:
    haystack = _fold(" ".join([item.full_text, item.heading, *(f"{lk.title} {lk.url}" for lk in item.links)]))
    return all(w in haystack for w in words)


def _item_markdown(item: Item) -> str:
    lines = [escape_markdown(item.text)]
    lines += [f"- {escape_markdown(s)}" for s in item.subitems]
    body = "\n".join([lines[0], "", *lines[1:]]) if item.subitems else lines[0]
    links = [f":material/link: {markdown_link(lk.title, lk.url)} · {escape_markdown(lk.domain)}" for lk in item.links]
    return body + ("\n\n" + "  \n".join(links) if links else "")


def sources_page() -> None:
    settings = current_settings()
    card = get_card(str(settings.corpus_dir))
    st.title("Bronnen: de praktijkkaart")
    st.markdown(
        f"Hier lees je de hele *{escape_markdown(card.title)}*: per thema de vragen om jezelf te "
        "stellen, de suggesties om direct mee aan de slag te gaan en die voor de langere termijn, met alle links."
    )
    query = st.text_input("Zoek in de praktijkkaart", placeholder="bijvoorbeeld: ouders, nieuwkomers, brugklas",
                          key="sources_query")
    words = _fold(query).split()

    sections: list[tuple[str, list[tuple[str, tuple[Item, ...]]]]] = [
        ("Algemeen", [("", card.general)]),
    ]
    for t in card.themes:
        sections.append((f"Thema {t.number} · {t.title}", [
            ("Inleiding", t.intro), ("Vragen om jezelf te stellen", t.vragen),
            ("Direct aan de slag", t.direct), ("Op langere termijn", t.lang),
        ]))

    total = 0
    for title, parts in sections:
        visible = [(label, [i for i in items if _matches(i, words)]) for label, items in parts]
        count = sum(len(items) for _, items in visible)
        total += count
        if words and not count:
            continue
        label = f"{escape_markdown(title)} ({count})" if words else escape_markdown(title)
        with st.expander(label, expanded=bool(words)):
            for part_label, items in visible:
                if not items:
                    continue
                if part_label:
                    st.markdown(f"**{escape_markdown(part_label)}**")
                for item in items:
                    if not part_label:
                        st.markdown(f"**{escape_markdown(item.heading)}**")
                    st.markdown(_item_markdown(item))
    if words and not total:
        st.info("Niets gevonden in de praktijkkaart. Probeer een ander woord.")

    links = [lk for lk in card.links if all(w in _fold(f"{lk.title} {lk.url} {lk.publisher}") for w in words)]
    if links:
        with st.expander(f"Alle links van de praktijkkaart ({len(links)})", expanded=False):
            st.markdown("\n".join(
                f"- {markdown_link(lk.title, lk.url)} · {escape_markdown(lk.publisher)} · "
                f"{escape_markdown(lk.domain)}"
                for lk in links))
