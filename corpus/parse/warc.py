"""Read crawl files (WARC and ARC, gzipped or not) into ``Page`` records, surviving damage.

``iter_records(path)`` yields a ``Page`` for every HTTP response record (HTML and ``image/*``;
``Page.content_type`` tells them apart) and a ``RejectedRecord(kind="record", stage="parse")``
for every record it could not read. Other record types (``request``, ``revisit``, ``metadata``,
``warcinfo``, ``resource``, ...) are skipped and counted in a ``RecordCounts`` the caller may
pass in, so a job can report them (paper 2.3 uses only the pages themselves).

Damage never ends the file early. A record whose header is malformed, whose block is shorter than
its ``Content-Length``, or whose gzip member does not inflate becomes one rejected row, and
reading resumes at the next record start after it: the next gzip member that inflates to a
``WARC/`` (or ARC) header in a ``.gz`` file, the next ``WARC/1.x`` line followed by WARC headers
in a plain file. A file cut short inside a gzip member gives the records before the cut and one
``truncated_gzip`` row. (warcio and fastwarc both stop silently at such a cut; this module checks
the tail of every file so the loss is counted.)

Reasons: ``malformed_record`` (a header the reader cannot parse, a non-numeric
``Content-Length``), ``truncated_record`` (fewer bytes than declared, the next record's header
inside this one's declared length, or a ``Content-Length`` shorter than the block: the bytes after
the declared end are not a record boundary, and the record's own URL is named, not the next
record's; a WARC-Block-Digest that matches the declared block tells junk after a whole record
apart), ``truncated_gzip`` (the file ends inside a gzip member),
``corrupt_gzip`` (a member that does not inflate), ``record_too_large`` (a block over
``ParseConfig.max_record_bytes``, skipped unread), ``bad_http_headers``, ``bad_content_encoding``.
HTTP status is kept on the ``Page``; extraction decides what to do with a 404.

Reader choice, measured (``bench/bench_extract.py``) on 2 cores over the gzipped WARCs of the
sample and the fixtures, payloads read in full: fastwarc 2.0 ~29,000 records/s, warcio 1.8
~6,200. fastwarc is ~4.7x faster, so it reads WARC files; it cannot read ARC, so warcio
(``arc2warc``) reads ARC files, which are rare and small. ``iter_records`` itself runs at
~16,000 records/s (2.6x warcio): HTTP decoding, the damage checks and the Python file object
(which lets fsspec URLs be read and reading resume at any offset) cost the rest.
Ids are ``make_id(source, url)`` (schemas.records), so the same URL gets the same id on a rerun.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec

from corpus.document import Page
from corpus.parse.counts import RecordCounts
from corpus.parse.http import HttpError, mime_of, parse_response
from schemas import RejectedRecord, make_id

STAGE = "parse"
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_START = re.compile(rb"(?:^|\n)(WARC/\d\.\d+\r?\n)")
_ARC_LINE = re.compile(rb"(?:^|\n)((?:https?|ftp|dns|filedesc)://\S+ \S+ \d{14} \S* ?\d+\r?\n)")
_EMBEDDED_HEADER = re.compile(rb"\r\n\r\nWARC/1\.[01]\r\n(?:[\w-]+: [^\r\n]*\r\n){0,20}WARC-Type: ")
_URI = re.compile(rb"WARC-Target-URI:\s*<?([^\s>]+)", re.IGNORECASE)
_SCAN_CHUNK = 1 << 20
_FRAMING_SLACK = 16
_SCAN_TAIL = 64
_CONTENT_LENGTH = re.compile(rb"\r?\nContent-Length:[ \t]*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class ParseConfig:
    """What the crawl reader keeps."""

    max_record_bytes: int = 64 * 1024 * 1024  # larger blocks are skipped unread (record_too_large)
    # responses whose Content-Type starts with one of these become Pages; others are counted
    # under skipped["content_type"]. A response with no Content-Type is kept (sniffed later).
    keep_mime_prefixes: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain",
                                           "image/")


@dataclass
class _Raw:
    """One record as a backend sees it, before its block is read."""

    offset: int
    type: str
    url: str | None
    date: str | None
    length: str | None  # the Content-Length header as written
    read: Any  # () -> bytes
    headers: Any = None  # fastwarc's header map (its length is taken only for kept pages)


class _Damaged(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _fastwarc_records(f, start: int) -> Iterator[_Raw]:
    from fastwarc.warc import ArchiveIterator

    f.seek(start)
    for r in ArchiveIterator(f, parse_http=False):
        h = r.headers
        url = h.get("WARC-Target-URI")
        yield _Raw(r.stream_pos, _type_name(r.record_type), url.strip("<>") if url else None,
                   h.get("WARC-Date"), h.get("Content-Length"), r.reader.read, h)


def _type_name(t) -> str:
    s = str(t)
    return s.rsplit(".", 1)[-1]


def _warcio_records(f, start: int) -> Iterator[_Raw]:
    from warcio.archiveiterator import ArchiveIterator

    f.seek(start)
    it = ArchiveIterator(f, arc2warc=True, no_record_parse=True)
    for r in it:
        offset = it.offset  # absolute start of this record (get_record_offset() would consume it)
        length = r.rec_headers.get_header("Content-Length")
        if length is None and r.length is not None:
            length = str(r.length)
        yield _Raw(offset, r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                   r.rec_headers.get_header("WARC-Date"), length, r.raw_stream.read)


class _File:
    """An open crawl file: its format, and the byte-level scans used to recover from damage."""

    def __init__(self, f, path: str):
        self.f = f
        self.path = path
        self.name = path.rstrip("/").rsplit("/", 1)[-1]  # ids must not depend on where it lives
        head = self._read_at(0, 64)
        self.gzip = head.startswith(_GZIP_MAGIC)
        plain = self._inflate_prefix(0, 64) if self.gzip else head
        self.arc = plain.lstrip().startswith(b"filedesc://")
        self.backend = _warcio_records if self.arc else _fastwarc_records

    def pread(self, pos: int, n: int) -> bytes:
        """``n`` bytes at ``pos`` without moving the file position (a backend is reading it)."""
        try:
            return os.pread(self.f.fileno(), n, pos)
        except (AttributeError, OSError, ValueError):  # no file descriptor: an fsspec file
            here = self.f.tell()
            try:
                return self._read_at(pos, n)
            finally:
                self.f.seek(here)

    def _read_at(self, pos: int, n: int) -> bytes:
        self.f.seek(pos)
        return self.f.read(n)

    def _inflate_prefix(self, pos: int, n: int) -> bytes:
        data = self._read_at(pos, 65536)
        try:
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, n)
        except zlib.error:
            return b""

    def member_complete(self, pos: int) -> bool:
        """Whether the gzip member starting at ``pos`` ends before the file does."""
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.f.seek(pos)
        try:
            while not d.eof:
                chunk = self.f.read(_SCAN_CHUNK)
                if not chunk:
                    return False
                d.decompress(chunk, 1 << 16)
                while d.unconsumed_tail and not d.eof:
                    d.decompress(d.unconsumed_tail, 1 << 16)
        except zlib.error:
            return True  # it is corrupt rather than cut short
        return True

    def _valid_start(self, pos: int) -> bool:
        if self.gzip:
            plain = self._inflate_prefix(pos, 64)
            if self.arc:
                return _ARC_LINE.match(b"\n" + plain) is not None
            return plain.startswith(b"WARC/")
        if self.arc:
            return True
        after = self._read_at(pos, 2048)
        return re.search(rb"\n(WARC-Type|Content-Length|WARC-Record-ID):", after, re.I) is not None

    def next_start(self, pos: int) -> int | None:
        """The first plausible record start at or after ``pos``, or None."""
        if self.gzip:
            pattern = re.compile(re.escape(_GZIP_MAGIC))
        else:
            pattern = _ARC_LINE if self.arc else _WARC_START
        while True:
            self.f.seek(pos)
            chunk = self.f.read(_SCAN_CHUNK)
            if not chunk:
                return None
            prefix = b""
            if not self.gzip and pos > 0:  # the byte before pos, so a start at pos matches "\n"
                self.f.seek(pos - 1)
                prefix = self.f.read(1)
            for m in pattern.finditer(prefix + chunk):
                start = pos + (m.start(1) if m.re.groups else m.start()) - len(prefix)
                if start >= pos and self._valid_start(start):
                    return start
            if len(chunk) < _SCAN_CHUNK:
                return None
            pos += len(chunk) - 32  # overlap so a start across the boundary is seen

    def has_content(self, pos: int) -> bool:
        """Whether anything but blank bytes follows ``pos``."""
        self.f.seek(pos)
        while True:
            chunk = self.f.read(4096)
            if not chunk:
                return False
            if chunk.strip():
                return True

    def record_end(self, pos: int) -> int | None:
        """Where the record at ``pos`` ends by its own framing: the end of its gzip member, or
        its header plus ``Content-Length`` (plus the blank line after it) in a plain file. None
        when that cannot be told: a member cut short, a header without a length."""
        if self.gzip:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self.f.seek(pos)
            read = 0
            try:
                while not d.eof:
                    chunk = self.f.read(_SCAN_CHUNK)
                    if not chunk:
                        return None
                    read += len(chunk)
                    d.decompress(chunk, 1 << 16)
                    while d.unconsumed_tail and not d.eof:
                        d.decompress(d.unconsumed_tail, 1 << 16)
            except zlib.error:
                return None
            return pos + read - len(d.unused_data)
        head = self._read_at(pos, 65536)
        if self.arc:
            line, sep, _ = head.partition(b"\n")
            try:
                length = int(line.rsplit(None, 1)[-1])
            except (ValueError, IndexError):
                return None
            end = pos + len(line) + len(sep) + length
        else:
            hdr_end = head.find(b"\r\n\r\n")
            m = _CONTENT_LENGTH.search(head, 0, hdr_end) if hdr_end >= 0 else None
            if m is None:
                return None
            end = pos + hdr_end + 4 + int(m.group(1))
        tail = self._read_at(end, 4)
        return end + len(tail) - len(tail.lstrip(b"\r\n"))

    def overrun(self, pos: int, declared: int) -> str | None:
        """Why the record at ``pos`` has bytes of its own after its declared block (a
        Content-Length shorter than the block), or None when its framing is sound: after the
        block come only line ends, then a record start or the end of the file (of the member)."""
        if self.gzip:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self.f.seek(pos)
            out = bytearray()
            try:
                while not d.eof:
                    chunk = self.f.read(65536)
                    if not chunk:
                        break
                    out += d.decompress(chunk)
                    hdr_end = out.find(b"\r\n\r\n")
                    if hdr_end >= 0 and len(out) >= hdr_end + 4 + declared + 2 * _SCAN_TAIL:
                        break
            except zlib.error:
                return None  # damage of another kind, found by the reader itself
            hdr_end = out.find(b"\r\n\r\n")
            if hdr_end < 0:
                return None
            end = hdr_end + 4 + declared
            rest = bytes(out[end:end + 2 * _SCAN_TAIL]).lstrip(b"\r\n")
            if len(rest) <= _FRAMING_SLACK or rest.startswith(b"WARC/"):
                return None
            if _digest_matches(bytes(out[:hdr_end]), bytes(out[hdr_end + 4:end])):
                return None  # the block is whole: what follows is junk of its own
            return (f"Content-Length {declared} ends the block early: the record's gzip member "
                    "holds more bytes after it")
        end = self.record_end(pos)
        if end is None or not self.has_content(end):
            return None
        nxt = self.next_start(end)
        if nxt is not None and nxt - end <= _FRAMING_SLACK:
            return None
        head = self._read_at(pos, 65536)
        hdr_end = head.find(b"\r\n\r\n")
        if hdr_end >= 0 and _digest_matches(head[:hdr_end],
                                            self._read_at(pos + hdr_end + 4, declared)):
            return None  # the block is whole: the bytes after it are junk between records
        return (f"Content-Length {declared} ends the block early: the bytes after it are not the "
                "next record")

    def _inflate_tolerant(self, pos: int, n: int) -> bytes:
        """As much of the member at ``pos`` as inflates before any corruption (up to ``n``)."""
        data = self._read_at(pos, 65536)
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = []
        try:
            for i in range(0, len(data), 64):
                out.append(d.decompress(data[i:i + 64]))
                if sum(map(len, out)) >= n or d.eof:
                    break
        except zlib.error:
            pass
        return b"".join(out)[:n]

    def peek_url(self, pos: int) -> str | None:
        head = self._inflate_tolerant(pos, 4096) if self.gzip else self._read_at(pos, 4096)
        if self.arc:
            line = head.split(b"\n", 1)[0].split(b" ", 1)[0]
            return line.decode("utf-8", "replace") or None
        m = _URI.search(head)
        return m.group(1).decode("utf-8", "replace") if m else None


def iter_records(path: str, *, source: str = "common_crawl", counts: RecordCounts | None = None,
                 config: ParseConfig | None = None) -> Iterator[Page | RejectedRecord]:
    """Pages and rejected records of one WARC/ARC file (local path or fsspec URL).

    Raises ``OSError`` only when the file cannot be opened; damage inside it becomes rejected
    rows. ``counts`` (if given) is updated as records are read.
    """
    cfg = config or ParseConfig()
    counts = counts if counts is not None else RecordCounts()
    fs, local = fsspec.core.url_to_fs(path)
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    opener = open(local, "rb") if "file" in protocols else fs.open(local, "rb")
    with opener as f:  # a plain file object for local paths: fastwarc reads it ~15% faster
        yield from _read(_File(f, path), source, counts, cfg)


def _reject(file: _File, source: str, counts: RecordCounts, offset: int, reason: str,
            detail: str, url: str | None = None) -> RejectedRecord:
    counts.reject(reason)
    if url is None:
        url = file.peek_url(offset)
    key = url if url else f"{file.name}@{offset}"
    return RejectedRecord(id=make_id(source, key), source=source, kind="record", stage=STAGE,
                          reason=reason, detail=detail, url=url, input_file=file.path,
                          offset=offset)


def _damage_reason(file: _File, exc: BaseException) -> str:
    msg = str(exc).lower()
    if file.gzip and ("gzip" in msg or "decompress" in msg or "zlib" in msg):
        return "corrupt_gzip"
    return "malformed_record"


def _read(file: _File, source: str, counts: RecordCounts, cfg: ParseConfig
          ) -> Iterator[Page | RejectedRecord]:
    """Read from offset 0. After each run of the backend, resume exactly where the last record
    read ends by its own framing (its gzip member, or its Content-Length); bytes there that the
    backend cannot read are one rejected row, and reading resumes at the next record start."""
    pos: int | None = 0
    rejected_at = kept_at = -1
    while pos is not None:
        last: int | None = None
        pending: tuple[_Raw, Page] | None = None
        resync_from: int | None = None
        failure: BaseException | None = None
        records = file.backend(file.f, pos)
        while True:
            try:
                raw = next(records)
            except StopIteration:
                break
            except Exception as exc:  # the reader gave up on the bytes after ``last``
                failure = exc
                break
            if raw.offset < pos:
                continue
            if pending is not None:  # the record before this one is whole unless it overruns
                yield _settle(file, source, counts, pending, raw.offset)
                pending = None
            last = raw.offset
            counts.records += 1
            try:
                out = _page(file, raw, source, counts, cfg)
            except _Damaged as d:
                rejected_at = raw.offset
                reason = d.reason
                if file.gzip and reason != "truncated_gzip" and not file.member_complete(raw.offset):
                    reason = "truncated_gzip"  # whatever broke, the file ends inside this member
                yield _reject(file, source, counts, raw.offset, reason, d.detail, raw.url)
                resync_from = raw.offset + 1
                break
            except Exception as exc:  # noqa: BLE001 - a bug on one record never loses the file
                rejected_at = raw.offset
                yield _reject(file, source, counts, raw.offset, f"error:{type(exc).__name__}",
                              f"{type(exc).__name__}: {exc}", raw.url)
                continue
            if isinstance(out, RejectedRecord):
                rejected_at = raw.offset
            elif out is not None:
                kept_at = raw.offset
                if raw.headers is not None:
                    pending = (raw, out)  # yielded once the next record shows where it ends
                    continue
            if out is not None:
                yield out
        records.close()
        if pending is not None:
            settled = _settle(file, source, counts, pending, None)
            pending = None
            yield settled
            if isinstance(settled, RejectedRecord):
                # the bytes after its declared end are the rest of its block: resume at the next
                # record start, so that no other record is blamed for them
                pos = file.next_start(last + 1)
                continue
        if resync_from is not None:
            pos = file.next_start(resync_from)
        elif last is None:
            # Nothing readable at ``pos``: a damaged record, unless only blank bytes are left.
            if failure is not None or file.has_content(pos):
                counts.records += 1
                yield _reject(file, source, counts, pos, _reason_at(file, pos, failure),
                              _detail(failure))
            pos = file.next_start(pos + 1)
        else:
            end = file.record_end(last)
            if end is None:  # the last record read is cut short (or its framing is unreadable)
                if last not in (rejected_at, kept_at):
                    # e.g. a revisit or request, whose block is never read, or a record whose
                    # header the file's end cut in two
                    yield _reject(file, source, counts, last, _reason_at(file, last, None),
                                  "the file ends inside this record")
                pos = file.next_start(last + 1)
            elif not file.has_content(end):
                pos = None
            else:
                nxt = file.next_start(end)
                # sloppy framing (a Content-Length a few bytes off): resume at the real start
                pos = nxt if nxt is not None and nxt - end <= _FRAMING_SLACK else end


_DIGEST = re.compile(rb"\r\nWARC-Block-Digest:[ \t]*(sha1|sha256|md5):([A-Za-z0-9=+/]+)", re.I)


def _digest_matches(header: bytes, block: bytes) -> bool:
    """Whether ``block`` has the WARC-Block-Digest its header declares (base32 or hex); False
    when there is none. Tells a whole record followed by junk from a record whose block goes on
    past its Content-Length: the bytes alone cannot."""
    m = _DIGEST.search(header)
    if m is None:
        return False
    digest = hashlib.new(m.group(1).decode().lower(), block).digest()
    value = m.group(2).decode()
    return value.upper() in (base64.b32encode(digest).decode(), digest.hex().upper())


def _settle(file: _File, source: str, counts: RecordCounts, pending: tuple[_Raw, Page],
            next_offset: int | None) -> Page | RejectedRecord:
    """The page of a record read whole, or a ``truncated_record`` row with its own URL when its
    Content-Length is shorter than its block (the reader would have kept the text cut short).

    A cheap test first, on every record: the next record should start right after this one's
    header and declared block (plain files), or this one's gzip member should inflate to about
    that many bytes (its ISIZE trailer). Only a record that fails it is inflated or read again
    (``_File.overrun``). The file position is restored for the backend, which is mid-file."""
    raw, page = pending
    declared = int(raw.length)
    if next_offset is not None and next_offset <= raw.offset:
        return page  # several records in one gzip member: framing is the member's
    if next_offset is not None:
        head_len = raw.headers.write(io.BytesIO())  # the header as written, blank line included
        if file.gzip:
            size = int.from_bytes(file.pread(next_offset - 4, 4), "little")  # ISIZE trailer
            extra = size - head_len - declared
        else:
            extra = next_offset - raw.offset - head_len - declared
        if extra <= 4 + _FRAMING_SLACK:
            return page
    here = file.f.tell()
    try:
        why = file.overrun(raw.offset, declared)
    finally:
        file.f.seek(here)
    if why is None:
        return page
    counts.kept -= 1
    if mime_of(page.content_type).startswith("image/"):
        counts.images -= 1
    elif mime_of(page.content_type) in ("text/html", "application/xhtml+xml", ""):
        counts.html -= 1
    return _reject(file, source, counts, raw.offset, "truncated_record", why, page.url)


def _reason_at(file: _File, pos: int, failure: BaseException | None) -> str:
    if file.gzip and not file.member_complete(pos):
        return "truncated_gzip"
    if failure is not None:
        return _damage_reason(file, failure)
    return "truncated_record"


def _detail(failure: BaseException | None) -> str:
    if failure is None:
        return "the reader found no complete record here: its header or block is cut short"
    return f"{type(failure).__name__}: {failure}"


def _page(file: _File, raw: _Raw, source: str, counts: RecordCounts, cfg: ParseConfig
          ) -> Page | RejectedRecord | None:
    if raw.type != "response":
        counts.skip(raw.type)
        return None
    if raw.length is None or not raw.length.strip().isdigit():
        raise _Damaged("malformed_record", f"Content-Length {raw.length!r} is not a number")
    declared = int(raw.length)
    if declared > cfg.max_record_bytes:
        return _reject(file, source, counts, raw.offset, "record_too_large",
                       f"{declared} bytes > max_record_bytes={cfg.max_record_bytes}", raw.url)
    try:
        block = raw.read()
    except Exception as exc:
        reason = _damage_reason(file, exc)
        if file.gzip and not file.member_complete(raw.offset):
            reason = "truncated_gzip"
        raise _Damaged(reason, f"{type(exc).__name__}: {exc}") from None
    if len(block) < declared:
        if file.gzip and not file.member_complete(raw.offset):
            raise _Damaged("truncated_gzip", f"the file ends inside this record's gzip member "
                           f"({len(block)} of {declared} bytes)")
        raise _Damaged("truncated_record", f"{len(block)} of {declared} declared bytes")
    if _EMBEDDED_HEADER.search(block):
        raise _Damaged("truncated_record", "the next record's header starts inside this record's "
                       "declared length: the record was cut short")
    try:
        resp = parse_response(block, max_bytes=cfg.max_record_bytes)
    except HttpError as e:
        return _reject(file, source, counts, raw.offset, e.reason, e.detail, raw.url)
    mime = mime_of(resp.content_type)
    if mime and not mime.startswith(cfg.keep_mime_prefixes):
        counts.skip("content_type")
        return None
    url = raw.url or f"{file.name}@{raw.offset}"
    counts.kept += 1
    if mime.startswith("image/"):
        counts.images += 1
    elif mime in ("text/html", "application/xhtml+xml", ""):
        counts.html += 1
    return Page(id=make_id(source, url), url=url, source=source, body=resp.body,
                content_type=resp.content_type, http_charset=resp.charset, status=resp.status,
                crawl_date=raw.date, input_file=file.path, offset=raw.offset)
