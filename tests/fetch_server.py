"""A real threaded HTTP server on 127.0.0.1 for the fetcher's tests, and a loopback-only transport.

Routes map a path to one or more replies: each request takes the next reply, the last one repeats
(so "500 then 200" is ``server.route("/p", Reply(500), Reply(200, body=...))``), or to a function of
the request headers. Every request is logged with its headers and time so tests can assert what
was (and was not) asked for; `max_in_flight` is the highest number of requests served at once.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import httpx
import yaml

from ingest.http_guard import guarded_transport


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""  # a callable streams its chunks, unframed, until close
    headers: dict[str, str] = field(default_factory=dict)
    chunk_delay_s: float = 0.0  # pause before each streamed chunk (slow drip)
    delay_s: float = 0.0  # pause before the status line
    dribble_s: float = 0.0  # send the status line and headers one byte at a time, this far apart


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]  # lower-case names
    at: float  # time.monotonic() when the request arrived


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # The fetcher hanging up mid-reply (byte cap, deadline) is expected; anything else is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FetchServer:
    def __init__(self) -> None:
        self._routes: dict[str, list[Reply] | Callable[[dict[str, str]], Reply]] = {}
        self._in_flight = 0
        self.max_in_flight = 0
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- setup ---------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._routes[path] = list(replies)
            self._served[path] = 0

    def route_fn(self, path: str, fn: Callable[[dict[str, str]], Reply]) -> None:
        with self._lock:
            self._routes[path] = fn

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- serving -------------------------------------------------------------------------------------

    def _next_reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Seen(path, headers, time.monotonic()))
            replies = self._routes.get(path)
            if callable(replies):
                return replies(headers)
            if not replies:
                return Reply(404, b"niet gevonden", {"Content-Type": "text/plain"})
            n = self._served[path]
            self._served[path] = n + 1
            return replies[min(n, len(replies) - 1)]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        reply = self._next_reply(h.path, {k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(reply.delay_s)
            if reply.dribble_s:
                _dribble_head(h, reply)
                return
            h.send_response(reply.status)
            for name, value in reply.headers.items():
                h.send_header(name, value)
            if isinstance(reply.body, bytes):
                if "Content-Length" not in reply.headers:
                    h.send_header("Content-Length", str(len(reply.body)))
                h.end_headers()
                h.wfile.write(reply.body)
            else:
                h.send_header("Connection", "close")  # body runs until the connection closes
                h.end_headers()
                h.close_connection = True
                for chunk in reply.body():
                    if reply.chunk_delay_s:
                        time.sleep(reply.chunk_delay_s)
                    h.wfile.write(chunk)
                    h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True  # the client hung up (byte cap, time-out): that is the point
        finally:
            with self._lock:
                self._in_flight -= 1


def _dribble_head(h: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Status line and headers byte by byte: each gap is short, the whole head takes minutes."""
    body = reply.body if isinstance(reply.body, bytes) else b""
    lines = [f"HTTP/1.1 {reply.status} OK", *(f"{k}: {v}" for k, v in reply.headers.items()),
             f"Content-Length: {len(body)}", "", ""]
    h.close_connection = True
    for byte in "\r\n".join(lines).encode("latin-1"):
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(reply.dribble_s)
    h.wfile.write(body)


def corpus_with_urls(target: Path, urls: dict[str, str]) -> Path:
    """A copy of the real corpus in `target` in which the links named in `urls` (by id) get that URL."""
    from praktijkkaart.settings import CORPUS_DIR

    target.mkdir(parents=True)
    for name in ("praktijkkaart.yaml", "synonyms.yaml", "link_notes.yaml"):
        (target / name).write_bytes((CORPUS_DIR / name).read_bytes())
    raw = yaml.safe_load((CORPUS_DIR / "links.yaml").read_text(encoding="utf-8"))
    for entry in raw["links"]:
        if entry["id"] in urls:
            entry["url"] = urls[entry["id"]]
    (target / "links.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def repeat(chunk: bytes, total: int) -> Callable[[], Iterator[bytes]]:
    """A streamed body of `total` bytes made of `chunk`, generated lazily."""
    def gen() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            piece = chunk[: total - sent]
            sent += len(piece)
            yield piece
    return gen


class LoopbackOnlyTransport(httpx.BaseTransport):
    """The fetcher's transport (address guard, deadline) that also refuses and records any host but 127.0.0.1."""

    def __init__(self) -> None:
        self._inner = guarded_transport(allow_private=True)  # the production guard and deadline
        self.asked: list[str] = []
        self.refused: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        if request.url.host != "127.0.0.1":
            self.refused.append(str(request.url))
            raise httpx.ConnectError(f"test transport: no traffic off loopback ({request.url.host})")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
