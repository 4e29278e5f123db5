"""Export a conversation as a Word meeting note (python-docx): title, date, each question, each answer and its
numbered sources as real hyperlinks, with the place on the card each source comes from.

Only corpus links (corpus/links.yaml) become hyperlinks. The answer text goes through the same filter as the
chat (`corpus.safe_text.safe_markdown`), so a link, autolink or bare URL to anywhere else is inert text before
the Word document is built; every hyperlink is checked against the allowed set once more when it is written.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from docx import Document
from docx.document import Document as DocxDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from assistant.types import Answer, Citation, Passage
from corpus.safe_text import safe_markdown
from ui.export import DEAD_LINK_NOTE
from ui.render import answer_body, corpus_hrefs, domain, safe_url, strip_images

TITLE = "Gesprek met de praktijkkaart-assistent"
INTRO = ("De antwoorden zijn samengevat uit de NPO-praktijkkaart Welbevinden en gelijke kansen; ze zijn geen "
         "advies over een individuele leerling.")
LLM_NOTE = "Geformuleerd door een taalmodel op basis van de praktijkkaart; controleer de bronnen."
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
LINK_COLOR = "0563C1"  # Word's own hyperlink blue

_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$")
_BOLD_LINE = re.compile(r"^\*\*(.+)\*\*:?$")
_BULLET = re.compile(r"^[ \t]*[-*+•][ \t]+(.*)$")
_NUMBERED = re.compile(r"^[ \t]*(\d+[.)])[ \t]+(.*)$")
_QUOTE = re.compile(r"^[ \t]*>[ \t]?(.*)$")
_INLINE = re.compile(
    r"\\(?P<esc>[^\n])"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|\[(?P<text>(?:[^\[\]\\\n]|\\.)*)\]\((?P<dest>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)"
    r"|<(?P<auto>https?://[^<>\s]+)>"
    r"|(?P<url>https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]])"
    r"|(?P<entity>&(?:lt|gt|amp);)",
    re.IGNORECASE)
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
# Characters XML 1.0 cannot carry (lxml refuses them): a pasted question or a model's answer may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def dutch_date(moment: datetime) -> str:
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def _is_allowed(href: str, allowed: frozenset[str]) -> bool:
    return href in allowed or href.replace("%28", "(").replace("%29", ")") in allowed


def add_hyperlink(paragraph: Paragraph, text: str, url: str) -> None:
    """A real w:hyperlink: an external relationship of the document part, the text blue and underlined."""
    r_id = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), LINK_COLOR)
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.append(color)
    props.append(underline)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def _paragraph(doc: DocxDocument, style_id: str | None = None, text: str = "") -> Paragraph:
    """A paragraph with its style set by id: python-docx's lookup by style name scans every style of the
    template each time (a 12-answer conversation took 1.05 s, most of it there)."""
    paragraph = doc.add_paragraph(text)
    if style_id:
        paragraph._p.style = style_id
    return paragraph


def _unescape(text: str) -> str:
    return re.sub(r"\\([^\n])", r"\1", text)


def add_inline(paragraph: Paragraph, markdown: str, allowed: frozenset[str], *, bold: bool = False) -> None:
    """One line of (already sanitised) Markdown as runs: bold, allowed links as hyperlinks, the rest text."""
    pos = 0
    for m in _INLINE.finditer(markdown):
        if m.start() > pos:
            paragraph.add_run(markdown[pos:m.start()]).bold = bold or None
        pos = m.end()
        if m.group("esc") is not None:
            paragraph.add_run(m.group("esc")).bold = bold or None
        elif m.group("bold") is not None:
            add_inline(paragraph, m.group("bold"), allowed, bold=True)
        elif m.group("text") is not None:
            text, dest = _unescape(m.group("text")), m.group("dest")
            if _is_allowed(dest, allowed):
                add_hyperlink(paragraph, text, dest)
            else:
                paragraph.add_run(text).bold = bold or None
        elif m.group("auto") is not None or m.group("url") is not None:
            url = m.group("auto") or m.group("url")
            if _is_allowed(url, allowed):
                add_hyperlink(paragraph, url, url)
            else:
                paragraph.add_run(url).bold = bold or None
        else:
            paragraph.add_run(_ENTITIES[m.group("entity").lower()]).bold = bold or None
    if pos < len(markdown):
        paragraph.add_run(markdown[pos:]).bold = bold or None


def add_markdown(doc: DocxDocument, markdown: str, allowed: frozenset[str]) -> None:
    """An answer's Markdown as Word structure: headings, bullets, numbered lines, quotes and paragraphs."""
    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            continue
        if heading := (_HEADING.match(line) or _BOLD_LINE.match(line)):
            paragraph = _paragraph(doc, "Heading3")
            add_inline(paragraph, heading.group(1).rstrip(":"), allowed)
        elif bullet := _BULLET.match(raw):
            add_inline(_paragraph(doc, "ListBullet"), bullet.group(1), allowed)
        elif numbered := _NUMBERED.match(raw):
            # The number stays text: Word's auto-numbering would continue across answers.
            add_inline(_paragraph(doc, "ListParagraph", f"{numbered.group(1)} "), numbered.group(2), allowed)
        elif quote := _QUOTE.match(raw):
            add_inline(_paragraph(doc, "Quote"), quote.group(1), allowed)
        else:
            add_inline(_paragraph(doc), line, allowed)


def _location(answer: Answer, citation: Citation) -> str | None:
    passage: Passage | None = next((p for p in answer.passages if p.id == citation.passage_id), None)
    return passage.location if passage else None


def _add_sources(doc: DocxDocument, answer: Answer, allowed: frozenset[str]) -> None:
    if not answer.citations:
        return
    _paragraph(doc, "Heading2", "Bronnen")
    for c in sorted(answer.citations, key=lambda c: c.n):
        paragraph = _paragraph(doc, None, f"[{c.n}] ")
        if _is_allowed(c.url.strip(), allowed):
            add_hyperlink(paragraph, c.title, c.url.strip())
        else:
            paragraph.add_run(c.title)
        host = domain(c.url) if safe_url(c.url) else ""  # a javascript: or data: "domain" is not worth showing
        if host and host not in c.title:
            paragraph.add_run(f" ({host})")
        location = _location(answer, c)
        if location:
            paragraph.add_run(f" — uit {location}")
        if c.dead:
            paragraph.add_run(f" ({DEAD_LINK_NOTE})").italic = True


def _add_locations(doc: DocxDocument, answer: Answer) -> None:
    """Without numbered sources, still say where on the card the answer comes from."""
    if answer.citations or not answer.in_scope:
        return
    locations = list(dict.fromkeys(p.location for p in answer.passages))
    if locations:
        _paragraph(doc, "Heading2", "Uit de praktijkkaart")
        for location in locations:
            _paragraph(doc, "ListBullet", location)


def _xml(text: str | None) -> str | None:
    return _NOT_XML.sub("", text) if text else text


def _xml_safe(answer: Answer) -> Answer:
    """The answer with every text that reaches the document stripped of characters XML cannot carry."""
    return replace(
        answer, question=_xml(answer.question) or "", answer=_xml(answer.answer) or "", notice=_xml(answer.notice),
        followup_of=_xml(answer.followup_of),
        citations=[replace(c, title=_xml(c.title) or "", url=_xml(c.url) or "") for c in answer.citations],
        passages=[replace(p, theme_title=_xml(p.theme_title) or "", heading=_xml(p.heading) or "",
                          source_title=_xml(p.source_title), source_url=_xml(p.source_url)) for p in answer.passages],
    )


def _add_answer(doc: DocxDocument, i: int, answer: Answer, allowed: frozenset[str]) -> None:
    _paragraph(doc, "Heading1", f"Vraag {i}")
    _paragraph(doc, "Quote", answer.question)
    if answer.followup_of:
        doc.add_paragraph(f"Gelezen als vervolg op: „{answer.followup_of}”").runs[0].italic = True
    _paragraph(doc, "Heading2", "Antwoord")
    if answer.notice:
        doc.add_paragraph(answer.notice).runs[0].italic = True
    body = safe_markdown(strip_images(answer_body(answer.answer)), allowed)
    add_markdown(doc, body, allowed)
    if answer.generator == "llm" and answer.in_scope:
        doc.add_paragraph(LLM_NOTE).runs[0].italic = True
    _add_sources(doc, answer, allowed)
    _add_locations(doc, answer)


def _dutch_language(doc: DocxDocument) -> None:
    """Spelling check and screen readers read the note as Dutch (the template's default language is en-US)."""
    langs = doc.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang")
    if langs:
        langs[0].set(qn("w:val"), "nl-NL")
    else:
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), "nl-NL")
        doc.styles["Normal"].element.get_or_add_rPr().append(lang)
    doc.core_properties.language = "nl-NL"


def conversation_to_docx(answers: Sequence[Answer], *, now: datetime | None = None,
                         allowed_hrefs: Collection[str] | None = None) -> bytes:
    """The conversation as a Word document (.docx bytes), oldest question first.

    Only links to `allowed_hrefs` (default: the corpus links) become hyperlinks."""
    allowed = frozenset(corpus_hrefs() if allowed_hrefs is None else allowed_hrefs)
    moment = now or datetime.now()
    doc = Document()
    _dutch_language(doc)
    doc.core_properties.title = TITLE
    _paragraph(doc, "Title", TITLE)
    doc.add_paragraph(f"Verslag van {dutch_date(moment)}. {INTRO}")
    if not answers:
        doc.add_paragraph("Er zijn in dit gesprek nog geen vragen gesteld.").runs[0].italic = True
    for i, answer in enumerate(answers, start=1):
        _add_answer(doc, i, _xml_safe(answer), allowed)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_filename(now: datetime | None = None) -> str:
    return f"gesprek-praktijkkaart-{(now or datetime.now()):%Y-%m-%d-%H%M}.docx"
