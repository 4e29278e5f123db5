"""Snapshot store for linked resources: raw bytes, extracted text and a manifest per link.

Layout (see corpus/resources/README.md)::

    <resources_dir>/<link-id>/manifest.json   what was fetched, when, and the last check's outcome
    <resources_dir>/<link-id>/content.<ext>   raw bytes of the last good fetch (.html, .pdf, .txt, .bin)
    <resources_dir>/<link-id>/text.md         extracted text with section / page headings

Every write is atomic (temp file + os.replace) and the manifest is written last, so a crash
mid-way leaves the previous snapshot intact. A failed check only updates the manifest: the last
good content and text are never removed because a site was down.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
TEXT = "text.md"
CONTENT_EXT = {"html": "html", "pdf": "pdf", "text": "txt", "other": "bin"}


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and os.replace, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Manifest:
    link_id: str
    url: str  # the link as printed in the card (links.yaml)
    final_url: str | None = None  # after redirects, of the stored content
    status: int | None = None  # HTTP status of the last check (None: no response at all)
    content_type: str | None = None  # Content-Type header of the stored content
    kind: str | None = None  # sniffed from the bytes: html, pdf, text, other
    content_file: str | None = None  # file name of the stored raw bytes
    sha256: str | None = None  # of the stored raw bytes
    size: int | None = None
    fetched_at: str | None = None  # when the stored content was fetched
    etag: str | None = None
    last_modified: str | None = None
    extractor: str | None = None  # e.g. "trafilatura 2.3.1", "pypdf 7.1.1"
    error: str | None = None  # Dutch description of the last check's failure; None when it succeeded
    last_checked_at: str | None = None
    last_ok_at: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Manifest:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass(frozen=True)
class SnapshotStore:
    root: Path

    def dir(self, link_id: str) -> Path:
        if not link_id or "/" in link_id or link_id.startswith("."):
            raise ValueError(f"invalid link id {link_id!r}")
        return self.root / link_id

    def manifest(self, link_id: str) -> Manifest | None:
        path = self.dir(link_id) / MANIFEST
        try:
            return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def text(self, link_id: str) -> str | None:
        """Extracted text of the stored snapshot, or None when there is none."""
        m = self.manifest(link_id)
        if m is None or m.content_file is None:
            return None
        try:
            text = (self.dir(link_id) / TEXT).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return text if text.strip() else None

    def has_content(self, link_id: str) -> bool:
        m = self.manifest(link_id)
        return m is not None and m.content_file is not None and (self.dir(link_id) / m.content_file).exists()

    def _write_manifest(self, m: Manifest) -> None:
        data = json.dumps(asdict(m), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        atomic_write(self.dir(m.link_id) / MANIFEST, data.encode("utf-8"))

    def save(self, *, link_id: str, url: str, final_url: str, status: int, content_type: str | None, kind: str,
             raw: bytes, text: str, extractor: str, etag: str | None, last_modified: str | None) -> Manifest:
        """Store a good fetch. Unchanged bytes keep their files; only the manifest's dates move."""
        now = now_iso()
        old = self.manifest(link_id)
        digest = sha256(raw)
        content_file = f"content.{CONTENT_EXT.get(kind, 'bin')}"
        d = self.dir(link_id)
        unchanged = (old is not None and old.sha256 == digest and old.content_file == content_file
                     and (d / content_file).exists() and (d / TEXT).exists())
        if not unchanged:
            atomic_write(d / content_file, raw)
            atomic_write(d / TEXT, text.encode("utf-8"))
        m = Manifest(
            link_id=link_id, url=url, final_url=final_url, status=status, content_type=content_type, kind=kind,
            content_file=content_file, sha256=digest, size=len(raw),
            fetched_at=old.fetched_at if unchanged and old else now,
            etag=etag, last_modified=last_modified, extractor=extractor, error=None,
            last_checked_at=now, last_ok_at=now,
        )
        self._write_manifest(m)
        if old is not None and old.content_file and old.content_file != content_file:
            (d / old.content_file).unlink(missing_ok=True)
        return m

    def record_not_modified(self, link_id: str, url: str, status: int = 304) -> Manifest:
        """A 304 (or equivalent): the snapshot stays, the check counts as good."""
        now = now_iso()
        old = self.manifest(link_id) or Manifest(link_id=link_id, url=url)
        m = replace(old, url=url, status=status, error=None, last_checked_at=now, last_ok_at=now)
        self._write_manifest(m)
        return m

    def record_error(self, link_id: str, url: str, error: str, status: int | None = None) -> Manifest:
        """A failed check: keep the stored content and text, note the error in the manifest."""
        old = self.manifest(link_id) or Manifest(link_id=link_id, url=url)
        m = replace(old, url=url, status=status, error=error, last_checked_at=now_iso())
        self._write_manifest(m)
        return m
