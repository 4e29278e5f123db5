"""Retention (AVG): feedback and question logs older than `retention_days` are removed.

It runs by itself at app start (once per process, `apply_retention_once`) and after each `praktijkkaart
ingest` (so also after the nightly refresh); `praktijkkaart forget` removes on demand. Not in the ingest
pipeline itself: ingest sits below the assistant layer that owns the feedback store (import-linter layers).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, date, datetime, timedelta

from praktijkkaart.settings import Settings

log = logging.getLogger(__name__)
_applied: set[tuple[str, int]] = set()
_applied_lock = threading.Lock()


def forget_logs(settings: Settings, before: date) -> int:
    """Delete daily question logs (vragen-YYYY-MM-DD.log) dated before `before`."""
    removed = 0
    logs = settings.data_dir / "logs"
    if not logs.is_dir():
        return 0
    for path in sorted(logs.glob("vragen-*.log")):
        try:
            day = date.fromisoformat(path.stem.removeprefix("vragen-"))
        except ValueError:
            continue
        if day < before:
            path.unlink()
            removed += 1
    return removed


def apply_retention(settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    """Remove feedback created more than `retention_days` ago (to the second), and the daily question logs of
    days that lie entirely before that moment (a log of the day at the boundary still holds younger questions)."""
    from assistant.feedback import FeedbackWriteError, forget_before

    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.privacy.retention_days)
    logs = forget_logs(settings, cutoff.date())  # first: removing files also works on a full disk
    try:
        feedback = forget_before(settings, cutoff)
    except FeedbackWriteError as exc:  # e.g. a full disk after an ingest that had nothing to write
        log.warning("%s", exc)
        feedback = 0
    removed = {"retention_days": settings.privacy.retention_days, "feedback_deleted": feedback, "logs_deleted": logs}
    if removed["feedback_deleted"] or removed["logs_deleted"]:
        log.info("retention: %s", removed)
    return removed


def apply_retention_once(settings: Settings) -> dict[str, int] | None:
    """`apply_retention` the first time this process sees these settings (the app calls it on every page run);
    None afterwards. A failure is logged and never stops the app; it is tried again on the next call."""
    key = (str(settings.data_dir.resolve()), settings.privacy.retention_days)
    with _applied_lock:
        if key in _applied:
            return None
        try:
            removed = apply_retention(settings)
        except Exception:
            log.exception("retention could not be applied")
            return None
        _applied.add(key)
        return removed


def forget_command(settings: Settings, *, before: date | None, as_json: bool) -> int:
    from assistant.feedback import FeedbackWriteError, forget_before

    cutoff = before or (datetime.now(UTC) - timedelta(days=settings.privacy.retention_days)).date()
    logs = forget_logs(settings, cutoff)  # first: removing files also works (and frees space) on a full disk
    try:
        feedback = forget_before(settings, cutoff)
    except FeedbackWriteError as exc:
        print(f"{exc} Wel verwijderd: {logs} logbestanden van voor {cutoff.isoformat()}.", file=sys.stderr)
        return 2
    result = {"before": cutoff.isoformat(), "feedback_deleted": feedback, "logs_deleted": logs}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"Verwijderd van voor {result['before']}: {result['feedback_deleted']} feedbackregels, "
              f"{result['logs_deleted']} logbestanden.")
    return 0
