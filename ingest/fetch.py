"""Fetch the praktijkkaart's linked resources into the snapshot store, politely and defensively.

Per link: URL checks and the address guard (every hop, before any connection), robots.txt,
conditional request, retries with backoff on 429/5xx (Retry-After honoured up to a cap), one
deadline per request over connect, headers and body (enforced at every socket call, see
ingest.http_guard), a byte cap on the decoded body with at most one Content-Encoding layer (see
ingest.decoding), content type sniffed from the bytes, text extraction in a limited subprocess,
then an atomic snapshot. Anything that goes wrong ends as a Dutch error in the link's manifest; the last good
snapshot is kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.robotparser import RobotFileParser

import httpx

from corpus.model import Link, load_card
from ingest.decoding import DecodeError, content_coding, decoded, supported_encodings
from ingest.extract import ExtractionError, extract, sniff_kind
from ingest.http_guard import (  # noqa: F401 - re-exported: the fetcher's public guard API
    BadURL,
    BlockedAddress,
    Deadline,
    GuardedBackend,
    address_problem,
    deadline,
    guarded_transport,
    join_url,
    parse_url,
    resolve_checked,
)
from ingest.snapshots import SnapshotStore
from praktijkkaart.settings import Settings

MAX_REDIRECTS = 5
BACKOFF_BASE_S = 0.5  # waits 0.5, 1, 2, ... s between retries when the server gives no Retry-After
RETRY_WAIT_CAP_S = 10.0  # a longer Retry-After is not waited for: the check fails and says so
# Per request, from the start of connect: status line and headers within HEADERS_TIME_FACTOR x
# fetch_timeout_s, and everything (connect + headers + body) within TOTAL_TIME_FACTOR x fetch_timeout_s.
HEADERS_TIME_FACTOR = 1
TOTAL_TIME_FACTOR = 4
ROBOTS_MAX_BYTES = 512_000
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


def default_transport(settings: Settings) -> httpx.HTTPTransport:
    """HTTP transport with the address guard and the per-request deadline; no proxies from the environment."""
    return guarded_transport(allow_private=settings.fetch.allow_private,
                             max_connections=settings.fetch.concurrency * 2)


# --- results --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchResult:
    link_id: str
    url: str
    outcome: str  # 'nieuw', 'bijgewerkt', 'ongewijzigd' or 'fout'
    status: int | None = None
    final_url: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "fout"


@dataclass(frozen=True)
class FetchReport:
    results: tuple[FetchResult, ...]

    @property
    def failed(self) -> list[FetchResult]:
        return [r for r in self.results if not r.ok]

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(r) | {"ok": r.ok} for r in self.results]


class FetchFailure(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes


# --- the fetcher ----------------------------------------------------------------------------------

def select_links(links: Iterable[Link], only: list[str] | None) -> list[Link]:
    """All links, or those named in `only` by URL or link id; raise ValueError (Dutch) for unknown ones."""
    links = list(links)
    if not only:
        return links
    by_key: dict[str, Link] = {}
    for lk in links:
        by_key[lk.id] = lk
        by_key[lk.url] = lk
        by_key[lk.url.rstrip("/")] = lk
    unknown = [x for x in only if x not in by_key and x.rstrip("/") not in by_key]
    if unknown:
        raise ValueError("onbekende link(s), niet in links.yaml: " + ", ".join(unknown))
    wanted = {(by_key.get(x) or by_key[x.rstrip("/")]).id for x in only}
    return [lk for lk in links if lk.id in wanted]


def fetch_links(settings: Settings, *, only: list[str] | None = None,
                progress: Callable[[FetchResult], None] | None = None,
                transport: httpx.BaseTransport | None = None) -> FetchReport:
    """Fetch every link of the corpus (or those in `only`: URLs or link ids) into the snapshot store.

    At most settings.fetch.concurrency hosts at a time, one request at a time per host.
    """
    links = select_links(load_card(settings.corpus_dir).links, only)
    by_host: dict[str, list[Link]] = {}
    for lk in links:
        by_host.setdefault(_host_key(lk.url), []).append(lk)

    results: dict[str, FetchResult] = {}
    lock = threading.Lock()

    def run_host(host_links: list[Link]) -> None:
        fetcher = _Fetcher(settings, client)  # one robots.txt cache per host group
        for lk in host_links:
            result = fetcher.fetch_link(lk)
            with lock:
                results[lk.id] = result
                if progress:
                    progress(result)

    headers = {"User-Agent": settings.fetch.user_agent, "Accept": ACCEPT,
               "Accept-Encoding": ", ".join(supported_encodings())}
    with (httpx.Client(transport=transport or default_transport(settings), timeout=settings.fetch.timeout_s,
                       follow_redirects=False, trust_env=False, headers=headers) as client,
          ThreadPoolExecutor(max_workers=settings.fetch.concurrency, thread_name_prefix="fetch") as pool):
        for future in [pool.submit(run_host, group) for group in by_host.values()]:
            future.result()
    return FetchReport(results=tuple(results[lk.id] for lk in links))


def _host_key(url: str) -> str:
    """Host to group a link under; malformed URLs share one group and each fail on their own."""
    try:
        return parse_url(url).host.lower()
    except BadURL:
        return ""


class _Fetcher:
    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client
        self.store = SnapshotStore(settings.resources_dir)
        self.robots: dict[str, tuple[RobotFileParser, str | None]] = {}

    def fetch_link(self, link: Link) -> FetchResult:
        """Fetch one link and update its snapshot; never raises."""
        store = self.store
        try:
            old = store.manifest(link.id)
            headers = {}
            if old and old.url == link.url and store.has_content(link.id):
                if old.etag:
                    headers["If-None-Match"] = old.etag
                if old.last_modified:
                    headers["If-Modified-Since"] = old.last_modified
            resp = self._get(link.url, headers=headers, check_robots=True, max_bytes=self.settings.fetch.max_bytes)
            if resp.status == 304 and headers:
                store.record_not_modified(link.id, link.url)
                return FetchResult(link.id, link.url, "ongewijzigd", 304, old.final_url if old else None)
            if resp.status != 200:
                raise FetchFailure(_status_message(resp.status), resp.status)
            content_type = resp.headers.get("content-type")
            kind = sniff_kind(resp.body, content_type)
            try:
                extracted = extract(resp.body, kind, pdf_timeout_s=self.settings.fetch.pdf_timeout_s,
                                    pdf_memory_mb=self.settings.fetch.pdf_memory_mb)
            except ExtractionError as exc:
                raise FetchFailure(f"tekst niet uit te halen: {exc}", resp.status) from None
            m = store.save(link_id=link.id, url=link.url, final_url=resp.url, status=resp.status,
                           content_type=content_type, kind=kind, raw=resp.body, text=extracted.text,
                           extractor=extracted.extractor, etag=resp.headers.get("etag"),
                           last_modified=resp.headers.get("last-modified"))
            if old is None or old.sha256 is None:
                outcome = "nieuw"
            elif old.sha256 == m.sha256 and old.url == link.url:
                outcome = "ongewijzigd"
            else:
                outcome = "bijgewerkt"
            return FetchResult(link.id, link.url, outcome, resp.status, resp.url)
        except FetchFailure as exc:
            error, status = str(exc), exc.status
        except (BlockedAddress, BadURL) as exc:
            error, status = str(exc), None
        except httpx.TimeoutException:
            error, status = f"time-out: geen antwoord binnen {self.settings.fetch.timeout_s:g} s", None
        except httpx.HTTPError as exc:
            error, status = f"netwerkfout: {type(exc).__name__}: {exc}", None
        except Exception as exc:  # noqa: BLE001 - one bad link must not stop the other 37
            error, status = f"onverwachte fout: {type(exc).__name__}: {exc}", None
        try:
            store.record_error(link.id, link.url, error, status)
        except OSError as exc:
            error += f" (manifest niet weggeschreven: {exc})"
        return FetchResult(link.id, link.url, "fout", status, None, error)

    # -- one GET, following redirects by hand --------------------------------------------------------

    def _get(self, url: str, *, headers: dict[str, str], check_robots: bool, max_bytes: int) -> _Response:
        """GET url; every hop is address-checked (and robots-checked) before it is requested."""
        current = parse_url(url)
        for _hop in range(MAX_REDIRECTS + 1):
            port = current.port or (443 if current.scheme == "https" else 80)
            resolve_checked(current.host, port, allow_private=self.settings.fetch.allow_private)
            if check_robots:
                self._check_robots(current)
            resp = self._send_with_retries(current, headers, max_bytes)
            if resp.status in REDIRECT_STATUSES and "location" in resp.headers:
                current = join_url(current, resp.headers["location"])
                continue
            return resp
        raise FetchFailure(f"te veel doorverwijzingen (meer dan {MAX_REDIRECTS})")

    def _send_with_retries(self, url: httpx.URL, headers: dict[str, str], max_bytes: int) -> _Response:
        """Send one GET; on 429/5xx wait (Retry-After or backoff) and try again, up to fetch_retries times."""
        attempt = 0
        while True:
            resp, retry_after = self._send_once(url, headers, max_bytes)
            status = resp.status
            if status != 429 and status < 500:
                return resp
            wait = _retry_wait(retry_after, attempt)
            if wait is None:
                raise FetchFailure(f"{_status_message(status)}; de server vraagt langer te wachten "
                                   f"(Retry-After: {retry_after})", status)
            if attempt >= self.settings.fetch.retries:
                tries = f" na {attempt + 1} pogingen" if attempt else ""
                raise FetchFailure(_status_message(status) + tries, status)
            time.sleep(wait)
            attempt += 1

    def _send_once(self, url: httpx.URL, headers: dict[str, str], max_bytes: int) -> tuple[_Response, str | None]:
        """One request under one deadline; the body only for a final answer, with the Retry-After header."""
        timeout = self.settings.fetch.timeout_s
        started = time.monotonic()
        with deadline(HEADERS_TIME_FACTOR * timeout) as limit:
            try:
                response = self.client.send(self.client.build_request("GET", url, headers=headers), stream=True)
            except httpx.TimeoutException:
                if not limit.passed:
                    raise
                raise FetchFailure(f"time-out: de server stuurde binnen {HEADERS_TIME_FACTOR * timeout:g} s "
                                   "geen volledig antwoord") from None
            except httpx.RemoteProtocolError as exc:
                # httpx parses Location itself, even without following redirects; only its text tells.
                if "location header" not in str(exc):
                    raise
                raise BadURL("ongeldige doorverwijzing: de Location-kop is geen geldig adres") from None
            limit.at = started + TOTAL_TIME_FACTOR * timeout
            try:
                status = response.status_code
                final = status != 429 and status < 500 and status not in REDIRECT_STATUSES
                body = self._read_capped(response, max_bytes, limit) if final else b""
                return _Response(str(url), status, response.headers, body), response.headers.get("retry-after")
            finally:
                response.close()

    def _read_capped(self, response: httpx.Response, max_bytes: int, limit: Deadline) -> bytes:
        """Stream and decode the body; stop at max_bytes (raw or decoded) or at the request's deadline."""
        status = response.status_code
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchFailure(f"bestand te groot ({int(declared):,} bytes; grens {max_bytes:,})".replace(",", "."),
                               status)
        too_large = FetchFailure(f"bestand te groot (meer dan {max_bytes:,} bytes)".replace(",", "."), status)
        buf = bytearray()
        try:
            coding = content_coding(response.headers.get("content-encoding"))
            for piece in decoded(_capped(response.iter_raw(), max_bytes, too_large), coding):
                buf += piece
                if len(buf) > max_bytes:
                    raise too_large
                if limit.passed:
                    raise FetchFailure("download duurde te lang en is afgebroken", status)
        except DecodeError as exc:
            raise FetchFailure(str(exc), status) from None
        except httpx.TimeoutException:
            if not limit.passed:
                raise
            raise FetchFailure("download duurde te lang en is afgebroken", status) from None
        return bytes(buf)

    # -- robots.txt ----------------------------------------------------------------------------------

    def _check_robots(self, url: httpx.URL) -> None:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        if origin not in self.robots:
            self.robots[origin] = self._load_robots(origin)
        parser, unreachable = self.robots[origin]
        if not parser.can_fetch(self.settings.fetch.user_agent, str(url)):
            raise FetchFailure(unreachable or "robots.txt van de site staat ophalen niet toe")

    def _load_robots(self, origin: str) -> tuple[RobotFileParser, str | None]:
        """RFC 9309: 4xx means no rules; 5xx or no answer means: fetch nothing from this site."""
        parser = RobotFileParser(origin + "/robots.txt")
        try:
            resp = self._get(origin + "/robots.txt", headers={}, check_robots=False, max_bytes=ROBOTS_MAX_BYTES)
        except (FetchFailure, BlockedAddress, BadURL, httpx.HTTPError) as exc:
            parser.disallow_all = True  # type: ignore[attr-defined]
            return parser, f"robots.txt niet bereikbaar ({str(exc) or type(exc).__name__})"
        if resp.status == 200:
            parser.parse(resp.body.decode("utf-8", errors="replace").splitlines())
        elif 400 <= resp.status < 500:
            parser.allow_all = True  # type: ignore[attr-defined]
        else:
            parser.disallow_all = True  # type: ignore[attr-defined]
            return parser, f"robots.txt niet bereikbaar (HTTP {resp.status})"
        return parser, None


def _capped(chunks: Iterable[bytes], max_bytes: int, too_large: Exception) -> Iterator[bytes]:
    """The raw chunks, raising too_large past max_bytes (bytes after a compressed stream count too)."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        yield chunk


def _retry_wait(retry_after: str | None, attempt: int) -> float | None:
    """Seconds to wait before the next attempt; None when the server asks for longer than the cap."""
    if retry_after is None:
        return BACKOFF_BASE_S * 2.0**attempt
    value = retry_after.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return BACKOFF_BASE_S * 2.0**attempt
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, (when - datetime.now(UTC)).total_seconds())
    return seconds if seconds <= RETRY_WAIT_CAP_S else None


def _status_message(status: int) -> str:
    labels = {
        304: "niet gewijzigd, maar er is geen eerdere kopie",
        401: "inloggen vereist", 403: "toegang geweigerd", 404: "pagina niet gevonden", 410: "pagina verwijderd",
        429: "te veel verzoeken",
    }
    label = labels.get(status) or ("serverfout" if status >= 500 else "onverwacht antwoord")
    return f"{label} (HTTP {status})"
