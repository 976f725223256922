"""HTTP response blocks of WARC/ARC response records: status, headers and the decoded payload.

A WARC ``response`` record holds the HTTP response exactly as the crawler received it: status
line, headers, then the body, possibly still chunked (``Transfer-Encoding: chunked``) and
compressed (``Content-Encoding: gzip``, ``deflate``, ``br``, ``zstd``). Crawlers differ: Common
Crawl stores the body decoded but keeps the headers (renamed ``X-Crawler-*`` since 2018, not
before), others store the bytes as sent. So decoding is lenient where being wrong is harmless
(a body that does not parse as chunks is kept as it is) and strict where it is not (a gzip body
that does not inflate is an error with a reason, never garbage passed on as text).

The record parser is hand-written rather than warcio's or fastwarc's because the WARC reader
(``corpus.parse.warc``) must see the whole block to tell a truncated record from a short one,
and because decoded size is capped (``max_bytes``) so a compressed bomb cannot exhaust memory.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass

_STATUS = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]+)[ \t]*(?:;[^\r\n]*)?\r?\n")
MAX_HEADER_BYTES = 64 * 1024


class HttpError(ValueError):
    """The block is not a usable HTTP response. ``reason`` is the rejected row's reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        value = None
        for k, v in self.headers:
            if k.lower() == name:
                value = v
        return value

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")

    @property
    def charset(self) -> str | None:
        return charset_of(self.content_type)


_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type value, lower-cased, or None."""
    if not content_type:
        return None
    m = _CHARSET.search(content_type)
    return m.group(1).lower() if m else None


def mime_of(content_type: str | None) -> str:
    """The media type of a Content-Type value (``"text/html"``), lower-cased; ``""`` if none."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def split_head(block: bytes) -> tuple[bytes, bytes]:
    """Split a response block at the blank line after the headers (CRLF or bare LF)."""
    end = block.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES)
    sep = 4
    lf = block.find(b"\n\n", 0, end if end >= 0 else MAX_HEADER_BYTES)
    if lf >= 0 and (end < 0 or lf < end):
        end, sep = lf, 2
    if end < 0:
        if len(block) < MAX_HEADER_BYTES and block.startswith(b"HTTP/"):
            return block, b""  # headers only, no body (a 304, a HEAD-like capture)
        raise HttpError("bad_http_headers", "no blank line after the HTTP headers in the first "
                        f"{min(len(block), MAX_HEADER_BYTES)} bytes")
    return block[:end], block[end + sep:]


def parse_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    m = _STATUS.match(lines[0].strip())
    if not m:
        raise HttpError("bad_http_headers",
                        f"status line {lines[0][:80]!r} is not 'HTTP/x.y NNN reason'")
    headers: list[tuple[str, str]] = []
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            k, v = headers[-1]
            headers[-1] = (k, v + " " + raw.strip().decode("latin-1"))
            continue
        k, sep, v = raw.partition(b":")
        if sep and k.strip():
            headers.append((k.strip().decode("latin-1"), v.strip().decode("latin-1")))
    return int(m.group(1)), headers


def dechunk(body: bytes) -> bytes | None:
    """Undo chunked transfer coding; None when ``body`` is not a well-formed chunk sequence."""
    out = []
    pos = 0
    n = len(body)
    while pos < n:
        m = _CHUNK_SIZE.match(body, pos)
        if not m:
            return None
        size = int(m.group(1), 16)
        pos = m.end()
        if size == 0:
            return b"".join(out)
        if pos + size > n:  # a chunk cut short: keep what arrived (the crawl truncated it)
            out.append(body[pos:])
            return b"".join(out)
        out.append(body[pos:pos + size])
        pos += size
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        elif body[pos:pos + 1] == b"\n":
            pos += 1
        else:
            return None
    return b"".join(out)


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, max_bytes + 1)
    if len(out) > max_bytes:
        raise HttpError("record_too_large", f"decoded body exceeds {max_bytes} bytes")
    return out


def _stream_decode(reader_cls, data: bytes, max_bytes: int) -> bytes:
    reader = reader_cls(io.BytesIO(data))
    out = reader.read(max_bytes + 1)
    if len(out) > max_bytes:
        raise HttpError("record_too_large", f"decoded body exceeds {max_bytes} bytes")
    return out


def decode_content(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding``. Raises ``HttpError("bad_content_encoding")`` on corrupt data."""
    enc = encoding.strip().lower()
    if not body or enc in ("", "identity", "none"):
        return body
    try:
        if enc in ("gzip", "x-gzip"):
            if body[:2] != b"\x1f\x8b":
                return body  # already decoded by the crawler (Common Crawl before 2018)
            return _inflate(body, 16 + zlib.MAX_WBITS, max_bytes)
        if enc == "deflate":
            try:
                return _inflate(body, zlib.MAX_WBITS, max_bytes)  # zlib-wrapped, per the RFC
            except zlib.error:
                return _inflate(body, -zlib.MAX_WBITS, max_bytes)  # raw deflate, as IIS sends it
        if enc == "br":
            from fastwarc.stream_io import BrotliReader

            return _stream_decode(BrotliReader, body, max_bytes)
        if enc == "zstd":
            from fastwarc.stream_io import ZstdReader

            return _stream_decode(ZstdReader, body, max_bytes)
    except (zlib.error, OSError, ValueError) as e:
        if isinstance(e, HttpError):
            raise
        if body.lstrip()[:1] == b"<":
            return body  # header says compressed, bytes are plain markup: the crawler decoded it
        raise HttpError("bad_content_encoding", f"{enc} body does not decode: {e}") from None
    return body  # an encoding we do not know: leave the bytes, charset/binary checks decide


def parse_response(block: bytes, *, max_bytes: int) -> HttpResponse:
    """Parse an HTTP response block into status, headers and the decoded body."""
    head, body = split_head(block)
    status, headers = parse_head(head)
    resp = HttpResponse(status, headers, body)
    te = (resp.header("transfer-encoding") or "").lower()
    if "chunked" in te and body:
        plain = dechunk(body)
        if plain is not None:
            body = plain
    ce = resp.header("content-encoding")
    if ce:
        for enc in reversed([e for e in ce.split(",") if e.strip()]):
            body = decode_content(body, enc, max_bytes)
    resp.body = body
    return resp
