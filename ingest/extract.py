"""Content sniffing and text extraction for fetched resources.

HTML: main text via trafilatura, as markdown so headings (section boundaries) survive.
PDF: pypdf; the text keeps one '## Pagina N' heading per page.
Both run in a separate process with a time limit and an address-space cap, because a hostile or
huge page or PDF can make a parser loop or allocate without bound (a 15 MB HTML table took
trafilatura 35 s and 1.8 GB in-process). Run as ``python -m ingest.extract --worker html|pdf``
that process reads the bytes on stdin and writes JSON on stdout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REPO_ROOT = Path(__file__).resolve().parent.parent
_PDF_HEAD_WINDOW = 1024  # the PDF header may appear anywhere in the first 1024 bytes
_LABELS = {"html": "html-extractie", "pdf": "pdf-extractie"}  # worker kinds, as named in Dutch errors
MAX_TEXT_CHARS = 5_000_000  # more extracted text is refused: the parent reads the worker's output whole
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<article", b"<p>", b"<div")


class ExtractionError(Exception):
    """The content could not be turned into text; the message is Dutch and shown to users."""


@dataclass(frozen=True)
class Extracted:
    text: str  # markdown: '#'-headings mark sections or pages, blank lines separate paragraphs
    extractor: str  # tool and version, recorded in the manifest


def sniff_kind(data: bytes, content_type: str | None) -> str:
    """'pdf', 'html', 'text' or 'other', from the bytes first and the declared type second."""
    head = data[:_PDF_HEAD_WINDOW]
    at = head.find(b"%PDF-")
    if at != -1 and b"<" not in head[:at]:  # a PDF header, not a web page that mentions one
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "other"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(marker in lowered for marker in _HTML_MARKERS):
        return "html"
    declared = (content_type or "").split(";")[0].strip().lower()
    if b"\x00" in head:
        return "other"
    if declared in ("text/html", "application/xhtml+xml"):
        return "html"
    if declared.startswith("text/") or not declared:
        return "text"
    return "other"


def extract(data: bytes, kind: str, *, pdf_timeout_s: float, pdf_memory_mb: int) -> Extracted:
    """Text of fetched bytes of the given kind; raises ExtractionError with a Dutch message."""
    if kind == "html":  # the PDF limits bound every extraction worker (settings have no HTML ones yet)
        return extract_html(data, timeout_s=pdf_timeout_s, memory_mb=pdf_memory_mb)
    if kind == "pdf":
        return extract_pdf(data, timeout_s=pdf_timeout_s, memory_mb=pdf_memory_mb)
    if kind == "text":
        text = _normalise(data.decode("utf-8", errors="replace"))
        if not text:
            raise ExtractionError("lege tekst")
        return Extracted(text=text + "\n", extractor="plain")
    raise ExtractionError("onbekend bestandstype: geen tekst uit te halen")


def extract_html(data: bytes, *, timeout_s: float, memory_mb: int) -> Extracted:
    """Main text of a web page, by trafilatura in a limited child process."""
    result = _run_worker("html", data, timeout_s=timeout_s, memory_mb=memory_mb)
    text = _normalise(result["text"])
    if not text:
        raise ExtractionError("geen leesbare hoofdtekst gevonden op de pagina")
    return Extracted(text=text + "\n", extractor=f"trafilatura {result['version']}")


def extract_pdf(data: bytes, *, timeout_s: float, memory_mb: int) -> Extracted:
    """Text of a PDF per page, by pypdf in a limited child process."""
    result = _run_worker("pdf", data, timeout_s=timeout_s, memory_mb=memory_mb)
    pages: list[str] = result["pages"]
    parts = [f"## Pagina {n}\n\n{_normalise(text)}" for n, text in enumerate(pages, start=1) if text.strip()]
    if not parts:
        raise ExtractionError("pdf bevat geen tekst (mogelijk alleen afbeeldingen)")
    return Extracted(text="\n\n".join(parts) + "\n", extractor=f"pypdf {result['version']}")


def _run_worker(kind: str, data: bytes, *, timeout_s: float, memory_mb: int) -> dict[str, Any]:
    """Run the worker for `kind` with a timeout and an address-space cap; its JSON, or ExtractionError."""
    label = _LABELS[kind]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ingest.extract", "--worker", kind, str(memory_mb), str(int(timeout_s) + 1)],
            input=data, capture_output=True, timeout=timeout_s, cwd=_REPO_ROOT, env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExtractionError(f"{label} duurde langer dan {timeout_s:g} s en is afgebroken") from None
    try:
        result = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # No JSON: the child died (memory cap hit, killed by a signal, interpreter error).
        raise ExtractionError(f"{label} mislukt (proces stopte met code {proc.returncode})") from None
    if "error" in result:
        raise ExtractionError(str(result["error"]))
    return dict(result)


def _normalise(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _worker(kind: str, memory_mb: int, cpu_s: int) -> int:
    """Child process: limit ourselves, extract from stdin, print the result or {"error": ...} as JSON."""
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    data = sys.stdin.buffer.read()
    try:
        out = _html_in_worker(data) if kind == "html" else _pdf_in_worker(data)
    except MemoryError:
        out = {"error": f"{_LABELS[kind]} gebruikte meer dan {memory_mb} MB geheugen en is afgebroken"}
    size = len(out.get("text", "")) + sum(len(page) for page in out.get("pages", []))
    if size > MAX_TEXT_CHARS:
        out = {"error": f"{_LABELS[kind]} leverde te veel tekst op (meer dan {MAX_TEXT_CHARS:,} tekens)"
                        .replace(",", ".")}
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    return 0


def _html_in_worker(data: bytes) -> dict[str, Any]:
    import trafilatura  # imported in the worker only: the parent never parses HTML itself

    options: dict[str, Any] = {
        "output_format": "markdown", "include_formatting": True, "include_tables": True, "include_links": False,
        "include_images": False, "include_comments": False, "with_metadata": False, "deduplicate": False,
    }
    try:
        text = trafilatura.extract(data, **options) or trafilatura.extract(data, favor_recall=True, **options)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means: unreadable page
        return {"error": f"webpagina is onleesbaar ({type(exc).__name__})"}
    return {"text": text or "", "version": trafilatura.__version__}


def _pdf_in_worker(data: bytes) -> dict[str, Any]:
    import io

    import pypdf
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "pdf is versleuteld met een wachtwoord"}
        return {"pages": [page.extract_text() or "" for page in reader.pages], "version": pypdf.__version__}
    except FileNotDecryptedError:
        return {"error": "pdf is versleuteld met een wachtwoord"}
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means: unreadable PDF
        return {"error": f"pdf is beschadigd of onleesbaar ({type(exc).__name__})"}


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--worker" and sys.argv[2] in _LABELS:
    raise SystemExit(_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
