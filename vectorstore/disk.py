"""Full (or read-only) disks: recognise them, say so in Dutch, and let readers keep serving.

What embedded Chroma (chromadb 1.5, Rust core) does on a full disk, measured on a filled tmpfs:
- Opening a PersistentClient writes: every open runs `INSERT INTO acquire_write ...` (rust/sqlite/src/db.rs,
  `initialize_migrations_table`), which needs a rollback journal next to chroma.sqlite3. On a full volume the
  open fails with "(code: 13) database or disk is full"; on a read-only one with "(code: 8) attempt to write
  a readonly database". A client opened before the disk filled keeps answering `get` and `query`.
- A write that runs out of space halfway fails with "Error in compaction: Failed to apply logs to the
  metadata segment", which does not mention the disk at all; SQLite rolls back, so the free space measured
  afterwards is often a few hundred kB, not 0.
So a reader that cannot open the store on a full disk opens a copy on another volume (`read_only_copy`), and a
failed write is called "schijf vol" when the error says so or the volume is (nearly) out of space.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
import tempfile
import weakref
from pathlib import Path
from urllib.parse import quote

from vectorstore.base import StoreError

# A write that failed while less than this was free is reported as a full disk (the failed write's own
# journal was rolled back, so the space it ran out of is free again when we look).
LOW_SPACE = 32 << 20
_FULL_MARKERS = ("database or disk is full", "no space left on device", "os error 28", "(code: 13)",
                 "disk quota exceeded", "os error 122")
_READ_ONLY_MARKERS = ("readonly database", "read-only file system", "os error 30", "(code: 8)")
_COPY_PLACES = (tempfile.gettempdir(), "/dev/shm")


def free_bytes(path: Path) -> int | None:
    """Free space (for this user) on the volume that holds `path`, or the nearest existing parent."""
    for p in (path, *path.parents):
        with contextlib.suppress(OSError):
            if p.exists():
                return shutil.disk_usage(p).free
    return None


def size_text(n: int | None) -> str:
    """Bytes for people, Dutch style: 0 B, 512 kB, 3,4 MB."""
    if n is None:
        return "onbekend"
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".", ",").replace(",0 ", " ")
    return f"{n} B"


def looks_read_only(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno == errno.EROFS) or any(
        m in str(exc).lower() for m in _READ_ONLY_MARKERS)


def looks_full(exc: BaseException, path: Path | None = None) -> bool:
    """Did this failed write fail because the volume is full? The error says so, or (with `path`) the volume
    of `path` has less than LOW_SPACE free (Chroma's errors from halfway a write do not mention the disk)."""
    if says_full(exc):
        return True
    free = free_bytes(path) if path is not None else None
    return free is not None and free < LOW_SPACE


def says_full(exc: BaseException) -> bool:
    """The error itself says the disk is full (ENOSPC, EDQUOT, SQLite's SQLITE_FULL)."""
    return (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
        m in str(exc).lower() for m in _FULL_MARKERS)


def full_message(path: Path, need: int | None = None) -> str:
    """Dutch: the volume of `path` is full, and the fix (free space; the index itself is fine)."""
    free = free_bytes(path)
    needed = f", nodig is ongeveer {size_text(need)}" if need else ""
    return (f"Schijf vol: op het volume van {path} is nog {size_text(free)} vrij{needed}. Maak ruimte vrij op dat "
            "volume en probeer het opnieuw. De index zelf is in orde: verwijder die niet.")


class DiskFull(StoreError):
    """A write failed (or would fail) because the volume is full; the message is Dutch and says what to do."""

    def __init__(self, path: Path, need: int | None = None, cause: BaseException | None = None,
                 extra: str = "") -> None:
        self.path, self.cause = path, cause
        # Chroma's own words only when they do not say "full" themselves (we concluded it from the free space)
        detail = f" (melding van Chroma: {cause})" if cause is not None and not says_full(cause) else ""
        super().__init__(full_message(path, need) + detail + extra)


class ReadOnlyStore(StoreError):
    """A write to a store that is served from its read-only copy (the disk was full when it was opened)."""


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy via SQLite's backup API (a shared lock, no writes to the source)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{quote(str(src))}?mode=ro", uri=True)) as s, \
                contextlib.closing(sqlite3.connect(dst)) as d:
            s.backup(d)
    except sqlite3.Error:  # e.g. a hot journal that only a writer may roll back: copy the files as they are
        dst.unlink(missing_ok=True)
        shutil.copy2(src, dst)
        journal = src.with_name(src.name + "-journal")
        if journal.exists():
            shutil.copy2(journal, dst.with_name(dst.name + "-journal"))


def read_only_copy(src: Path, owner: object) -> Path:
    """Copy the Chroma directory `src` to a fresh temp dir on a volume with room; removed when `owner` goes
    (or at exit). Raises DiskFull when no volume has room for it."""
    need = _dir_size(src) * 6 // 5 + (8 << 20)
    for place in _COPY_PLACES:
        base = Path(place)
        if not base.is_dir() or (free_bytes(base) or 0) < need:
            continue
        target = Path(tempfile.mkdtemp(prefix="praktijkkaart-alleen-lezen-", dir=base))
        weakref.finalize(owner, shutil.rmtree, target, True)
        try:
            for item in src.iterdir():
                if item.is_dir():
                    shutil.copytree(item, target / item.name)
                elif item.name == "chroma.sqlite3":
                    _copy_sqlite(item, target / item.name)
            return target
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
    raise DiskFull(src, extra=f" Ook op {' en '.join(_COPY_PLACES)} is geen ruimte voor een alleen-lezen kopie "
                              f"(ongeveer {size_text(need)}), dus er kan nu niets worden gelezen.")
