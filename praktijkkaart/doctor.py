"""`praktijkkaart doctor`: is everything ready to answer questions? Each check says, in Dutch,
what is wrong and how to fix it. The store is opened in a subprocess first, so a corrupt local
index shows up as a failed check instead of crashing the caller."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
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
                  "embedder": live.embedder if live else None,
                  "read_only": getattr(st, "read_only_reason", None)}))
"""
_WRITE_PROBE_BYTES = 64 << 10


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _store_check(settings: Settings, timeout_s: float) -> tuple[Check, dict[str, Any] | None]:
    """Open the store in a subprocess: (the check, what the probe saw or None)."""
    if settings.store.backend == "memory":
        return Check("vectorstore", True, "In-memory store: wordt bij het starten gevuld."), None
    env_overrides = {f"PRAKTIJKKAART_{k.upper()}": str(v) for k, v in
                     {"data_dir": settings.data_dir, "store__chroma_url": settings.store.chroma_url,
                      "store__chroma_path": settings.store.chroma_path,
                      "store__collection_prefix": settings.store.collection_prefix}.items()
                     if v is not None}
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s,
                             env={**os.environ, **env_overrides})
    except subprocess.TimeoutExpired:
        return Check("vectorstore", False, "De vectorstore reageert niet binnen de tijd. "
                     "Controleer of de Chroma-server draait."), None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["onbekende fout"])[-1]
        if "Schijf vol" in last:  # the store is fine; its volume has no room (see vectorstore/disk.py)
            return Check("vectorstore", False, f"De vectorstore kan niet worden geopend: {last.split(': ', 1)[-1]}"), None
        return Check("vectorstore", False, f"De vectorstore kan niet worden geopend ({last}). "
                     "Herstel: verwijder de map en bouw opnieuw met `praktijkkaart ingest`, of "
                     "controleer PRAKTIJKKAART_STORE__CHROMA_URL."), None
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    where = settings.store.chroma_url or settings.chroma_dir
    if probe.get("read_only"):
        return Check("vectorstore", True, f"Leesbaar ({where}), via een {probe['read_only']}; zie schijfruimte."), probe
    return Check("vectorstore", True, f"Bereikbaar ({where})."), probe


def _write_problem(directory: Path) -> OSError | None:
    """Write (and remove) a small file where feedback, logs and the index go: the real test of a full disk."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-", suffix=".tmp") as fh:
            fh.write(b"\0" * _WRITE_PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return exc
    return None


def _disk_check(settings: Settings, probe: dict[str, Any] | None, dim: int | None) -> Check:
    """Room on the data volume for feedback, logs and the next ingest (a new index version next to the live one)."""
    from ingest.pipeline import space_needed
    from vectorstore.disk import free_bytes, full_message, size_text

    embedded = settings.store.backend == "chroma" and not settings.store.chroma_url
    path = settings.chroma_dir if embedded and settings.chroma_dir.is_dir() else settings.data_dir
    need = space_needed(probe["count"], dim) if embedded and probe and probe["count"] and dim else 0
    problem = _write_problem(path) if path.is_dir() else None
    free = free_bytes(path)
    if problem is not None and problem.errno == errno.EROFS:
        return Check("schijfruimte", False, f"Alleen-lezen: op {path} kan niets worden geschreven ({problem}). "
                     "Vragen worden beantwoord, maar feedback, logs en een nieuwe ingest lukken niet. Koppel het "
                     "volume schrijfbaar.")
    if (problem is not None and problem.errno in (errno.ENOSPC, errno.EDQUOT)) or (free is not None and free < need):
        return Check("schijfruimte", False, full_message(path, need or None) + " Vragen worden intussen wel "
                     "beantwoord; feedback, logs en een nieuwe ingest lukken pas weer als er ruimte is.")
    if problem is not None:
        return Check("schijfruimte", False, f"Op {path} kan niet worden geschreven ({problem}).")
    return Check("schijfruimte", True, f"{size_text(free)} vrij op het volume van {path}"
                 + (f" (een nieuwe ingest vraagt ongeveer {size_text(need)})." if need else "."))


def run_checks(settings: Settings, timeout_s: float = 60.0) -> list[Check]:
    store, probe = _store_check(settings, timeout_s)
    checks = [store]
    if probe is not None:
        live_ok = probe["live"] is not None
        checks.append(Check("live versie", live_ok, f"Live: {probe['live']}" if live_ok else
                            "Er is nog geen index. Voer `praktijkkaart ingest` uit."))
        checks.append(Check("aantal stukken", probe["count"] > 0, f"{probe['count']} stukken" if probe["count"] else
                            "De live index is leeg. Voer `praktijkkaart ingest` opnieuw uit."))
    dim = None
    try:
        from vectorstore.embedders import make_embedder

        emb = make_embedder(settings)
        emb.embed_query("test")
        fp, dim = emb.info.fingerprint, emb.info.dim
        checks.append(Check("embedder", True, fp))
        if probe and probe.get("embedder") and probe["embedder"] != fp:
            checks.append(Check("embedder past bij index", False, f"De index is gebouwd met {probe['embedder']}, "
                                f"ingesteld is {fp}. Voer `praktijkkaart ingest` uit."))
    except Exception as exc:  # noqa: BLE001 - any load failure is a failed check
        checks.append(Check("embedder", False, f"Het embeddingmodel laadt niet ({type(exc).__name__}: {exc})."))
    checks.append(_disk_check(settings, probe, dim))
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
