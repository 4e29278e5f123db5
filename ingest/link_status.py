"""Link health as the last fetch recorded it in the snapshot manifests. Light on purpose: the answer path
reads the dead links from here without loading the fetcher or httpx."""

from __future__ import annotations

from typing import Any

from corpus.model import load_card
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import Settings

NEVER_CHECKED = "nooit gecontroleerd"


def link_health(settings: Settings) -> list[dict[str, Any]]:
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
