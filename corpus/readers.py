"""Reading stages: a file path in, records out, so Beam can spread input files over workers.

``ReadCrawlFile`` reads one WARC/ARC file (``corpus.parse.warc``) and yields a ``Page`` for every
response record (HTML and images) and a ``RejectedRecord`` for every record it could not read;
``ReadDumpFile`` reads one JSON-lines plain-text dump (``corpus.parse.dumps``) into ``Document``s;
``ReadWetFile`` reads one Common Crawl WET file (``corpus.parse.wet``) into ``Document``s.
A file that cannot be opened at all becomes one rejected row naming the file; the job goes on.
With ``emit_counts`` (the pipeline sets it) each file's records are followed by one ``FileCounts``
(``corpus.parse.counts``): what the reader skipped on purpose (requests, revisits, metadata,
blank lines) reaches the metrics and ``stats.json``.
Each file logs a line when it is done (records kept and rejected, seconds), so a long run shows
its progress file by file on every runner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from corpus.document import Page
from corpus.parse.counts import FileCounts, RecordCounts
from corpus.parse.dumps import DumpConfig
from corpus.parse.warc import ParseConfig
from corpus.stage import Stage
from schemas import RejectedRecord, make_id

log = logging.getLogger(__name__)


def is_file_counts(record: Any) -> bool:
    return isinstance(record, FileCounts)


def is_not_file_counts(record: Any) -> bool:
    return not isinstance(record, FileCounts)


def _with_progress(path: str, records: Iterable[Any]) -> Iterator[Any]:
    """Pass ``records`` through, then log how many were kept and rejected, and how fast."""
    t0, kept, rejected = time.monotonic(), 0, 0
    for record in records:
        if isinstance(record, RejectedRecord):
            rejected += 1
        else:
            kept += 1
        yield record
    log.info("read %s: %d records, %d rejected, %.1f s", path.rsplit("/", 1)[-1], kept,
             rejected, time.monotonic() - t0)


def _unreadable(path: str, stage: str, exc: BaseException) -> RejectedRecord:
    return RejectedRecord(
        id=make_id("unknown", path), source="unknown", kind="record", stage=stage,
        reason="unreadable_file", detail=f"{type(exc).__name__}: {exc}", input_file=path,
    )


class _FileReader(Stage):
    """A stage whose record is the path of one input file: the records ``_records`` reads from
    it, a rejected row when the file cannot be read at all, and with ``emit_counts`` one
    ``FileCounts`` of the reader named ``reader`` after them."""

    reader: ClassVar[str]
    emit_counts: bool

    def _records(self, path: str, counts: RecordCounts) -> Iterator[Any]:
        raise NotImplementedError

    def process(self, path: str) -> Iterator[Any]:
        counts = RecordCounts()
        try:
            yield from _with_progress(path, self._records(path, counts))
        except OSError as exc:
            yield _unreadable(path, self.name, exc)
        if self.emit_counts:
            yield FileCounts(self.reader, path, counts)


class ReadCrawlFile(_FileReader):
    """Path of a WARC/ARC file (gzipped or not) -> Pages and rejected records."""

    name: ClassVar[str] = "read_crawl"
    reader: ClassVar[str] = "crawl"

    def __init__(self, source: str = "common_crawl", config: ParseConfig | None = None,
                 emit_counts: bool = False, sources: dict[str, str] | None = None):
        self.source = source
        self.config = config or ParseConfig()
        self.emit_counts = emit_counts
        self.sources = dict(sources or {})  # per file, e.g. an m6 crawl folder's own source

    def _records(self, path: str, counts: RecordCounts) -> Iterator[Any]:
        from corpus.parse.warc import iter_records

        return iter_records(path, source=self.sources.get(path, self.source),
                            config=self.config, counts=counts)


class ReadDumpFile(_FileReader):
    """Path of a JSON-lines dump -> Documents and rejected records."""

    name: ClassVar[str] = "read_dump"
    reader: ClassVar[str] = "dumps"

    def __init__(self, config: DumpConfig | None = None, emit_counts: bool = False):
        self.config = config or DumpConfig()
        self.emit_counts = emit_counts

    def _records(self, path: str, counts: RecordCounts) -> Iterator[Any]:
        from corpus.parse.dumps import iter_dump_docs

        return iter_dump_docs(path, config=self.config, counts=counts)


class ReadWetFile(_FileReader):
    """Path of a Common Crawl WET file -> Documents (extracted text) and rejected records."""

    name: ClassVar[str] = "read_wet"
    reader: ClassVar[str] = "wet"

    def __init__(self, source: str = "common_crawl", config: ParseConfig | None = None,
                 emit_counts: bool = False):
        self.source = source
        self.config = config or ParseConfig()
        self.emit_counts = emit_counts

    def _records(self, path: str, counts: RecordCounts) -> Iterator[Any]:
        from corpus.parse.wet import iter_wet_docs

        return iter_wet_docs(path, source=self.source, config=self.config, counts=counts)


def _mime(page: Page) -> str:
    return (page.content_type or "").split(";", 1)[0].strip().lower()


def is_image_page(record: Any) -> bool:
    """An image response record (its bytes may be joined to image references by URL)."""
    return isinstance(record, Page) and _mime(record).startswith("image/")


def is_html_page(record: Any) -> bool:
    """Everything that is not an image goes to extraction, which rejects non-HTML with a reason."""
    return isinstance(record, Page) and not is_image_page(record)
