"""Validation of an LLM answer against its sources: every sentence cited and supported, Dutch, no URL,
no image, no instruction taken over; the text and citations that survive."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from assistant.grounding import (
    IMAGE_RE,
    SUPPORT_THRESHOLD,
    check_answer,
    citation_markers,
    split_sentences,
    support_score,
)
from assistant.llm_prompt import _INJECTION_RE, Sources
from assistant.text import is_dutch
from assistant.types import Answer, Citation
from assistant.urls import extract_urls

log = logging.getLogger(__name__)

MAX_MODEL_WORDS = 400  # the prompt asks for ~250 words; far beyond that is a failure to follow it


# Instruction-like sentences in sources are masked before the prompt (and before validation).
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.IGNORECASE | re.DOTALL)
_BRON_MARKER_RE = re.compile(r"\[\s*bron\s+(\d+)\s*\]", re.IGNORECASE)
_MARKER_RUN_RE = re.compile(r"(?:[ \t]*\[\d+(?:\s*,\s*\d+)*\](?!\())+")
_SOURCES_HEADING_RE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*(?:bronnen|bron|links|sources)"
    r"[ \t]*:?[ \t]*(?:\*\*|__)?[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


# --- validation ------------------------------------------------------------------------------------


@dataclass
class Validation:
    text: str  # the final Markdown (model text with markers mapped, plus the Bronnen list)
    citations: list[Citation]
    problems: list[str]
    min_support: float | None


def _unthink(raw: str) -> str:
    """Without <think> blocks (reasoning models) and with '[bron 3]' written as '[3]'."""
    return _BRON_MARKER_RE.sub(r"[\1]", _THINK_RE.sub("", raw))


def _strip_sources_list(text: str) -> str:
    m = _SOURCES_HEADING_RE.search(text)
    if m and m.start() > 0:  # a sources list of its own: ours replaces it (its URLs were checked on raw)
        text = text[: m.start()]
    return text.strip()


def _map_markers(text: str, sources: Sources) -> tuple[str, list[int]]:
    used: list[int] = []

    def repl(m: re.Match[str]) -> str:
        nums: list[int] = []
        for n in citation_markers(m.group(0)):
            src = sources.by_number.get(n)
            for c in src.cites if src else ():
                if c not in nums:
                    nums.append(c)
        used.extend(n for n in nums if n not in used)
        if not nums:
            return ""
        lead = " " if m.group(0)[:1] in (" ", "\t") else ""
        return lead + "".join(f"[{n}]" for n in nums)

    return _MARKER_RUN_RE.sub(repl, text), used


def _sources_list(citations: list[Citation]) -> str:
    lines = ["### Bronnen"]
    for c in citations:
        dead = " (deze link werkte niet bij de laatste controle)" if c.dead else ""
        lines.append(f"[{c.n}] {c.title} — {c.url}{dead}")
    return "\n".join(lines)


def validate(raw: str, sources: Sources, extractive: Answer) -> Validation:
    """Check the model's text against the sources; build the final text and citations."""
    problems: list[str] = []
    text = _unthink(raw)
    problems += [f"URL in het antwoord: {u}" for u in extract_urls(text)]
    problems += [f"afbeelding in het antwoord: {i}" for i in IMAGE_RE.findall(text)]
    text = _strip_sources_list(text)
    if not text:
        return Validation("", [], ["leeg antwoord"], None)
    unknown = sorted({n for n in citation_markers(text) if n not in sources.by_number})
    problems += [f"onbekende bron [{n}]" for n in unknown]
    if _INJECTION_RE.search(text):
        problems.append("het antwoord neemt een instructie over")
    n_words = len(_MARKER_RUN_RE.sub(" ", text).split())
    if n_words > MAX_MODEL_WORDS:
        problems.append(f"te lang ({n_words} woorden)")
    if not is_dutch(text):
        problems.append("het antwoord is niet in het Nederlands")

    threshold = SUPPORT_THRESHOLD
    scores: list[float] = []
    claims = split_sentences(text)
    if not claims:
        problems.append("het antwoord bevat geen inhoudelijke zin")
    for s in claims:
        cited = [sources.by_number[n] for n in s.citations if n in sources.by_number]
        if not s.citations:
            problems.append(f"zin zonder bronvermelding: {s.text}")
            continue
        if not cited:
            problems.append(f"zin met alleen onbekende bronnen: {s.text}")
            continue
        score = max(support_score(s.text, src.text) for src in cited)
        scores.append(score)
        if score < threshold:
            problems.append(f"zin niet gesteund door bron {list(s.citations)} (score {score:.2f} < "
                            f"{threshold:.2f}): {s.text}")

    body, used = _map_markers(text, sources)
    citations = [sources.citations[n] for n in sorted(used)]
    final = body + ("\n\n" + _sources_list(citations) if citations else "")
    # The folded rest of the theme stays the card's own text, with its own numbers and sources.
    citations += [c for c in extractive.citations if c.folded and c.n not in used]
    if not problems:  # second gate: the eval's own check of the assembled answer
        report = check_answer(replace(extractive, answer=final, citations=citations, generator="llm"),
                              [c.url for c in extractive.citations], method="lexical")
        problems += [f"controle: {p}" for p in report.problems()]
    return Validation(final, citations, problems, min(scores) if scores else None)
