"""Attack tests for the fetcher: slow headers, decompression bombs, huge HTML and malformed URLs.

Every server is a real HTTP server on 127.0.0.1 (fetch_server.FetchServer). Memory is measured, not
guessed: bombs are fetched in a child process that reports its own peak RSS, and the HTML worker
test resets this process's peak RSS (/proc/self/clear_refs) before it reads VmHWM.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fetch_server import FetchServer, LoopbackOnlyTransport, Reply, corpus_with_urls
from fixtures.resource_pages import note_html, read_note

from ingest.fetch import (
    BlockedAddress,
    FetchResult,
    GuardedBackend,
    address_problem,
    fetch_links,
    resolve_checked,
)
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import Settings

HTML = "text/html; charset=utf-8"
LINK = "kansenkaart"
ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


@dataclass
class Site:
    server: FetchServer
    settings: Settings
    store: SnapshotStore

    def fetch(self, link_id: str = LINK, transport: LoopbackOnlyTransport | None = None) -> FetchResult:
        [result] = fetch_links(self.settings, only=[link_id], transport=transport or LoopbackOnlyTransport()).results
        return result


def _site(tmp_path: Path, server: FetchServer, urls: dict[str, str] | None = None, **overrides: object) -> Site:
    corpus = corpus_with_urls(tmp_path / "corpus", urls or {LINK: server.url("/pagina")})
    fetch: dict = {"allow_private": True, "timeout_s": 1.0, "retries": 0, "max_bytes": 2_000_000,
                   "pdf_timeout_s": 20.0} | overrides
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", fetch=fetch)
    return Site(server, settings, SnapshotStore(settings.resources_dir))


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    with FetchServer() as server:
        yield _site(tmp_path, server)


@pytest.fixture(scope="module")
def good_page() -> bytes:
    return note_html(read_note("24-pharos-infosheet-welbevinden"), "Welbevinden op school")


# --- 1. one deadline for connect + headers + body -------------------------------------------------

def test_headers_dribbled_byte_by_byte_end_within_twice_the_timeout(site: Site) -> None:
    # Each byte comes well within the 1 s read timeout, so only an overall deadline can stop this.
    site.server.route("/pagina", Reply(200, b"<p>nooit</p>", {"Content-Type": HTML}, dribble_s=0.4))
    results: list[FetchResult] = []
    # The production transport (address guard included); the URL is loopback, so is the traffic.
    worker = threading.Thread(target=lambda: results.extend(fetch_links(site.settings, only=[LINK]).results),
                              daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=2 * site.settings.fetch.timeout_s + 1)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), f"fetch still running after {elapsed:.1f} s"
    assert elapsed < 2 * site.settings.fetch.timeout_s
    [result] = results
    assert result.outcome == "fout" and result.error.startswith("time-out")
    assert site.store.manifest(LINK).error == result.error


# --- 2. decompression bombs -----------------------------------------------------------------------

def _zeros_stream(wbits: int, mb: int) -> bytes:
    """`mb` MB of zeros, compressed without compressing them all: a full flush makes each MB encode the same."""
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(MB)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    return first + again * (mb - 1)  # no trailer: a bomb need not end well, the cap must stop it first


def _zstd_bomb(mb: int) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    frame = zstandard.ZstdCompressor(level=3).compress(bytes(64 * MB))
    return frame * (mb // 64)


BOMBS = {
    # case: (Content-Encoding, body factory, expected fragment of the Dutch error)
    "gzip-1gb": ("gzip", lambda: _zeros_stream(31, 1024), "te groot"),
    "deflate-zlib-1gb": ("deflate", lambda: _zeros_stream(15, 1024), "te groot"),
    "deflate-raw-1gb": ("deflate", lambda: _zeros_stream(-15, 1024), "te groot"),
    "zstd-1gb": ("zstd", lambda: _zstd_bomb(1024), "te groot"),
    "gzip-gzip-stacked": ("gzip, gzip", lambda: gzip.compress(_zeros_stream(31, 1024)), "inhoudscodering"),
}

_CHILD = """
import json, sys
from fetch_server import LoopbackOnlyTransport
from ingest.fetch import fetch_links
from praktijkkaart.settings import Settings

[result] = fetch_links(Settings(**json.loads(sys.argv[1])), only=[sys.argv[2]],
                       transport=LoopbackOnlyTransport()).results
# VmHWM belongs to this address space; ru_maxrss would inherit the (large) pytest parent's peak across fork+exec.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"error": result.error, "maxrss_kb": hwm}))
"""


def _fetch_in_child(settings: Settings) -> dict:
    """Fetch in a fresh interpreter and return its error and its own peak RSS (kB)."""
    config = settings.model_dump_json(include={"corpus_dir", "data_dir", "fetch"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    proc = subprocess.run([sys.executable, "-c", _CHILD, config, LINK], capture_output=True, timeout=60, env=env,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BOMBS))
def test_decompression_bomb_is_refused_with_bounded_memory(site: Site, good_page: bytes, case: str) -> None:
    site.server.route("/pagina", Reply(200, good_page, {"Content-Type": HTML}))
    assert site.fetch().outcome == "nieuw"
    good = site.store.manifest(LINK)
    encoding, body, expected = BOMBS[case]
    site.server.route("/pagina", Reply(200, body(), {"Content-Type": HTML, "Content-Encoding": encoding}))

    started = time.monotonic()
    out = _fetch_in_child(site.settings)
    elapsed = time.monotonic() - started
    print(f"{case}: peak RSS {out['maxrss_kb'] / 1024:.0f} MB, {elapsed:.1f} s, error {out['error']!r}")
    assert out["maxrss_kb"] < 500 * 1024
    assert out["error"] and expected in out["error"]
    m = site.store.manifest(LINK)
    assert m.error == out["error"] and (m.sha256, m.fetched_at) == (good.sha256, good.fetched_at)
    assert site.store.text(LINK)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "identity"])
def test_compressed_pages_are_still_decoded(site: Site, good_page: bytes, encoding: str) -> None:
    if encoding == "zstd":
        body = pytest.importorskip("zstandard").ZstdCompressor().compress(good_page)
    else:
        body = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}[encoding](good_page)
    site.server.route("/pagina", Reply(200, body, {"Content-Type": HTML, "Content-Encoding": encoding}))
    assert site.fetch().outcome == "nieuw"
    assert (site.store.dir(LINK) / "content.html").read_bytes() == good_page


def test_unknown_encoding_is_a_dutch_error(site: Site) -> None:
    site.server.route("/pagina", Reply(200, b"\x0b\x02\x80hallo\x03", {"Content-Type": HTML,
                                                                        "Content-Encoding": "br"}))
    result = site.fetch()
    assert result.outcome == "fout" and "niet-ondersteunde inhoudscodering" in result.error


# --- 3. HTML extraction in the limited worker -----------------------------------------------------

def _big_table(size: int) -> bytes:
    row = "<tr>" + "".join(f"<td>cel {n} met wat tekst</td>" for n in range(8)) + "</tr>\n"
    head = "<!DOCTYPE html><html><head><title>Tabel</title></head><body><article><h1>Tabel</h1><table>\n"
    return (head + row * (size // len(row)) + "</table></article></body></html>").encode()


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/self/status")


@pytest.mark.slow
def test_huge_html_table_ends_in_a_dutch_error_with_bounded_time_and_memory(tmp_path: Path) -> None:
    page = _big_table(15 * 1_000_000)
    with FetchServer() as server:
        site = _site(tmp_path, server, max_bytes=20_000_000, pdf_timeout_s=3.0, timeout_s=5.0)
        server.route("/pagina", Reply(200, page, {"Content-Type": HTML}))
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _peak_rss_kb()
        started = time.monotonic()
        result = site.fetch()
        elapsed = time.monotonic() - started
    grown_mb = (_peak_rss_kb() - before) / 1024
    print(f"15 MB table: {elapsed:.1f} s, parent peak RSS grew {grown_mb:.0f} MB, error {result.error!r}")
    assert elapsed < 3 * site.settings.fetch.pdf_timeout_s
    assert grown_mb < 200
    assert result.outcome == "fout" and "html-extractie" in result.error


# --- address guard (moved here from test_fetch.py) -----------------------------------------------

@pytest.mark.parametrize(("ip", "allow_private", "problem"), [
    ("93.184.215.14", False, None),
    ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False, None),
    ("127.0.0.1", False, "loopback-adres"),
    ("127.0.0.1", True, None),
    ("::1", True, None),
    ("169.254.169.254", True, "link-local adres"),
    ("::ffff:169.254.169.254", True, "link-local adres"),
    ("fe80::1", True, "link-local adres"),
    ("fd00:ec2::254", True, "link-local adres"),
    ("100.100.100.200", True, "link-local adres"),
    ("10.1.2.3", True, "privé-adres"),
    ("192.168.1.10", False, "privé-adres"),
    ("100.64.0.1", False, "privé-adres"),
    ("0.0.0.0", True, "ongeldig adres"),
    ("224.0.0.1", False, "multicast-adres"),
    ("240.0.0.1", False, "gereserveerd adres"),
])
def test_address_problem(ip: str, allow_private: bool, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(ip), allow_private=allow_private) == problem


def test_resolve_checked_refuses_literal_and_named_hosts() -> None:
    assert resolve_checked("127.0.0.1", 80, allow_private=True) == ["127.0.0.1"]
    with pytest.raises(BlockedAddress, match="loopback"):
        resolve_checked("localhost", 80, allow_private=False)
    with pytest.raises(BlockedAddress, match="link-local"):
        resolve_checked("169.254.169.254", 80, allow_private=True)
    with pytest.raises(BlockedAddress, match="niet gevonden"):
        resolve_checked("bestaat-niet.invalid", 80, allow_private=False)


def test_guarded_backend_checks_again_at_connect_time(site: Site) -> None:
    backend = GuardedBackend(allow_private=True)
    with pytest.raises(BlockedAddress, match="link-local"):
        backend.connect_tcp("169.254.169.254", 80, timeout=0.1)
    port = int(site.server.base_url.rsplit(":", 1)[1])
    backend.connect_tcp("127.0.0.1", port, timeout=1).close()


# --- 4. malformed URLs fail their own link only ---------------------------------------------------

MALFORMED = {
    # link id: (URL in links.yaml, expected fragment of the Dutch error)
    "gka-home": ("http://[::1", "ongeldig adres"),
    "gka-151-interventies": ("ht!tp://x", "ongeldig adres"),
    "pharos-infosheet-welbevinden": ("http://exa mple.org/", "ongeldige hostnaam"),
    "pharos-infosheet-nieuwkomers": ("", "geen adres"),
    "pharos-checklist-po": ("http://example.org:99999/", "ongeldig poortnummer"),
    "pharos-checklist-vo": ("ftp://example.org/bestand.pdf", "niet-ondersteund adres"),
    "boom-agirdag": ("https:///pad-zonder-host", "ongeldig adres"),
}


def test_malformed_redirect_target_is_a_dutch_error(site: Site) -> None:
    site.server.route("/pagina", Reply(302, headers={"Location": "http://[::1/elders"}))
    result = site.fetch()
    assert result.outcome == "fout" and "ongeldige doorverwijzing" in result.error


def test_malformed_urls_fail_their_own_link_and_the_rest_is_fetched(tmp_path: Path, good_page: bytes) -> None:
    with FetchServer() as server:
        urls = {link_id: url for link_id, (url, _) in MALFORMED.items()} | {LINK: server.url("/pagina")}
        site = _site(tmp_path, server, urls)
        server.route("/pagina", Reply(200, good_page, {"Content-Type": HTML}))
        transport = LoopbackOnlyTransport()
        report = fetch_links(site.settings, only=list(urls), transport=transport)
    results = {r.link_id: r for r in report.results}
    assert results[LINK].outcome == "nieuw"
    for link_id, (_url, expected) in MALFORMED.items():
        result = results[link_id]
        assert result.outcome == "fout" and expected in result.error, (link_id, result.error)
        assert site.store.manifest(link_id).error == result.error
    assert transport.refused == [] and {r.path for r in server.requests} == {"/robots.txt", "/pagina"}
