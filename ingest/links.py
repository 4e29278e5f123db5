"""Link health from the snapshot manifests, and the `praktijkkaart fetch` / `praktijkkaart links` commands."""

from __future__ import annotations

import json
import sys

from corpus.model import load_card
from ingest.fetch import FetchResult, fetch_links
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import Settings

NEVER_CHECKED = "nooit gecontroleerd"


def link_health(settings: Settings) -> list[dict]:
    """One row per link of the card, in links.yaml order, from the last check recorded in its manifest.

    status: 'in orde', 'onbereikbaar' or 'nooit gecontroleerd'; ok is None when never checked.
    A manifest made for another URL (the link was edited since) counts as never checked.
    """
    store = SnapshotStore(settings.resources_dir)
    rows = []
    for link in load_card(settings.corpus_dir).links:
        m = store.manifest(link.id)
        if m is not None and m.url != link.url:
            m = None
        if m is None:
            status, ok = NEVER_CHECKED, None
        else:
            status, ok = ("in orde", True) if m.ok else ("onbereikbaar", False)
        rows.append({
            "id": link.id, "url": link.url, "title": link.title, "status": status, "ok": ok,
            "http_status": m.status if m else None,
            "last_checked_at": m.last_checked_at if m else None,
            "last_ok_at": m.last_ok_at if m else None,
            "error": m.error if m else None,
            "has_snapshot": store.has_content(link.id) if m else False,
        })
    return rows


def dead_links(settings: Settings) -> set[str]:
    """URLs (as in the card) whose last check failed."""
    return {row["url"] for row in link_health(settings) if row["ok"] is False}


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
