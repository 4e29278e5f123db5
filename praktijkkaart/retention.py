"""`praktijkkaart forget`: remove feedback and question logs older than a date (AVG retention)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from praktijkkaart.settings import Settings


def forget_logs(settings: Settings, before: date) -> int:
    """Delete daily question logs (vragen-YYYY-MM-DD.log) dated before `before`."""
    removed = 0
    for path in sorted((settings.data_dir / "logs").glob("vragen-*.log")):
        try:
            day = date.fromisoformat(path.stem.removeprefix("vragen-"))
        except ValueError:
            continue
        if day < before:
            path.unlink()
            removed += 1
    return removed


def forget_command(settings: Settings, *, before: date | None, as_json: bool) -> int:
    from assistant.feedback import forget_before

    cutoff = before or (datetime.now(UTC) - timedelta(days=settings.retention_days)).date()
    result = {"before": cutoff.isoformat(), "feedback_deleted": forget_before(settings, cutoff),
              "logs_deleted": forget_logs(settings, cutoff)}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"Verwijderd van voor {result['before']}: {result['feedback_deleted']} feedbackregels, "
              f"{result['logs_deleted']} logbestanden.")
    return 0
