"""The fetcher against a real HTTP server on 127.0.0.1, including hostile servers.

No test sends traffic off loopback: requests go through LoopbackOnlyTransport, which refuses and
records any other host, and the address guard refuses 169.254.169.254 before a request is built.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fetch_server import FetchServer, LoopbackOnlyTransport, Reply, corpus_with_urls, repeat
from fixtures.resource_pages import CANARY, corrupt_pdf, injection_html, note_html, note_pdf, read_note

from corpus.model import load_card
from ingest.fetch import (
    fetch_links,
    select_links,
)
from ingest.links import dead_links, fetch_command, link_health, links_command
from ingest.resources import resource_chunks
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import CORPUS_DIR, Settings

HTML = "text/html; charset=utf-8"
UA_TOKEN = "praktijkkaart-assistent"

# Links used in these tests, and the path each is served under.
PATHS = {
    "pharos-infosheet-welbevinden": "/infosheets/welbevinden-op-school/",
    "pharos-overzicht-interventies-nieuwkomers": "/uploads/overzicht-interventies.pdf",
    "trimbos-signaleren-po": "/webwinkel/signaleren-po",
    "voraad-kansrijke-doorstroom": "/nieuws/kansrijke-doorstroom",
    "kansenkaart": "/",
}


@dataclass
class Env:
    server: FetchServer
    settings: Settings
    transport: LoopbackOnlyTransport
    store: SnapshotStore

    def url(self, link_id: str) -> str:
        return self.server.url(PATHS[link_id])

    def fetch(self, *link_ids: str):
        report = fetch_links(self.settings, only=list(link_ids), transport=self.transport)
        return {r.link_id: r for r in report.results}


def _corpus(tmp_path: Path, base_url: str) -> Path:
    """A copy of the real corpus whose test links point at the local server."""
    return corpus_with_urls(tmp_path / "corpus", {link_id: base_url + path for link_id, path in PATHS.items()})


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    with FetchServer() as server:
        settings = Settings(corpus_dir=_corpus(tmp_path, server.base_url), data_dir=tmp_path / "data", fetch={"allow_private": True, "timeout_s": 0.5, "retries": 1, "max_bytes": 2_000_000, "pdf_timeout_s": 20})
        transport = LoopbackOnlyTransport()
        yield Env(server, settings, transport, SnapshotStore(settings.resources_dir))
        assert transport.refused == [], "a test asked for a host other than 127.0.0.1"


@pytest.fixture(scope="module")
def note():
    return read_note("24-pharos-infosheet-welbevinden")


@pytest.fixture(scope="module")
def good_page(note) -> bytes:
    return note_html(note, "Welbevinden op school")


# --- the good path --------------------------------------------------------------------------------

def test_html_and_pdf_become_snapshots_and_chunks(env: Env, note, good_page: bytes) -> None:
    pdf = note_pdf(read_note("27-pharos-overzicht"), "Overzicht interventies welbevinden nieuwkomerskinderen")
    env.server.route(PATHS["pharos-infosheet-welbevinden"], Reply(200, good_page, {"Content-Type": HTML}))
    env.server.route(PATHS["pharos-overzicht-interventies-nieuwkomers"],
                     Reply(200, pdf, {"Content-Type": "application/pdf"}))
    # A PDF behind text/html and a redirect: sniffed from the bytes, stored under the final URL.
    env.server.route(PATHS["trimbos-signaleren-po"], Reply(302, headers={"Location": "/bestanden/signaleren.pdf"}))
    env.server.route("/bestanden/signaleren.pdf",
                     Reply(200, note_pdf(read_note("31-trimbos"), "Signaleren"), {"Content-Type": HTML}))

    results = env.fetch("pharos-infosheet-welbevinden", "pharos-overzicht-interventies-nieuwkomers",
                        "trimbos-signaleren-po")
    assert {k: r.outcome for k, r in results.items()} == dict.fromkeys(results, "nieuw")

    m = env.store.manifest("pharos-infosheet-welbevinden")
    assert (m.status, m.kind, m.content_file, m.content_type, m.error) == (200, "html", "content.html", HTML, None)
    assert m.url == m.final_url == env.url("pharos-infosheet-welbevinden")
    assert m.extractor.startswith("trafilatura") and len(m.sha256) == 64 and m.size == len(good_page)
    assert m.fetched_at == m.last_checked_at == m.last_ok_at
    assert note.bullets[0][:50] in env.store.text("pharos-infosheet-welbevinden")

    m = env.store.manifest("trimbos-signaleren-po")
    assert (m.kind, m.content_file, m.final_url) == ("pdf", "content.pdf", env.server.url("/bestanden/signaleren.pdf"))
    assert env.store.text("trimbos-signaleren-po").startswith("## Pagina 1\n")
    assert (env.store.dir("trimbos-signaleren-po") / "content.pdf").read_bytes().startswith(b"%PDF-")

    # Polite: our User-Agent on every request, robots.txt asked once for the host.
    assert all(UA_TOKEN in r.headers["user-agent"] for r in env.server.requests)
    assert len(env.server.seen("/robots.txt")) == 1

    card = load_card(env.settings.corpus_dir)
    chunks = resource_chunks(env.settings, card)
    parts = {c.metadata["item_id"].rsplit(":", 1)[0] for c in chunks if not c.metadata["item_id"].endswith(":0")}
    assert parts == {"bron:pharos-infosheet-welbevinden", "bron:pharos-overzicht-interventies-nieuwkomers",
                     "bron:trimbos-signaleren-po"}
    assert len([c for c in chunks if c.metadata["item_id"].endswith(":0")]) == 38 - 3


def test_one_request_per_host_at_a_time(env: Env, good_page: bytes) -> None:
    for path in PATHS.values():
        env.server.route(path, Reply(200, good_page, {"Content-Type": HTML}, delay_s=0.15))
    results = env.fetch(*PATHS)
    assert all(r.outcome == "nieuw" for r in results.values())
    assert env.server.max_in_flight == 1


def test_conditional_refresh_gets_304_and_keeps_the_snapshot(env: Env, good_page: bytes) -> None:
    etag, modified = '"v1"', "Wed, 01 Sep 2021 10:00:00 GMT"

    def page(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, good_page, {"Content-Type": HTML, "ETag": etag, "Last-Modified": modified})

    env.server.route_fn(PATHS["voraad-kansrijke-doorstroom"], page)
    assert env.fetch("voraad-kansrijke-doorstroom")["voraad-kansrijke-doorstroom"].outcome == "nieuw"
    first = env.store.manifest("voraad-kansrijke-doorstroom")
    _age_manifest(env.store, "voraad-kansrijke-doorstroom")

    result = env.fetch("voraad-kansrijke-doorstroom")["voraad-kansrijke-doorstroom"]
    assert (result.outcome, result.status) == ("ongewijzigd", 304)
    second_request = env.server.seen(PATHS["voraad-kansrijke-doorstroom"])[-1]
    assert second_request.headers["if-none-match"] == etag
    assert second_request.headers["if-modified-since"] == modified
    m = env.store.manifest("voraad-kansrijke-doorstroom")
    assert (m.status, m.error, m.sha256, m.etag) == (304, None, first.sha256, etag)
    assert m.last_checked_at > "2000" and m.last_ok_at == m.last_checked_at and m.fetched_at.startswith("2000")
    assert env.store.text("voraad-kansrijke-doorstroom")


def test_unchanged_content_keeps_chunk_ids_and_a_change_replaces_only_its_own(env: Env, note, good_page: bytes) -> None:
    env.server.route(PATHS["pharos-infosheet-welbevinden"], Reply(200, good_page, {"Content-Type": HTML}))
    env.server.route(PATHS["trimbos-signaleren-po"], Reply(200, good_page, {"Content-Type": HTML}))
    env.fetch("pharos-infosheet-welbevinden", "trimbos-signaleren-po")
    card = load_card(env.settings.corpus_dir)
    before = {c.id for c in resource_chunks(env.settings, card)}

    assert env.fetch("pharos-infosheet-welbevinden")["pharos-infosheet-welbevinden"].outcome == "ongewijzigd"
    assert {c.id for c in resource_chunks(env.settings, card)} == before

    changed = note_html(note, "Welbevinden op school", extra_paragraphs=("Een nieuwe alinea met nieuws.",))
    env.server.route(PATHS["pharos-infosheet-welbevinden"], Reply(200, changed, {"Content-Type": HTML}))
    assert env.fetch("pharos-infosheet-welbevinden")["pharos-infosheet-welbevinden"].outcome == "bijgewerkt"
    after = resource_chunks(env.settings, card)
    gone = before - {c.id for c in after}
    assert gone and all(c.startswith("bron-pharos-infosheet-welbevinden-") for c in gone)


# --- hostile and failing servers ------------------------------------------------------------------

def _robots_disallow() -> dict[str, list[Reply]]:
    robots = f"User-agent: *\nAllow: /\n\nUser-agent: {UA_TOKEN}\nDisallow: /webwinkel/\n".encode()
    return {"/robots.txt": [Reply(200, robots, {"Content-Type": "text/plain"})]}


HOSTILE: dict[str, tuple[list[Reply], dict[str, list[Reply]], str]] = {
    # case: (replies for the page, other routes, expected fragment of the Dutch error)
    "slow-start": ([Reply(200, repeat(b"x", 10), {"Content-Type": HTML}, chunk_delay_s=2.0)], {}, "time-out"),
    "http-404": ([Reply(404, b"weg")], {}, "niet gevonden (HTTP 404)"),
    "http-500": ([Reply(500, b"kapot")], {}, "serverfout (HTTP 500) na 2 pogingen"),
    "retry-after-too-long": ([Reply(503, headers={"Retry-After": "3600"})], {}, "Retry-After: 3600"),
    "50-mb-declared": ([Reply(200, repeat(b"a" * 65536, 50_000_000),
                              {"Content-Type": HTML, "Content-Length": "50000000"})], {}, "te groot"),
    "50-mb-streamed": ([Reply(200, repeat(b"<p>" + b"a" * 65533, 50_000_000), {"Content-Type": HTML})], {},
                       "te groot"),
    "corrupt-pdf": ([Reply(200, corrupt_pdf(), {"Content-Type": "application/pdf"})], {}, "beschadigd"),
    "encrypted-pdf": ([Reply(200, note_pdf(read_note("31-trimbos"), "Geheim", password="geheim"),
                             {"Content-Type": HTML})], {}, "versleuteld"),
    "redirect-to-metadata": ([Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})], {},
                             "169.254.169.254 (link-local adres)"),
    "redirect-loop": ([Reply(302, headers={"Location": PATHS["trimbos-signaleren-po"]})], {},
                      "te veel doorverwijzingen"),
    "robots-disallow": ([Reply(200, b"<p>verboden</p>", {"Content-Type": HTML})], _robots_disallow(), "robots.txt"),
    "robots-unreachable": ([Reply(200, b"<p>x</p>", {"Content-Type": HTML})],
                           {"/robots.txt": [Reply(500)]}, "robots.txt niet bereikbaar (serverfout (HTTP 500)"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("had_snapshot", [False, True], ids=["no-snapshot", "after-good-fetch"])
def test_hostile_server_ends_in_a_recorded_error_and_keeps_the_last_snapshot(
        env: Env, good_page: bytes, case: str, had_snapshot: bool) -> None:
    link_id, path = "trimbos-signaleren-po", PATHS["trimbos-signaleren-po"]
    if had_snapshot:
        env.server.route(path, Reply(200, good_page, {"Content-Type": HTML}))
        assert env.fetch(link_id)[link_id].outcome == "nieuw"
        good = env.store.manifest(link_id)
        good_text = env.store.text(link_id)
    replies, other_routes, expected = HOSTILE[case]
    env.server.route(path, *replies)
    for other, other_replies in other_routes.items():
        env.server.route(other, *other_replies)

    started = time.monotonic()
    result = env.fetch(link_id)[link_id]
    assert time.monotonic() - started < 5
    assert result.outcome == "fout" and expected in result.error
    m = env.store.manifest(link_id)
    assert m.error == result.error and m.last_checked_at
    if had_snapshot:
        assert (m.sha256, m.content_file, m.fetched_at, m.last_ok_at) == (
            good.sha256, good.content_file, good.fetched_at, good.last_ok_at)
        assert env.store.text(link_id) == good_text
        assert (env.store.dir(link_id) / "content.html").read_bytes() == good_page
    else:
        assert m.content_file is None and env.store.text(link_id) is None
        assert sorted(p.name for p in env.store.dir(link_id).iterdir()) == ["manifest.json"]
    assert link_id in {r["id"] for r in link_health(env.settings) if r["ok"] is False}
    assert env.url(link_id) in dead_links(env.settings)


def test_metadata_redirect_is_refused_before_any_connection(env: Env) -> None:
    env.server.route(PATHS["kansenkaart"], Reply(301, headers={"Location": "http://169.254.169.254/"}))
    result = env.fetch("kansenkaart")["kansenkaart"]
    assert "link-local" in result.error and result.status is None
    assert not any("169.254" in url for url in env.transport.asked)  # never even handed to the transport
    assert env.transport.asked == [env.server.url("/robots.txt"), env.url("kansenkaart")]


def test_robots_disallow_means_the_page_is_never_requested(env: Env) -> None:
    for path, replies in _robots_disallow().items():
        env.server.route(path, *replies)
    env.server.route(PATHS["trimbos-signaleren-po"], Reply(200, b"<p>verboden</p>", {"Content-Type": HTML}))
    env.server.route(PATHS["voraad-kansrijke-doorstroom"],
                     Reply(200, b"<p>toegestaan</p>" * 30, {"Content-Type": HTML}))
    results = env.fetch("trimbos-signaleren-po", "voraad-kansrijke-doorstroom")
    assert results["trimbos-signaleren-po"].outcome == "fout"
    assert results["voraad-kansrijke-doorstroom"].outcome == "nieuw"
    assert env.server.seen(PATHS["trimbos-signaleren-po"]) == []


def test_500_then_200_is_retried_with_backoff(env: Env, good_page: bytes) -> None:
    env.server.route(PATHS["kansenkaart"], Reply(500), Reply(200, good_page, {"Content-Type": HTML}))
    assert env.fetch("kansenkaart")["kansenkaart"].outcome == "nieuw"
    first, second = env.server.seen(PATHS["kansenkaart"])
    assert second.at - first.at >= 0.45  # BACKOFF_BASE_S


def test_429_with_retry_after_is_honoured(env: Env, good_page: bytes) -> None:
    env.server.route(PATHS["kansenkaart"], Reply(429, headers={"Retry-After": "1"}),
                     Reply(200, good_page, {"Content-Type": HTML}))
    assert env.fetch("kansenkaart")["kansenkaart"].outcome == "nieuw"
    first, second = env.server.seen(PATHS["kansenkaart"])
    assert second.at - first.at >= 0.95


@pytest.mark.slow
def test_slow_drip_is_cut_off_by_the_total_time_limit(env: Env) -> None:
    # Each byte arrives within the read timeout, but the whole body never ends.
    env.server.route(PATHS["kansenkaart"], Reply(200, repeat(b"<p>", 10_000), {"Content-Type": HTML},
                                                 chunk_delay_s=0.1))
    started = time.monotonic()
    result = env.fetch("kansenkaart")["kansenkaart"]
    assert "te lang" in result.error
    assert time.monotonic() - started < 4 * env.settings.fetch.timeout_s + 1.5


def test_prompt_injection_page_is_stored_as_data_and_obeyed_nowhere(env: Env, note) -> None:
    links_yaml = (env.settings.corpus_dir / "links.yaml").read_bytes()
    notes_yaml = (env.settings.corpus_dir / "link_notes.yaml").read_bytes()
    env.server.route(PATHS["pharos-infosheet-welbevinden"],
                     Reply(200, injection_html(note, env.server.base_url), {"Content-Type": HTML}))
    assert env.fetch("pharos-infosheet-welbevinden")["pharos-infosheet-welbevinden"].outcome == "nieuw"

    text = env.store.text("pharos-infosheet-welbevinden")
    assert CANARY in text and "Negeer alle vorige instructies" in text  # kept verbatim, as data
    assert {r.path for r in env.server.requests} == {"/robots.txt", PATHS["pharos-infosheet-welbevinden"]}
    assert not any("evil.invalid" in url for url in env.transport.asked)
    assert (env.settings.corpus_dir / "links.yaml").read_bytes() == links_yaml
    assert (env.settings.corpus_dir / "link_notes.yaml").read_bytes() == notes_yaml

    card = load_card(env.settings.corpus_dir)
    # Stored verbatim, but the instruction and the canary never reach the index (corpus/safe_text).
    chunks = [c for c in resource_chunks(env.settings, card)
              if c.metadata["source"] == env.url("pharos-infosheet-welbevinden")]
    assert chunks
    assert not any(CANARY in c.text or "Negeer alle vorige instructies" in c.text for c in chunks)
    for c in chunks:
        assert c.metadata["source"] == env.url("pharos-infosheet-welbevinden")
        assert json.loads(c.metadata["links"]) == [{"url": env.url("pharos-infosheet-welbevinden"),
                                                    "title": "Pharos-infosheet Welbevinden op school"}]
    assert len(card.links) == 38


# --- address guard --------------------------------------------------------------------------------

def test_default_transport_fetches_loopback_only_when_allowed(env: Env, good_page: bytes) -> None:
    env.server.route(PATHS["kansenkaart"], Reply(200, good_page, {"Content-Type": HTML}))
    # No test transport here: the production transport with GuardedBackend, on loopback.
    report = fetch_links(env.settings, only=["kansenkaart"])
    assert report.results[0].outcome == "nieuw"
    strict = env.settings.with_changes(fetch={"allow_private": False})
    before = len(env.server.requests)
    [result] = fetch_links(strict, only=["kansenkaart"]).results
    assert result.outcome == "fout" and "loopback-adres" in result.error
    assert len(env.server.requests) == before  # refused before connecting


# --- selection and commands -----------------------------------------------------------------------

def test_only_takes_urls_and_ids() -> None:
    links = load_card(CORPUS_DIR).links
    voraad = "https://www.vo-raad.nl/nieuws/nieuwe-handreiking-kansrijke-doorstroom-na-de-brugklas/"  # extra '/'
    picked = select_links(links, [voraad, "kansenkaart"])
    assert [lk.id for lk in picked] == ["kansenkaart", "voraad-kansrijke-doorstroom"]
    assert select_links(links, None) == list(links)
    with pytest.raises(ValueError, match="onbekende link"):
        select_links(links, ["kansenkaart", "https://example.org/niet-in-de-kaart"])


def test_fetch_and_links_commands(env: Env, good_page: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    env.server.route(PATHS["kansenkaart"], Reply(200, good_page, {"Content-Type": HTML}))
    env.server.route(PATHS["trimbos-signaleren-po"], Reply(404, b"weg"))

    assert fetch_command(env.settings, ["kansenkaart", "trimbos-signaleren-po"], as_json=True) == 1
    fetched = {r["link_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert fetched["kansenkaart"]["outcome"] == "nieuw" and fetched["kansenkaart"]["ok"] is True
    assert fetched["trimbos-signaleren-po"]["status"] == 404 and fetched["trimbos-signaleren-po"]["ok"] is False

    assert links_command(env.settings, as_json=True) == 1
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 38
    assert (rows["kansenkaart"]["status"], rows["kansenkaart"]["ok"], rows["kansenkaart"]["has_snapshot"]) == (
        "in orde", True, True)
    trimbos = rows["trimbos-signaleren-po"]
    assert (trimbos["status"], trimbos["http_status"]) == ("onbereikbaar", 404)
    assert rows["nji-vve"]["status"] == "nooit gecontroleerd" and rows["nji-vve"]["ok"] is None

    links_command(env.settings, as_json=False)
    out = capsys.readouterr().out
    assert "38 links: 1 in orde, 1 onbereikbaar, 36 nooit gecontroleerd." in out
    assert "pagina niet gevonden (HTTP 404)" in out

    assert fetch_command(env.settings, ["https://example.org/onbekend"], as_json=False) == 2
    assert "onbekende link" in capsys.readouterr().err


def _age_manifest(store: SnapshotStore, link_id: str) -> None:
    """Pretend the snapshot and its last check are old, to see which dates a refresh moves."""
    path = store.dir(link_id) / "manifest.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.update(fetched_at="2000-01-01T00:00:00+00:00", last_checked_at="2000-01-01T00:00:00+00:00",
               last_ok_at="2000-01-01T00:00:00+00:00")
    path.write_text(json.dumps(raw), encoding="utf-8")


# --- end to end: fetch from the local server, ingest, and an answer cites the fetched page ----------------

@pytest.mark.slow
def test_fetched_page_is_ingested_and_cited_in_an_answer(env: Env, good_page: bytes) -> None:
    from assistant.wiring import build_assistant
    from ingest.pipeline import run_ingest

    env.server.route(PATHS["pharos-infosheet-welbevinden"], Reply(200, good_page, {"Content-Type": HTML}))
    env.server.route(PATHS["kansenkaart"], Reply(404))
    assert env.fetch("pharos-infosheet-welbevinden")["pharos-infosheet-welbevinden"].outcome == "nieuw"
    env.fetch("kansenkaart")
    summary = run_ingest(env.settings)
    assert summary.resource_chunks > 38 - 1

    url = env.url("pharos-infosheet-welbevinden")
    ans = build_assistant(env.settings).answer(
        "Hoe werk ik aan welbevinden op school bij kinderen uit gezinnen in kwetsbare omstandigheden, "
        "zodat ze lekker in hun vel zitten?")
    assert ans.in_scope
    fetched = [p for p in ans.passages if p.kind == "bron" and p.source_url == url]
    assert fetched, "a chunk of the fetched page is among the answer's passages"
    n = next(c.n for c in ans.citations if c.url == url)
    quote = (ans.answer + "\n" + ans.more).split("### Uit de gelinkte bronnen")[1].strip().splitlines()[0]
    assert quote.endswith(f"[{n}]") and quote[2:].rsplit(" [", 1)[0] in fetched[0].text

    # A link that was dead at the last check is marked in the answer's sources.
    dead_url = env.url("kansenkaart")
    ans = build_assistant(env.settings).answer("Waar vind ik cijfers over inkomen, gezondheid en schooladvies in onze gemeente?")
    dead = [c for c in ans.citations if c.url == dead_url]
    assert dead and dead[0].dead
    assert f"{dead_url} (deze link werkte niet bij de laatste controle)" in ans.answer + ans.more
