"""`praktijkkaart doctor`: is everything ready to answer questions? Each check says, in Dutch,
what is wrong and how to fix it. The store is opened in a subprocess first, so a corrupt local
index shows up as a failed check instead of crashing the caller."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

from praktijkkaart.settings import Settings

_PROBE = """
import json, sys
from praktijkkaart.settings import Settings
from vectorstore.factory import make_store
s = Settings()
st = make_store(s)
st.ping()
live = st.live()
print(json.dumps({"live": live.name if live else None, "count": st.count(live.name) if live else 0,
                  "embedder": live.embedder if live else None}))
"""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings, timeout_s: float = 60.0) -> list[Check]:
    checks: list[Check] = []
    probe: dict[str, Any] | None = None
    if settings.store_backend == "memory":
        checks.append(Check("vectorstore", True, "In-memory store: wordt bij het starten gevuld."))
    else:
        env_overrides = {f"PRAKTIJKKAART_{k.upper()}": str(v) for k, v in
                         {"data_dir": settings.data_dir, "chroma_url": settings.chroma_url,
                          "chroma_path": settings.chroma_path, "collection_prefix": settings.collection_prefix}.items()
                         if v is not None}
        import os

        try:
            out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s,
                                 env={**os.environ, **env_overrides})
            if out.returncode == 0:
                probe = json.loads(out.stdout.strip().splitlines()[-1])
                checks.append(Check("vectorstore", True, f"Bereikbaar ({settings.chroma_url or settings.chroma_dir})."))
            else:
                last = (out.stderr.strip().splitlines() or ["onbekende fout"])[-1]
                checks.append(Check("vectorstore", False, f"De vectorstore kan niet worden geopend ({last}). "
                                    "Herstel: verwijder de map en bouw opnieuw met `praktijkkaart ingest`, of "
                                    "controleer PRAKTIJKKAART_CHROMA_URL."))
        except subprocess.TimeoutExpired:
            checks.append(Check("vectorstore", False, "De vectorstore reageert niet binnen de tijd. "
                                "Controleer of de Chroma-server draait."))
    if probe is not None:
        live_ok = probe["live"] is not None
        checks.append(Check("live versie", live_ok, f"Live: {probe['live']}" if live_ok else
                            "Er is nog geen index. Voer `praktijkkaart ingest` uit."))
        checks.append(Check("aantal stukken", probe["count"] > 0, f"{probe['count']} stukken" if probe["count"] else
                            "De live index is leeg. Voer `praktijkkaart ingest` opnieuw uit."))
    try:
        from vectorstore.embedders import make_embedder

        emb = make_embedder(settings)
        emb.embed_query("test")
        fp = emb.info.fingerprint
        checks.append(Check("embedder", True, fp))
        if probe and probe.get("embedder") and probe["embedder"] != fp:
            checks.append(Check("embedder past bij index", False, f"De index is gebouwd met {probe['embedder']}, "
                                f"ingesteld is {fp}. Voer `praktijkkaart ingest` uit."))
    except Exception as exc:  # noqa: BLE001 - any load failure is a failed check
        checks.append(Check("embedder", False, f"Het embeddingmodel laadt niet ({type(exc).__name__}: {exc})."))
    return checks


def doctor_command(settings: Settings, *, as_json: bool) -> int:
    checks = run_checks(settings)
    ok = all(c.ok for c in checks)
    if as_json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, ensure_ascii=False, indent=2))
    else:
        for c in checks:
            print(f"[{'ok' if c.ok else 'FOUT'}] {c.name}: {c.detail}")
        print("Alles in orde." if ok else "Er is iets mis; zie hierboven hoe je het herstelt.")
    return 0 if ok else 1
