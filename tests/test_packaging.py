"""Packaging: the wheel carries every data file the product reads at run time, and building it prints no
warning from this project (issue 16: no packaging warnings on a fresh `make run`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Read at run time by path next to the code: missing from the wheel means a broken non-editable install.
RUNTIME_DATA = [
    "assistant/voornamen.txt",
    "corpus/praktijkkaart.yaml",
    "corpus/links.yaml",
    "corpus/asked_as.yaml",
    "corpus/offtopic.yaml",
    "corpus/scope_model.json",
    "evals/golden.yaml",
    "ui/static/favicon.png",
    "ui/static/page.js",
    "ui/static/page.css",
]


@pytest.mark.slow
def test_wheel_has_runtime_data_and_builds_without_warnings(tmp_path: Path) -> None:
    # Build from a copy of the files git would ship: a stale build/ dir in the checkout would hide a gap.
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    src = tmp_path / "src"
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                          str(tmp_path), str(src)], capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    log = out.stdout + out.stderr
    assert not [line for line in log.splitlines() if "warning" in line.lower()], log[-3000:]
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in RUNTIME_DATA if p not in names]
    assert not missing, missing
    assert any(n.startswith("corpus/embeddings/") and n.endswith(".npz") for n in names)
