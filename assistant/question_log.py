"""The opt-in question log (settings.privacy.log_questions): one redacted line per question in <data_dir>/logs.

A write that fails (full disk, read-only volume) never costs the answer: it is reported in the server log and
returned as a Dutch warning that travels with the answer (`Answer.warnings`; the CLI prints it on stderr).
"""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime

from assistant.privacy import redact
from praktijkkaart.settings import Settings
from vectorstore.disk import full_message

log = logging.getLogger(__name__)

NOT_LOGGED = "Waarschuwing: de vraag kon niet in het vragenlogboek worden geschreven"


def log_question(settings: Settings, text: str) -> str | None:
    """Append the redacted question to today's log; None when written (or logging is off), else the warning."""
    if not settings.privacy.log_questions:
        return None
    stamp = datetime.now(UTC)
    logdir = settings.data_dir / "logs"
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        with open(logdir / f"vragen-{stamp:%Y-%m-%d}.log", "a", encoding="utf-8") as fh:
            fh.write(f"{stamp.isoformat()}\t{redact(text)}\n")
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            cause = full_message(logdir)
            cause = cause[0].lower() + cause[1:]
        else:
            cause = f"{exc.strerror or exc} ({logdir})"
        warning = f"{NOT_LOGGED} ({cause}). Het antwoord is wel volledig gegeven."
        log.warning("%s", warning)
        return warning
    return None
