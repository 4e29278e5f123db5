"""Content-Encoding decoding with bounded output, so a small compressed body cannot fill memory.

httpx decodes a whole network chunk at once (a 64 kB gzip chunk can be 64 MB of zeros, a 64 kB
zstd chunk gigabytes), and stacks decoders for 'gzip, gzip'. Here the body is read raw and every
decoder hands out at most DECODE_CHUNK bytes per step, so the caller's byte cap on the decoded
size is checked before the next step; at most one encoding layer is accepted.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

try:  # zstd only when the zstandard package is installed, as in httpx
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None  # type: ignore[assignment]

DECODE_CHUNK = 64 * 1024  # at most this many decoded bytes per decoder step
# RFC 9659: a zstd Content-Encoding uses at most an 8 MB window; larger frames are refused, not decoded.
ZSTD_MAX_WINDOW = 8 * 1024 * 1024
_IDENTITY = {"", "identity"}


class DecodeError(Exception):
    """The body's Content-Encoding is refused or its data is broken (message in Dutch)."""


def supported_encodings() -> list[str]:
    """What we ask for in Accept-Encoding (brotli is never asked for: no bounded decoder here)."""
    return ["gzip", "deflate"] + (["zstd"] if zstandard is not None else [])


def content_coding(header: str | None) -> str | None:
    """The one encoding of the body (None: not encoded); DecodeError for stacked or unknown ones."""
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c not in _IDENTITY]
    if len(codings) > 1:
        raise DecodeError(f"gestapelde inhoudscodering geweigerd ({', '.join(codings)}); "
                          "er is maar één laag toegestaan")
    if not codings:
        return None
    coding = "gzip" if codings[0] == "x-gzip" else codings[0]
    if coding not in supported_encodings():
        raise DecodeError(f"niet-ondersteunde inhoudscodering: {coding}")
    return coding


def decoded(raw: Iterable[bytes], coding: str | None) -> Iterator[bytes]:
    """The decoded body in pieces of at most DECODE_CHUNK bytes (raw chunks as they are when not encoded)."""
    if coding is None:
        return iter(raw)
    if coding == "zstd":
        return _zstd(raw)
    return _zlib(raw, gzip=coding == "gzip")


def _zlib(raw: Iterable[bytes], *, gzip: bool) -> Iterator[bytes]:
    """gzip, or deflate with or without the zlib wrapper (servers send both); one stream."""
    decoder = None
    for data in raw:
        if not data:
            continue
        if decoder is None:
            decoder = zlib.decompressobj(31 if gzip else (15 if _zlib_header(data) else -15))
        yield from _inflate(decoder, data)
        if decoder.eof:
            return  # bytes after the end of the stream are ignored, as httpx does


def _inflate(decoder: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """All output for `data`, DECODE_CHUNK at a time; a full step may leave output pending in zlib."""
    while not decoder.eof:
        try:
            out = decoder.decompress(data, DECODE_CHUNK)
        except zlib.error:
            raise DecodeError("gecomprimeerde inhoud is beschadigd") from None
        if out:
            yield out
        data = decoder.unconsumed_tail
        if not data and len(out) < DECODE_CHUNK:
            return


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


class _RawReader:
    """File-like view of the raw chunks, for zstandard's stream_reader (which limits each read)."""

    def __init__(self, raw: Iterable[bytes]) -> None:
        self._chunks = iter(raw)
        self._left = b""

    def read(self, size: int = -1) -> bytes:
        if not self._left:
            self._left = next(self._chunks, b"")
        n = len(self._left) if size < 0 else size
        out, self._left = self._left[:n], self._left[n:]
        return out


def _zstd(raw: Iterable[bytes]) -> Iterator[bytes]:
    assert zstandard is not None  # content_coding only accepts zstd when it is installed
    source = _RawReader(raw)  # stream_reader only calls read(size) on it
    reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
        source, read_size=DECODE_CHUNK, read_across_frames=True)  # type: ignore[arg-type]
    while True:
        try:
            out = reader.read(DECODE_CHUNK)
        except zstandard.ZstdError:
            raise DecodeError("gecomprimeerde inhoud (zstd) is beschadigd of vraagt te veel geheugen") from None
        if not out:
            return
        yield out
