"""Pure text helpers for safe rendering: no HTML, no remote images, links only to the card's own links.

Streamlit's st.markdown does not render raw HTML unless `unsafe_allow_html=True` (never used here), but we
still neutralise `<` and Markdown images so that nothing in an answer or a document can load a remote resource
or look like markup. Every answer is rendered through `corpus.safe_text.safe_markdown`: a link, autolink,
reference link or bare URL whose target is not one of the corpus links (corpus/links.yaml) is inert text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from corpus.safe_text import safe_markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$])")
# Inline images ![alt](url "title") and reference images ![alt][ref].
_IMAGE = re.compile(r"!\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])")


def escape_markdown(text: str) -> str:
    """Text shown literally by st.markdown: every Markdown/HTML special character is backslash-escaped."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    # Keep line breaks visible as line breaks (two trailing spaces force a break in Markdown).
    return escaped.replace("\n", "  \n")


def strip_images(markdown: str) -> str:
    """Replace Markdown images by their alt text, so nothing remote is loaded."""
    return _IMAGE.sub(lambda m: f"[afbeelding: {m.group(1)}]" if m.group(1).strip() else "[afbeelding]", markdown)


_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


@lru_cache(maxsize=8)
def _card_hrefs(corpus_dir: Path) -> frozenset[str]:
    from corpus.model import load_card

    return frozenset(lk.url for lk in load_card(corpus_dir).links)


@lru_cache(maxsize=8)
def _settings_corpus_dir(env: tuple[tuple[str, str], ...]) -> Path:  # noqa: ARG001 - env is only the cache key
    from praktijkkaart.settings import Settings

    return Settings().corpus_dir


def corpus_hrefs(corpus_dir: Path | None = None) -> frozenset[str]:
    """The card's link URLs (links.yaml of `corpus_dir`; by default that of the current settings, read once
    per distinct PRAKTIJKKAART_* environment as the UI does)."""
    if corpus_dir is None:
        env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PRAKTIJKKAART_")))
        corpus_dir = _settings_corpus_dir(env)
    return _card_hrefs(Path(corpus_dir))


def safe_answer_markdown(markdown: str, allowed_hrefs: Collection[str] | None = None, *,
                         heading_level: int | None = None) -> str:
    """An answer's Markdown as rendered: images removed, only links to `allowed_hrefs` (default: the corpus
    links) clickable, HTML brackets shown as text, no LaTeX. Headings become headings of `heading_level` (a
    screen reader lists them; the chat sits under the page's h1), or bold lines when it is None."""
    allowed = corpus_hrefs() if allowed_hrefs is None else allowed_hrefs
    # safe_markdown turns every '<' but that of a corpus autolink into '&lt;': no HTML tag can start.
    heading = r"**\1**" if heading_level is None else "#" * heading_level + r" \1"
    text = _HEADING.sub(heading, safe_markdown(strip_images(markdown), allowed))
    # '$' would start LaTeX math in Streamlit's Markdown.
    return text.replace("$", "\\$")


_MARKER = re.compile(r"(?<![\\\]])\[(\d{1,3})\](?![(\[])")
_THEME_LINE = re.compile(r"^Lees het hele thema (\d) (.+?) op de pagina Bronnen:?[ \t]*$", re.MULTILINE)


def link_markers(markdown: str, numbers: Collection[int], anchor: Callable[[int], str]) -> str:
    """Each source marker [n] of rendered answer Markdown (see safe_answer_markdown) as a link to the source
    entry with id `anchor(n)` in the same answer; numbers without an entry stay text."""
    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f'[\\[{n}\\]](#{anchor(n)} "Bron {n}")' if n in numbers else m.group(0)

    return _MARKER.sub(link, markdown)


def link_theme_pages(markdown: str, page: str = "bronnen") -> str:
    """The line "Lees het hele thema N „…” op de pagina Bronnen" as a link that opens Bronnen at theme N."""
    return _THEME_LINE.sub(lambda m: f"[Lees het hele thema {m.group(1)} {m.group(2)} op de pagina Bronnen]"
                                     f"({page}?thema={m.group(1)})", markdown)


_SOURCES_HEADING = re.compile(r"^#{1,6}[ \t]*Bronnen[ \t]*:?[ \t]*$", re.MULTILINE)


def answer_body(markdown: str) -> str:
    """The answer without its own trailing "Bronnen" section (the UI and the export list the sources themselves)."""
    headings = list(_SOURCES_HEADING.finditer(markdown))
    return markdown[: headings[-1].start()].rstrip() if headings else markdown


def until_sources(pieces: Iterable[str]) -> Iterator[str]:
    """Streamed text up to the answer's own "Bronnen" heading (pieces may split lines anywhere).

    The rest of `pieces` is still consumed (silently), so a generator behind it runs to its end.
    """
    buffer = ""
    done = False
    for piece in pieces:
        if done:
            continue
        buffer += piece
        lines = buffer.split("\n")
        buffer = lines.pop()  # an unfinished line waits for the rest
        for line in lines:
            if _SOURCES_HEADING.fullmatch(line):
                done = True
                break
            yield line + "\n"
    if buffer and not done and not _SOURCES_HEADING.fullmatch(buffer):
        yield buffer


def stream_without_images(pieces: Iterable[str], allowed_hrefs: Collection[str] | None = None, *,
                          heading_level: int | None = None) -> Iterator[str]:
    """Pass streamed text through `safe_answer_markdown`, holding back a possibly unfinished image, and the
    last word (a URL or a link target never ends inside a piece, so it is sanitised whole)."""
    allowed = corpus_hrefs() if allowed_hrefs is None else allowed_hrefs
    buffer = ""
    for piece in pieces:
        buffer += piece
        cut = _safe_cut(buffer)
        if cut:
            yield safe_answer_markdown(buffer[:cut], allowed, heading_level=heading_level)
            buffer = buffer[cut:]
    if buffer:
        yield safe_answer_markdown(buffer, allowed, heading_level=heading_level)


def _safe_cut(buffer: str) -> int:
    """Length of the prefix of `buffer` that ends at white space and holds no unfinished image or link: an
    image, link or URL is always filtered whole."""
    space = max(buffer.rfind(" "), buffer.rfind("\n"))
    end = space + 1 if space >= 0 else 0
    bracket = buffer.rfind("[", buffer.rfind("\n", 0, end) + 1, end)
    if bracket != -1:
        after = buffer[bracket:].split("]", 1)
        unfinished = len(after) == 1 or (after[1].startswith("(") and ")" not in after[1])
        if unfinished and len(buffer) - bracket < 1000:
            end = bracket - 1 if bracket and buffer[bracket - 1] == "!" else bracket
    return end


def safe_url(url: str) -> str | None:
    """The URL for a Markdown link, or None when it is not plain http(s)."""
    url = url.strip()
    if not re.match(r"https?://[^\s<>\"]+$", url, re.IGNORECASE):
        return None
    return url.replace("(", "%28").replace(")", "%29")


def domain(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    return host.removeprefix("www.")


def markdown_link(title: str, url: str, allowed_hrefs: Collection[str] | None = None) -> str:
    """`[title](url)` with the title escaped; a non-http(s) URL, or one outside `allowed_hrefs` when given,
    gives the escaped title without a link."""
    target = safe_url(url)
    label = escape_markdown(title)
    if allowed_hrefs is not None and url.strip() not in allowed_hrefs:
        target = None
    return f"[{label}]({target})" if target else label
