"""Export a conversation as Markdown for a team meeting: the questions, the answers and their sources."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime

from assistant.types import Answer
from corpus.safe_text import safe_markdown
from ui.render import answer_body, domain, safe_url, strip_images

DEAD_LINK_NOTE = "link werkte bij de laatste controle niet"

# Characters that start markup anywhere in a line, and line starts that make a heading, list or quote. A full
# stop, a hyphen inside a word or a domain name stays as it is: the file is read by people, in any editor.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")
_BLOCK_START = re.compile(r"^([ \t]*)([#+=-])")  # heading, list item, setext underline
_NUMBERED = re.compile(r"^([ \t]*\d+)([.)])")  # "8. " would start a numbered list


def md_text(text: str) -> str:
    """Plain text shown literally in Markdown, escaping only what would otherwise become markup."""
    lines = []
    for line in text.split("\n"):
        line = _INLINE_SPECIAL.sub(r"\\\1", line)
        line = _NUMBERED.sub(r"\1\\\2", _BLOCK_START.sub(r"\1\\\2", line, count=1), count=1)
        lines.append(line)
    return "  \n".join(lines)


def _link(title: str, url: str) -> str:
    target = safe_url(url)
    return f"[{md_text(title)}]({target})" if target else md_text(title)


def _sources(answer: Answer) -> list[str]:
    lines: list[str] = []
    for c in sorted(answer.citations, key=lambda c: c.n):
        line = f"{c.n}. {_link(c.title, c.url)} ({md_text(domain(c.url))}) — <{c.url}>"
        if c.dead:
            line += f" ({DEAD_LINK_NOTE})"
        lines.append(line)
    return lines


def _locations(answer: Answer) -> list[str]:
    seen: list[str] = []
    for p in answer.cited_passages or answer.passages:
        if p.location not in seen:
            seen.append(p.location)
    return seen


def conversation_to_markdown(answers: Sequence[Answer], *, now: datetime | None = None,
                             allowed_hrefs: Collection[str] | None = None) -> str:
    """The conversation as one Markdown document (Dutch), oldest question first.

    Only links to `allowed_hrefs` stay clickable; by default those are the http(s) URLs the answers cite
    (citations are made from the card's own links only, never from fetched text)."""
    stamp = (now or datetime.now()).strftime("%d-%m-%Y %H:%M")
    out = [
        "# Gesprek met de praktijkkaart-assistent",
        "",
        f"Geëxporteerd op {stamp}. De antwoorden zijn samengevat uit de NPO-praktijkkaart "
        "*Welbevinden en gelijke kansen*; ze zijn geen advies over een individuele leerling.",
        "",
    ]
    if not answers:
        out += ["*Er zijn in dit gesprek nog geen vragen gesteld.*", ""]
    for i, answer in enumerate(answers, start=1):
        out += [f"## Vraag {i}", "", "> " + md_text(answer.question).replace("\n", "\n> "), ""]
        out += ["**Antwoord**", "", strip_images(answer_body(answer.answer)).strip(), ""]
        if answer.notice:
            out += [f"*{md_text(answer.notice)}*", ""]
        sources = _sources(answer)
        if sources:
            out += ["**Bronnen**", "", *sources, ""]
        locations = _locations(answer) if answer.in_scope else []
        if locations:
            out += ["**Uit de praktijkkaart**", "", *[f"- {md_text(loc)}" for loc in locations], ""]
    if allowed_hrefs is None:
        allowed_hrefs = {c.url for a in answers for c in a.citations if safe_url(c.url) == c.url}
    return safe_markdown("\n".join(out), allowed_hrefs).rstrip() + "\n"


def export_filename(now: datetime | None = None) -> str:
    return f"gesprek-praktijkkaart-{(now or datetime.now()):%Y-%m-%d-%H%M}.md"
