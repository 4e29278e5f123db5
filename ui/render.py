"""Pure text helpers for safe rendering: no HTML, no remote images, links only to http(s) URLs.

Streamlit's st.markdown does not render raw HTML unless `unsafe_allow_html=True` (never used here), but we
still neutralise `<` and Markdown images so that nothing in an answer or a document can load a remote resource
or look like markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

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


def safe_answer_markdown(markdown: str) -> str:
    """An answer's Markdown as rendered: images removed, HTML brackets shown as text, no LaTeX, and headings
    shown as bold lines (calmer inside a chat bubble)."""
    text = _HEADING.sub(r"**\1**", strip_images(markdown))
    text = text.replace("<", "&lt;")  # without '<' no HTML tag can start; '>' stays for block quotes
    # '$' would start LaTeX math in Streamlit's Markdown.
    return text.replace("$", "\\$")


_SOURCES_HEADING = re.compile(r"^#{1,6}[ \t]*Bronnen[ \t]*:?[ \t]*$", re.MULTILINE)


def answer_body(markdown: str) -> str:
    """The answer without its own trailing "Bronnen" section (the UI and the export list the sources themselves)."""
    heading = None
    for heading in _SOURCES_HEADING.finditer(markdown):
        pass
    return markdown[: heading.start()].rstrip() if heading else markdown


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


def stream_without_images(pieces: Iterable[str]) -> Iterator[str]:
    """Pass streamed text through `safe_answer_markdown`, holding back a possibly unfinished image or tag."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        cut = _safe_cut(buffer)
        if cut:
            yield safe_answer_markdown(buffer[:cut])
            buffer = buffer[cut:]
    if buffer:
        yield safe_answer_markdown(buffer)


def _safe_cut(buffer: str) -> int:
    """Length of the prefix of `buffer` that contains no unfinished image syntax."""
    start = buffer.rfind("!")
    if start == -1:
        return len(buffer)
    tail = buffer[start:]
    if tail == "!" or tail.startswith("!["):
        complete = _IMAGE.match(tail)
        if complete is None and "\n" not in tail:
            return start  # may still become an image: hold it back
    return len(buffer)


def safe_url(url: str) -> str | None:
    """The URL for a Markdown link, or None when it is not plain http(s)."""
    url = url.strip()
    if not re.match(r"https?://[^\s<>\"]+$", url, re.IGNORECASE):
        return None
    return url.replace("(", "%28").replace(")", "%29")


def domain(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    return host.removeprefix("www.")


def markdown_link(title: str, url: str) -> str:
    """`[title](url)` with the title escaped; a non-http(s) URL gives the escaped title without a link."""
    target = safe_url(url)
    label = escape_markdown(title)
    return f"[{label}]({target})" if target else label
