"""The `praktijkkaart fetch` / `praktijkkaart links` commands."""

from __future__ import annotations

import json
import sys

from ingest.fetch import FetchResult, fetch_links
from ingest.link_status import NEVER_CHECKED as NEVER_CHECKED
from ingest.link_status import dead_links as dead_links
from ingest.link_status import link_health
from praktijkkaart.settings import Settings


def _date(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "-"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def links_command(settings: Settings, as_json: bool) -> int:
    """`praktijkkaart links [--json]`: list every link with its last status; exit 1 if any link is dead."""
    rows = link_health(settings)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        table = [[r["id"], r["status"], str(r["http_status"] or "-"), _date(r["last_checked_at"]),
                  _date(r["last_ok_at"]), (r["error"] or "")[:80]] for r in rows]
        print(_table(["link", "status", "http", "laatst gecontroleerd", "laatst in orde", "fout"], table))
        dead = sum(r["ok"] is False for r in rows)
        never = sum(r["ok"] is None for r in rows)
        print(f"\n{len(rows)} links: {len(rows) - dead - never} in orde, {dead} onbereikbaar, "
              f"{never} nooit gecontroleerd.")
    return 1 if any(r["ok"] is False for r in rows) else 0


def fetch_command(settings: Settings, only: list[str] | None, as_json: bool) -> int:
    """`praktijkkaart fetch [--only URL ...] [--json]`: exit 0 all fetched, 1 some failed, 2 unknown --only."""
    def progress(r: FetchResult) -> None:
        if not as_json:
            print(f"  {r.outcome:<11} {r.link_id}", file=sys.stderr, flush=True)

    try:
        report = fetch_links(settings, only=only, progress=progress)
    except ValueError as exc:
        print(f"Fout: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        table = [[r.link_id, r.outcome, str(r.status or "-"), (r.error or "")[:80]] for r in report.results]
        print(_table(["link", "resultaat", "http", "fout"], table))
        print(f"\n{len(report.results)} links opgehaald, {len(report.failed)} met een fout. "
              f"Kopieën staan in {settings.resources_dir}.")
    return 1 if report.failed else 0
