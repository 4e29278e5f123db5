"""Local feedback store: thumbs and an optional comment per answer, in SQLite under the data dir.

Nothing leaves the machine. A write that fails (a full disk, a read-only volume, a locked database) is an
error value, `FeedbackResult.problem` in Dutch for the user (`store_feedback`), never a lost answer or a crash. Questions, answers and comments are redacted (assistant.privacy) before they are
written (questions reach this store only after the assistant's personal-data policy has passed; an LLM answer could
still echo something). Deleted rows are overwritten (secure_delete), so `forget` leaves no readable remains.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from assistant.privacy import redact
from praktijkkaart.settings import Settings
from vectorstore.disk import looks_full, looks_read_only

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          TEXT PRIMARY KEY,      -- one row per answer (the UI's answer id)
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    passage_ids TEXT NOT NULL,         -- JSON list of cited passage ids
    thumbs      INTEGER,               -- 1 = thumbs up, 0 = thumbs down, NULL = comment only
    comment     TEXT,
    generator   TEXT,
    created_at  TEXT NOT NULL          -- ISO 8601, UTC
);
CREATE INDEX IF NOT EXISTS feedback_created_at ON feedback (created_at);
"""


@dataclass(frozen=True)
class FeedbackRecord:
    id: str
    question: str
    answer: str
    passage_ids: tuple[str, ...]
    thumbs: int | None
    comment: str | None
    generator: str | None
    created_at: datetime


@dataclass(frozen=True)
class FeedbackResult:
    saved: bool
    problem: str | None = None  # Dutch, for the user: why it was not saved (the answer itself stays)


class FeedbackWriteError(RuntimeError):
    """Saving (save_feedback) or deleting (forget_before) feedback failed; the message is Dutch and says why."""


def _problem(exc: BaseException) -> str:
    """Why feedback was not saved, for the user of the chat (Dutch)."""
    if looks_full(exc):
        return ("Schijf vol: je feedback kon niet worden opgeslagen. Het antwoord blijft gewoon staan; vraag de "
                "beheerder om ruimte vrij te maken op de computer van de assistent.")
    if looks_read_only(exc) or (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM)):
        return ("Je feedback kon niet worden opgeslagen: de map voor feedback is alleen-lezen. Het antwoord blijft "
                "gewoon staan; vraag de beheerder om die map schrijfbaar te maken.")
    return "Je feedback kon nu niet worden opgeslagen. Het antwoord blijft gewoon staan; probeer het later opnieuw."


def db_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "feedback.sqlite3"


@contextmanager
def _connect(settings: Settings) -> Iterator[sqlite3.Connection]:
    path = db_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.execute("PRAGMA secure_delete = ON")  # forgotten rows are zeroed, not left in free pages
        conn.executescript(_SCHEMA)
        with conn:  # commit on success, roll back on error
            yield conn
    finally:
        conn.close()


def store_feedback(
    settings: Settings,
    *,
    answer_id: str,
    question: str,
    answer: str,
    passage_ids: list[str] | tuple[str, ...],
    thumbs: int | None,
    comment: str | None = None,
    generator: str | None = None,
    now: datetime | None = None,
) -> FeedbackResult:
    """Insert or update the feedback for one answer (a later thumbs or comment replaces the earlier one).

    A `None` thumbs or comment keeps what was stored before, so thumbs and comment can arrive separately.
    A failed write is returned (`saved=False`, a Dutch `problem` the UI can show), not raised.
    """
    if thumbs not in (None, 0, 1):
        raise ValueError("thumbs must be 0, 1 or None")
    clean_comment = redact(comment.strip()) if comment and comment.strip() else None
    created = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    try:
        with _connect(settings) as conn:
            conn.execute(
                """
                INSERT INTO feedback (id, question, answer, passage_ids, thumbs, comment, generator, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    thumbs = COALESCE(excluded.thumbs, feedback.thumbs),
                    comment = COALESCE(excluded.comment, feedback.comment)
                """,
                (answer_id, redact(question), redact(answer), json.dumps(list(passage_ids)), thumbs, clean_comment,
                 generator, created),
            )
    except (OSError, sqlite3.Error) as exc:
        log.warning("feedback niet opgeslagen in %s: %s: %s", db_path(settings), type(exc).__name__, exc)
        return FeedbackResult(False, _problem(exc))
    return FeedbackResult(True)


def save_feedback(settings: Settings, *, answer_id: str, question: str, answer: str,
                  passage_ids: list[str] | tuple[str, ...], thumbs: int | None, comment: str | None = None,
                  generator: str | None = None, now: datetime | None = None) -> None:
    """`store_feedback` that raises FeedbackWriteError (with the Dutch problem) when the write fails."""
    result = store_feedback(settings, answer_id=answer_id, question=question, answer=answer, passage_ids=passage_ids,
                            thumbs=thumbs, comment=comment, generator=generator, now=now)
    if not result.saved:
        raise FeedbackWriteError(result.problem)


def list_feedback(settings: Settings) -> list[FeedbackRecord]:
    """All stored feedback, oldest first."""
    if not db_path(settings).exists():
        return []
    with _connect(settings) as conn:
        rows = conn.execute(
            "SELECT id, question, answer, passage_ids, thumbs, comment, generator, created_at"
            " FROM feedback ORDER BY created_at, id"
        ).fetchall()
    return [
        FeedbackRecord(
            id=r[0], question=r[1], answer=r[2], passage_ids=tuple(json.loads(r[3])), thumbs=r[4],
            comment=r[5], generator=r[6], created_at=datetime.fromisoformat(r[7]),
        )
        for r in rows
    ]


def forget_before(settings: Settings, before: date | datetime) -> int:
    """Delete feedback created before `before` (a date means midnight UTC of that day); returns the count."""
    if not isinstance(before, datetime):
        before = datetime.combine(before, time.min, tzinfo=UTC)
    elif before.tzinfo is None:
        before = before.replace(tzinfo=UTC)
    if not db_path(settings).exists():
        return 0
    cutoff = before.astimezone(UTC).isoformat()
    try:
        with _connect(settings) as conn:
            return conn.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,)).rowcount
    except (OSError, sqlite3.Error) as exc:
        path = db_path(settings)
        if looks_full(exc):  # SQLite needs room for its journal to delete, too
            raise FeedbackWriteError(f"Schijf vol: oude feedback in {path} kon niet worden verwijderd (ook verwijderen "
                                     "vraagt even ruimte). Maak eerst wat ruimte vrij op dat volume en probeer het "
                                     "opnieuw.") from exc
        raise FeedbackWriteError(f"Oude feedback in {path} kon niet worden verwijderd: "
                                 f"{type(exc).__name__}: {exc}") from exc
