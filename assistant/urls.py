"""URLs in answer text: find them, compare them, and name every one that is not a corpus link.

The answer path (LLM validation, grounding check) and the evals use the same rules, so they live here,
below both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`|]+", re.IGNORECASE)
# Bare domains such as "pharos.nl/foo": caught too, so an invented source cannot slip through unschemed.
_BARE_DOMAIN_RE = re.compile(
    r"(?<![\w@.-])(?:[a-z0-9-]+\.)+(?:nl|com|org|net|eu|be|de|io|info|edu|gov|uk)\b(?:/[^\s<>()\[\]{}\"'`|]*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?*_'\""


def extract_urls(text: str) -> list[str]:
    """URLs in a text (scheme or www. URLs, and bare domains with a common TLD), in order."""
    found: list[str] = []
    for m in URL_RE.finditer(text):
        found.append(m.group(0).rstrip(_TRAILING))
    rest = URL_RE.sub(" ", text)
    for m in _BARE_DOMAIN_RE.finditer(rest):
        found.append(m.group(0).rstrip(_TRAILING))
    return [u for u in found if u]


def normalize_url(url: str) -> str:
    """Comparable form: no scheme, no 'www.', lower-case host, no trailing slash or punctuation."""
    u = url.strip().rstrip(_TRAILING)
    u = re.sub(r"^[a-z][a-z0-9+.-]*://", "", u, flags=re.IGNORECASE)
    host, sep, path = u.partition("/")
    host = host.lower().removeprefix("www.")
    return (host + sep + path).rstrip("/")


def foreign_urls(answer_text: str, citation_urls: Iterable[str], corpus_urls: Iterable[str]) -> list[str]:
    """Every URL in the answer text or its citations that is not one of the corpus links (a hard failure)."""
    known = {normalize_url(u) for u in corpus_urls}
    out: list[str] = []
    for url in [*extract_urls(answer_text), *citation_urls]:
        if normalize_url(url) not in known and url not in out:
            out.append(url)
    return out
