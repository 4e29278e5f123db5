"""Benchmark scenarios outside one worker: the Streamlit app's memory, and a corpus with ~10% of the items
changed for the incremental-ingest measurement."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.workers import _env, tree_hwm_mb

ROOT = Path(__file__).resolve().parent.parent


# --- app memory ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ask_in_browser(url: str, timeout: float) -> bool:
    """One browser session that asks one question; False when chromium or playwright is missing."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    if not chromium.exists():
        return False
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(url)
            chat = page.get_by_test_id("stChatInputTextArea")
            chat.wait_for(state="visible", timeout=timeout * 1000)
            page.wait_for_function("() => !document.querySelector('[data-testid=stChatInputTextArea]')"
                                   ".disabled", timeout=timeout * 1000)
            chat.fill("Hoe kunnen we de samenwerking met ouders verbeteren?")
            chat.press("Enter")
            page.get_by_test_id("stChatMessage").nth(1).get_by_text("Bronnen", exact=True).wait_for(timeout=60_000)
            time.sleep(1.0)
        finally:
            browser.close()
    return True


def measure_app_memory(settings: Any, workdir: Path, timeout: float = 180) -> dict[str, Any]:
    """Peak RSS (VmHWM) of `streamlit run ui/app.py` after one HTTP GET of /, and, where chromium and
    playwright are present, after a browser session that asks one question (which loads everything)."""
    port = _free_port()
    env = _env() | {"PRAKTIJKKAART_DATA_DIR": str(settings.data_dir),
                    "PRAKTIJKKAART_CORPUS_DIR": str(settings.corpus_dir),
                    "PRAKTIJKKAART_EMBEDDING__BACKEND": settings.embedding.backend}
    log = workdir / "streamlit.log"
    out: dict[str, Any] = {"method": None}
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return {"error": f"streamlit exited {proc.returncode}: {log.read_text(errors='replace')[-1500:]}"}
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            return {"error": "streamlit did not become healthy"}
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            r.read()
        time.sleep(1.0)
        out["after_get_mb"] = tree_hwm_mb(proc.pid)
        out["method"] = "streamlit VmHWM after HTTP GET / (the script has not run: no session yet)"
        if _ask_in_browser(url, timeout):
            out["after_question_mb"] = tree_hwm_mb(proc.pid)
            out["method"] = ("streamlit server VmHWM (/proc/<pid>/status) after HTTP GET / and one browser session "
                             "(headless chromium) that asked one question: embedder, index and UI all loaded")
    except Exception as exc:  # noqa: BLE001 - memory of the app is best effort; the Assistant process is the fallback
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    return out


# --- ingest scenarios -----------------------------------------------------------------------------------


def changed_corpus(src: Path, dst: Path, n_items: int = 8) -> list[str]:
    """Copy the corpus to dst and edit the text of n_items card items (spread over the themes)."""
    import yaml

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    path = dst / "praktijkkaart.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    slots: list[tuple[list[Any], int, str]] = []
    for t in raw["themes"]:
        for kind in ("intro", "vragen", "direct", "lang"):
            for i in range(len(t.get(kind) or [])):
                slots.append((t[kind], i, f"t{t['number']}.{kind}.{i + 1}"))
    step = max(1, len(slots) // n_items)
    edited = []
    for lst, i, label in slots[::step][:n_items]:
        entry = lst[i]
        if isinstance(entry, str):
            lst[i] = entry + " (bijgewerkt voor de benchmark)"
        else:
            entry["text"] = entry["text"] + " (bijgewerkt voor de benchmark)"
        edited.append(label)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")
    return edited


def _ingest_row(res: dict[str, Any]) -> dict[str, Any]:
    if "error" in res:
        return res
    s = res["summary"]
    secs = s["seconds"]
    return {"seconds": secs, "process_wall_s": res["process_wall_s"], "total_chunks": s["total"],
            "embedded": s["embedded"], "published": s["published"], "cache_hits": s.get("cache_hits", 0),
            "chunks_per_s": round(s["total"] / secs, 1) if secs else None,
            "embedded_per_s": round(s["embedded"] / secs, 1) if secs and s["embedded"] else None,
            "peak_rss_mb": res.get("peak_rss_mb")}
