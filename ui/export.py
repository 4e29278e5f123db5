"""Export a conversation as Markdown for a team meeting: the questions, the answers and their sources."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from assistant.types import Answer
from corpus.safe_text import safe_markdown
from ui.render import answer_body, domain, escape_markdown, markdown_link, safe_url, strip_images

DEAD_LINK_NOTE = "link werkte bij de laatste controle niet"


def _sources(answer: Answer) -> list[str]:
    lines: list[str] = []
    for c in sorted(answer.citations, key=lambda c: c.n):
        line = f"{c.n}. {markdown_link(c.title, c.url)} ({escape_markdown(domain(c.url))}) — <{c.url}>"
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
        out += [f"## Vraag {i}", "", "> " + escape_markdown(answer.question).replace("\n", "\n> "), ""]
        out += ["**Antwoord**", "", strip_images(answer_body(answer.answer)).strip(), ""]
        if answer.notice:
            out += [f"*{escape_markdown(answer.notice)}*", ""]
        sources = _sources(answer)
        if sources:
            out += ["**Bronnen**", "", *sources, ""]
        locations = _locations(answer) if answer.in_scope else []
        if locations:
            out += ["**Uit de praktijkkaart**", "", *[f"- {escape_markdown(loc)}" for loc in locations], ""]
    if allowed_hrefs is None:
        allowed_hrefs = {c.url for a in answers for c in a.citations if safe_url(c.url) == c.url}
    return safe_markdown("\n".join(out), allowed_hrefs).rstrip() + "\n"


def export_filename(now: datetime | None = None) -> str:
    return f"gesprek-praktijkkaart-{(now or datetime.now()):%Y-%m-%d-%H%M}.md"
