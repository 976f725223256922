"""Counts of what a reader saw in its input, so a job can report skipped and damaged records.

Readers (``corpus.parse.warc.iter_records``, ``corpus.parse.dumps.iter_dump_docs``) update a
``RecordCounts`` passed by the caller as they go. The reading stages (``corpus.readers``, with
``emit_counts``) yield one ``FileCounts`` after each file's records; the Beam adapter
(``pipelines.stage_dofn``) turns it into metrics (``m6.read_crawl``: ``input.records``,
``input.skipped:request``, ...) and the pipeline folds them (``fold_counts``) into the
``inputs`` entry of ``stats.json``. Rejected records are also yielded as rows; the counts add what rows do
not show: records skipped on purpose (requests, revisits, metadata, blank lines, content types
that are not pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordCounts:
    """``records``: every record (or line) seen; ``kept``: Pages/Documents yielded, of which
    ``html`` and ``images`` for crawls; ``skipped`` and ``rejected`` by type or reason."""

    records: int = 0
    kept: int = 0
    html: int = 0
    images: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)

    def skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def add(self, other: RecordCounts) -> RecordCounts:
        """Add ``other`` into this one (to sum over files); returns self."""
        self.records += other.records
        self.kept += other.kept
        self.html += other.html
        self.images += other.images
        for k, v in other.skipped.items():
            self.skipped[k] = self.skipped.get(k, 0) + v
        for k, v in other.rejected.items():
            self.rejected[k] = self.rejected.get(k, 0) + v
        return self

    def items(self) -> list[tuple[str, int]]:
        """Flat ``(name, count)`` pairs: ``records``, ``kept``, ..., ``skipped:<type>``,
        ``rejected:<reason>`` (metric names)."""
        return ([("records", self.records), ("kept", self.kept), ("html", self.html),
                 ("images", self.images)]
                + [(f"skipped:{k}", v) for k, v in sorted(self.skipped.items())]
                + [(f"rejected:{k}", v) for k, v in sorted(self.rejected.items())])

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "kept": self.kept, "html": self.html,
                "images": self.images, "skipped": dict(sorted(self.skipped.items())),
                "rejected": dict(sorted(self.rejected.items()))}


@dataclass
class FileCounts:
    """What one reader (``crawl``, ``dumps``, or ``wet`` when WET files were read) saw in one
    input file."""

    reader: str
    path: str
    counts: RecordCounts


READERS = ("crawl", "dumps")


def fold_counts(items: list[FileCounts]) -> dict[str, Any]:
    """The ``inputs`` entry of ``stats.json``: counts summed per reader over all files (every
    reader of ``READERS`` present, zeros when it read nothing; ``wet`` only when WET files were
    read, so the statistics of a run without them are unchanged), with the number of files."""
    totals = {r: RecordCounts() for r in READERS}
    files = dict.fromkeys(READERS, 0)
    for item in items:
        totals.setdefault(item.reader, RecordCounts()).add(item.counts)
        files[item.reader] = files.get(item.reader, 0) + 1
    return {r: {"files": files[r], **totals[r].as_dict()} for r in sorted(totals)}
