"""Read Common Crawl WET files (``*.warc.wet.gz``) into ``Document`` records.

A WET file holds one ``conversion`` record per crawled page: the page's plain text, already
extracted by Common Crawl, with the page's URL in ``WARC-Target-URI``, its capture date in
``WARC-Date`` and ``Content-Type: text/plain`` (Common Crawl, "Get Started: WET format"). It is the
cheapest route to the paper's Common Crawl plain text (Table 1): WET files are about a sixth of the
WARC bytes, and need no HTML extraction, so each record goes straight to cleaning, the quality
filters and dedup, with ``source`` ``common_crawl`` (or what the caller passes).

WET text has no title: Common Crawl keeps only the body text (the ``<title>`` is its first line
when the page had one, so it stays in the text), and ``common_crawl`` is exempt from the title
length rule (``corpus/clean/config.py``).

Other record types (``warcinfo``) are skipped and counted. Damage is the WARC reader's
(``corpus.parse.warc``): one damaged record is one rejected row (``stage="parse"``) and reading goes
on. Reasons: ``truncated_record`` (fewer bytes than its ``Content-Length``), ``truncated_gzip``
(the file ends inside a gzip member: the records before the cut are kept), ``corrupt_gzip``,
``malformed_record``, ``record_too_large``, ``bad_encoding`` (a block that is not UTF-8, which
Common Crawl always writes), ``empty_text``. Ids are ``make_id(source, url)`` like the WARC
reader's, so a page read from a WET file and from its WARC file gets the same id and dedup
treats them as one.
"""

from __future__ import annotations

from collections.abc import Iterator

import fsspec

from corpus.document import Document
from corpus.parse.counts import RecordCounts
from corpus.parse.warc import ParseConfig, _File
from schemas import RejectedRecord, make_id

STAGE = "parse"
WET_SUFFIXES = (".warc.wet.gz", ".warc.wet", ".wet.gz", ".wet")


def is_wet(path: str) -> bool:
    """Whether ``path`` names a WET file (by name: Common Crawl's ``*.warc.wet.gz``)."""
    return path.rstrip("/").rsplit("/", 1)[-1].lower().endswith(WET_SUFFIXES)


def iter_wet_docs(path: str, *, source: str = "common_crawl", counts: RecordCounts | None = None,
                  config: ParseConfig | None = None) -> Iterator[Document | RejectedRecord]:
    """Documents (one per ``conversion`` record) and rejected rows of one WET file.

    Raises ``OSError`` only when the file cannot be opened."""
    cfg = config or ParseConfig()
    counts = counts if counts is not None else RecordCounts()
    with fsspec.open(path, "rb") as f:
        yield from _read(_File(f, path), source, counts, cfg)


def _reject(file: _File, source: str, counts: RecordCounts, offset: int, reason: str,
            detail: str, url: str | None) -> RejectedRecord:
    counts.reject(reason)
    key = url or f"{file.name}@{offset}"
    return RejectedRecord(id=make_id(source, key), source=source, kind="record", stage=STAGE,
                          reason=reason, detail=detail, url=url, input_file=file.path,
                          offset=offset)


def _read(file: _File, source: str, counts: RecordCounts, cfg: ParseConfig
          ) -> Iterator[Document | RejectedRecord]:
    """Read records from offset 0; after damage, resume at the next record start (the WARC
    reader's ``_File.next_start``), so one bad record costs only itself."""
    pos: int | None = 0
    while pos is not None:
        resume: int | None = None
        last: int | None = None
        try:
            for raw in file.backend(file.f, pos):
                if raw.offset < pos:
                    continue
                last = raw.offset
                counts.records += 1
                out, damaged = _document(file, raw, source, counts, cfg)
                if out is not None:
                    yield out
                if damaged:
                    resume = raw.offset + 1
                    break
        except Exception as exc:  # the reader gave up on the bytes after ``last``
            at = pos if last is None else last
            counts.records += 1
            reason = "truncated_gzip" if file.gzip and not file.member_complete(at) else (
                "corrupt_gzip" if file.gzip else "malformed_record")
            yield _reject(file, source, counts, at, reason, f"{type(exc).__name__}: {exc}",
                          file.peek_url(at))
            resume = at + 1
        if resume is None and last is not None:
            end = file.record_end(last)
            if end is None:
                counts.records += 1
                yield _reject(file, source, counts, last, "truncated_gzip" if file.gzip
                              else "truncated_record", "the file ends inside this record",
                              file.peek_url(last))
                resume = last + 1
            elif file.has_content(end):
                resume = end
        elif resume is None and file.has_content(pos):
            counts.records += 1
            yield _reject(file, source, counts, pos, "truncated_gzip" if file.gzip and not
                          file.member_complete(pos) else "malformed_record",
                          "no readable record here", file.peek_url(pos))
            resume = pos + 1
        pos = None if resume is None else file.next_start(resume)


def _document(file: _File, raw, source: str, counts: RecordCounts, cfg: ParseConfig
              ) -> tuple[Document | RejectedRecord | None, bool]:
    """``(record or None, damaged)``: ``damaged`` tells the caller to resynchronise."""
    if raw.type != "conversion":
        counts.skip(raw.type)
        return None, False
    url = raw.url
    if raw.length is None or not raw.length.strip().isdigit():
        return _reject(file, source, counts, raw.offset, "malformed_record",
                       f"Content-Length {raw.length!r} is not a number", url), True
    declared = int(raw.length)
    if declared > cfg.max_record_bytes:
        return _reject(file, source, counts, raw.offset, "record_too_large",
                       f"{declared} bytes > max_record_bytes={cfg.max_record_bytes}", url), False
    try:
        block = raw.read()
    except Exception as exc:
        reason = ("truncated_gzip" if file.gzip and not file.member_complete(raw.offset)
                  else "corrupt_gzip" if file.gzip else "malformed_record")
        return _reject(file, source, counts, raw.offset, reason,
                       f"{type(exc).__name__}: {exc}", url), True
    if len(block) < declared:
        reason = ("truncated_gzip" if file.gzip and not file.member_complete(raw.offset)
                  else "truncated_record")
        return _reject(file, source, counts, raw.offset, reason,
                       f"{len(block)} of {declared} declared bytes", url), True
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _reject(file, source, counts, raw.offset, "bad_encoding",
                       f"not UTF-8: {exc}", url), False
    if not text.strip():
        return _reject(file, source, counts, raw.offset, "empty_text",
                       "the conversion record holds no text", url), False
    key = url or f"{file.name}@{raw.offset}"
    counts.kept += 1
    return Document(id=make_id(source, key), source=source, text=text, url=url, title=None,
                    input_file=file.path, offset=raw.offset, crawl_date=raw.date), False
