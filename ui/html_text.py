"""Small pieces of HTML for st.html, built only from escaped text: a numbered source list with anchors, search
hits marked with <mark>, and a copy button. User text and document text are never HTML here: every piece of text
goes through html.escape, and an href is written only for an http(s) URL in `allowed` (the card's own links).
st.html sanitises once more (DOMPurify) and runs no script.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable

from corpus.text import fold
from ui.render import domain, safe_url

_ID_UNSAFE = re.compile(r"[^a-z0-9-]+")


def anchor_id(prefix: str, msg_id: str, n: int) -> str:
    """A valid, page-unique element id, e.g. "bron-3f2a…-1"."""
    return f"{prefix}-{_ID_UNSAFE.sub('-', msg_id.lower()).strip('-') or 'x'}-{n}"


def link_html(title: str, url: str, allowed: Collection[str]) -> str:
    """<a> to `url` in a new tab when it is an allowed http(s) link; otherwise the title as text."""
    target = safe_url(url)
    label = html.escape(title)
    if not target or url.strip() not in allowed:
        return label
    return f'<a href="{html.escape(target, quote=True)}" target="_blank" rel="noopener noreferrer">{label}</a>'


def sources_html(entries: Iterable[tuple[int, str, str, bool]], msg_id: str, allowed: Collection[str],
                 dead_note: str) -> str:
    """The numbered sources (n, title, url, dead) of one answer; entry n has the id its marker [n] links to."""
    items = []
    for n, title, url, dead in entries:
        line = f'<span class="pk-n">[{n}]</span> {link_html(title, url, allowed)} · {html.escape(domain(url))}'
        if dead:
            line += f" — ⚠️ <em>{html.escape(dead_note)}</em>"
        items.append(f'<li id="{anchor_id("bron", msg_id, n)}">{line}</li>')
    return f'<ol class="pk-bronnen">{"".join(items)}</ol>' if items else ""


def _folded_with_index(text: str) -> tuple[str, list[int]]:
    """fold(text), and for each of its characters the index of the character of `text` it came from."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for f in fold(ch):
            chars.append(f)
            index.append(i)
    return "".join(chars), index


def hit_spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Merged (start, end) ranges of `text` where a folded search word occurs (accents and case ignored)."""
    folded, index = _folded_with_index(text)
    spans: list[tuple[int, int]] = []
    for word in {w for w in words if w}:
        start = folded.find(word)
        while start != -1:
            spans.append((index[start], index[start + len(word) - 1] + 1))
            start = folded.find(word, start + len(word))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def highlight_html(text: str, words: Iterable[str]) -> str:
    """`text` escaped, with every hit of `words` (already folded) in <mark>."""
    out: list[str] = []
    at = 0
    for s, e in hit_spans(text, words):
        out += [html.escape(text[at:s]), f"<mark>{html.escape(text[s:e])}</mark>"]
        at = e
    out.append(html.escape(text[at:]))
    return "".join(out)


def copy_button_html(text: str, label: str = "Kopieer antwoord") -> str:
    """A button that copies `text` (held escaped in a data attribute; ui/static/page.js does the copying)."""
    return (f'<div class="pk-kopieer-rij"><button type="button" class="pk-kopieer" '
            f'data-kopieer="{html.escape(text, quote=True)}">{html.escape(label)}</button>'
            '<span class="pk-kopieer-status" role="status" aria-live="polite"></span></div>')
