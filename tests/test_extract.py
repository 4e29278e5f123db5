"""Content sniffing and text extraction (HTML via trafilatura, PDF via pypdf in a limited subprocess)."""

from __future__ import annotations

import pytest
from fixtures.resource_pages import corrupt_pdf, note_html, note_pdf, read_note

from ingest.extract import ExtractionError, extract, extract_html, extract_pdf, sniff_kind

PDF_LIMITS = {"timeout_s": 20.0, "memory_mb": 512}


@pytest.fixture(scope="module")
def note():
    return read_note("24-pharos-infosheet-welbevinden")


@pytest.mark.parametrize(("data", "declared", "kind"), [
    (b"%PDF-1.7\n...", "text/html; charset=utf-8", "pdf"),  # a PDF behind text/html is still a PDF
    (b"\r\n  %PDF-1.4\n", "application/octet-stream", "pdf"),
    (b"<!DOCTYPE html><html><body>x</body></html>", "application/pdf", "html"),  # the bytes win
    (b"<p>Het bestand begint met %PDF- maar is een webpagina</p>", "text/html", "html"),
    (b"Gewone tekst.", "text/plain", "text"),
    (b"PK\x03\x04 docx", "text/html", "other"),
    (b"\x00\x01\x02binary", None, "other"),
])
def test_sniff_kind_trusts_the_bytes(data: bytes, declared: str | None, kind: str) -> None:
    assert sniff_kind(data, declared) == kind


def test_html_main_text_keeps_headings_and_drops_site_chrome(note) -> None:
    out = extract_html(note_html(note, "Welbevinden op school"), **PDF_LIMITS)
    assert out.extractor.startswith("trafilatura ")
    assert "## Onderdeel 1" in out.text and "## Onderdeel 2" in out.text
    assert note.bullets[0][:60] in out.text
    for chrome in ("cookies", "Postbus", "Privacyverklaring"):
        assert chrome not in out.text


def test_pdf_text_keeps_page_boundaries(note) -> None:
    out = extract_pdf(note_pdf(note, "Welbevinden op school", bullets_per_page=2), **PDF_LIMITS)
    assert out.extractor.startswith("pypdf ")
    pages = (len(note.bullets) + 1) // 2
    for n in range(1, pages + 1):
        assert f"## Pagina {n}\n" in out.text
    assert f"## Pagina {pages + 1}" not in out.text
    # Text of the second bullet is on page 1, the third on page 2.
    page2_at = out.text.index("## Pagina 2")
    assert out.text.index(" ".join(note.bullets[2].split()[:4])) > page2_at


def test_encrypted_pdf_is_a_clear_error(note) -> None:
    with pytest.raises(ExtractionError, match="versleuteld"):
        extract_pdf(note_pdf(note, "Geheim", password="geheim"), **PDF_LIMITS)


def test_pdf_with_owner_password_only_is_read(note) -> None:
    # Many published PDFs are "encrypted" with an empty user password: those open without one.
    data = note_pdf(note, "Open", password="")
    assert b"/Encrypt" in data
    out = extract_pdf(data, **PDF_LIMITS)
    assert note.bullets[0].split()[1] in out.text


def test_corrupt_pdf_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match=r"beschadigd|geen tekst"):
        extract_pdf(corrupt_pdf(), **PDF_LIMITS)


def test_pdf_worker_time_limit_kills_the_child(note) -> None:
    with pytest.raises(ExtractionError, match="duurde langer"):
        extract_pdf(note_pdf(note, "Traag"), timeout_s=0.01, memory_mb=512)


def test_pdf_worker_memory_cap_ends_in_an_error_not_a_crash(note) -> None:
    # 20 MB of address space is too little to even import pypdf: the child fails, the parent reports it.
    with pytest.raises(ExtractionError, match=r"mislukt|geheugen"):
        extract_pdf(note_pdf(note, "Groot"), timeout_s=20.0, memory_mb=20)


def test_extract_dispatches_and_refuses_unknown_kinds(note) -> None:
    assert "Onderdeel 1" in extract(note_html(note, "T"), "html", pdf_timeout_s=20, pdf_memory_mb=512).text
    assert extract("Regel één.\r\n\r\n\r\nRegel twee.".encode(), "text", pdf_timeout_s=20,
                   pdf_memory_mb=512).text == "Regel één.\n\nRegel twee.\n"
    with pytest.raises(ExtractionError, match="onbekend bestandstype"):
        extract(b"PK\x03\x04", "other", pdf_timeout_s=20, pdf_memory_mb=512)
