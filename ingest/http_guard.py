"""Network-level defences of the fetcher: the address guard, URL checks and a per-request deadline.

The deadline is enforced where the bytes arrive: every socket read, write, connect and TLS
handshake gets at most the time left until the current thread's deadline as its timeout, so a
server that dribbles its status line or headers a byte at a time (each byte within the read
timeout) is still cut off when the deadline passes. No watchdog thread is needed because each
blocking call is itself bounded.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

# Cloud metadata endpoints outside the link-local range; refused even when private addresses are allowed.
_METADATA_IPS = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")


class BlockedAddress(Exception):
    """The host resolves to an address we must not connect to (message in Dutch)."""


class BadURL(Exception):
    """A link or redirect target that is not a fetchable http(s) address (message in Dutch)."""


# --- URL checks -----------------------------------------------------------------------------------

def parse_url(raw: str) -> httpx.URL:
    """The URL as httpx sees it, or BadURL with a Dutch reason; never any other exception."""
    if not raw or not raw.strip():
        raise BadURL("geen adres opgegeven (lege link)")
    try:
        url = httpx.URL(raw)
        port = url.port
    except (httpx.InvalidURL, ValueError, TypeError):
        raise BadURL(f"ongeldig adres: {raw!r}") from None
    if not url.scheme:
        raise BadURL(f"ongeldig adres (geen http of https): {raw!r}")
    if url.scheme not in ("http", "https"):
        raise BadURL(f"niet-ondersteund adres (alleen http en https): {raw!r}")
    if not url.raw_host:
        raise BadURL(f"ongeldig adres (geen host): {raw!r}")
    if port is not None and not 1 <= port <= 65535:
        raise BadURL(f"ongeldig poortnummer {port} in {raw!r}")
    host = url.raw_host.decode("ascii", errors="replace").lower()
    if not _is_ip(host) and not _HOSTNAME.match(host):
        raise BadURL(f"ongeldige hostnaam {host!r} in {raw!r}")
    return url


def join_url(base: httpx.URL, location: str) -> httpx.URL:
    """A redirect target, checked like a link."""
    try:
        target = str(base.join(location))
    except (httpx.InvalidURL, ValueError, TypeError):
        raise BadURL(f"ongeldige doorverwijzing: {location!r}") from None
    return parse_url(target)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


# --- address guard --------------------------------------------------------------------------------

def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool) -> str | None:
    """Why this address may not be fetched, or None when it may.

    allow_private (tests only) allows loopback and nothing else: link-local and metadata addresses
    stay refused in every configuration.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_problem(embedded, allow_private=allow_private)
    if ip.is_link_local or ip in _METADATA_IPS:
        return "link-local adres"
    if ip.is_loopback:
        return None if allow_private else "loopback-adres"
    if ip.is_unspecified:
        return "ongeldig adres"
    if ip.is_multicast:
        return "multicast-adres"
    if ip.is_reserved:
        return "gereserveerd adres"
    if ip.is_private or not ip.is_global:
        return "privé-adres"
    return None


def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve host and return its addresses; raise BlockedAddress if any of them is refused."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise BlockedAddress(f"host {host} niet gevonden ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for addr in addresses:
        problem = address_problem(ipaddress.ip_address(addr.split("%")[0]), allow_private=allow_private)
        if problem:
            raise BlockedAddress(f"adres geweigerd: {host} wijst naar {addr} ({problem})")
    if not addresses:
        raise BlockedAddress(f"host {host} niet gevonden")
    return addresses


# --- the deadline ---------------------------------------------------------------------------------

@dataclass
class Deadline:
    at: float  # time.monotonic() value; may be moved once the headers are in

    def left(self) -> float:
        return self.at - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.left() <= 0


_current = threading.local()  # httpx's sync client does all socket I/O in the calling thread


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Bound all socket I/O of this thread (through GuardedBackend) to `seconds` from now."""
    outer = getattr(_current, "deadline", None)
    _current.deadline = Deadline(time.monotonic() + seconds)
    try:
        yield _current.deadline
    finally:
        _current.deadline = outer


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    """The timeout for one blocking call: the configured one, but never past the deadline."""
    current: Deadline | None = getattr(_current, "deadline", None)
    if current is None:
        return timeout
    left = current.left()
    if left <= 0:
        raise exc("tijdslimiet van het verzoek verstreken")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every blocking call stops at the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: object, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # The ssl module bounds the whole handshake by the socket timeout, not each record.
        inner = self._inner.start_tls(ssl_context, server_hostname,  # type: ignore[arg-type]
                                      _bounded(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Network backend that checks the resolved address at connect time and connects to that address.

    The pre-request check in the fetcher refuses bad hosts before any request; this second check
    closes the gap where DNS answers differently between the check and the connection. Its
    streams honour the current thread's deadline.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addr = resolve_checked(host, port, allow_private=self._allow_private)[0]
        stream = self._inner.connect_tcp(addr, port, timeout=_bounded(timeout, httpcore.ConnectTimeout),
                                         local_address=local_address, socket_options=socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ARG002 - httpcore signature
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:  # noqa: ARG002
        raise BlockedAddress("unix-sockets worden niet gebruikt")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(*, allow_private: bool, max_connections: int = 8) -> httpx.HTTPTransport:
    """HTTP transport whose connections go through GuardedBackend; no proxies from the environment."""
    transport = httpx.HTTPTransport(trust_env=False, limits=httpx.Limits(max_connections=max_connections))
    # httpx 0.28 has no public way to pass a network backend; the pool is a plain httpcore.ConnectionPool.
    transport._pool._network_backend = GuardedBackend(allow_private=allow_private)
    return transport
