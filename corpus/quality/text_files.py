"""Read training and reference text for the quality models: plain text, JSONL dumps, Parquet shards.

``m6 lm train``, ``m6 lm reference`` and ``m6 spam train`` take ``--input`` as files, folders or
globs of:

* ``.txt`` (optionally ``.gz``/``.bz2``/``.xz``): one document a line;
* ``.jsonl`` / ``.json`` (optionally compressed): one JSON object a line, text in ``field``
  (``text`` by default), the format of the sample dumps and of ``data/sample/spam``;
* ``.parquet``: the ``text`` shards ``m6 corpus`` writes (column ``field``);
* ``.xml`` (optionally compressed): a MediaWiki XML dump such as
  ``zhwiki-latest-pages-articles.xml.bz2``, streamed, one article a record with its markup
  stripped (``corpus/quality/wikidump.py``).

A line that is not JSON, not an object, or has no string in ``field`` is skipped and counted
(``TextFiles.skipped``), never fatal: the sample dumps carry such lines on purpose.
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt",)
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
XML_SUFFIXES = (".xml",)
_COMPRESSED = (".gz", ".bz2", ".xz")


def _kind(path: Path) -> str | None:
    suffixes = path.suffixes
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in TEXT_SUFFIXES:
        return "txt"
    if last in JSON_SUFFIXES:
        return "jsonl"
    if last in PARQUET_SUFFIXES:
        return "parquet"
    if last in XML_SUFFIXES:
        return "mediawiki"
    return None


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files named by ``inputs`` (files, folders searched recursively, globs), sorted, unique."""
    found: list[Path] = []
    for item in inputs:
        item = str(item)
        path = Path(item)
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*")) if p.is_file() and _kind(p)]
        elif path.is_file():
            if _kind(path) is None:
                raise ValueError(f"{path}: unknown text format; expected .txt, .jsonl, .parquet "
                                 "or a MediaWiki .xml dump (optionally .gz/.bz2/.xz)")
            found.append(path)
        else:
            matches = [Path(p) for p in sorted(glob.glob(item, recursive=True))]
            files = [p for p in matches if p.is_file() and _kind(p)]
            if not files:
                raise FileNotFoundError(f"no .txt, .jsonl or .parquet file matches {item!r}")
            found += files
    seen: set[Path] = set()
    return [p for p in found if not (p in seen or seen.add(p))]


def _open_text(path: Path):
    import fsspec

    return fsspec.open(str(path), "rt", encoding="utf-8", errors="replace",
                       compression="infer").open()


@dataclass
class TextFiles:
    """Iterate over the records of ``paths``: ``texts()`` yields strings, ``records()`` dicts."""

    paths: list[Path]
    field: str = "text"
    skipped: int = 0
    per_file: dict[str, int] = dc_field(default_factory=dict)

    @classmethod
    def of(cls, inputs: Sequence[str | Path], field: str = "text") -> TextFiles:
        paths = expand_inputs(inputs)
        if not paths:
            raise FileNotFoundError(f"no input files in {list(map(str, inputs))}")
        return cls(paths, field)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record with a non-empty string in ``field`` (``.txt`` lines become
        ``{field: line}``)."""
        self.skipped = 0
        for path in self.paths:
            n = 0
            for rec in self._records(path):
                value = rec.get(self.field) if isinstance(rec, dict) else None
                if isinstance(value, str) and value.strip():
                    n += 1
                    yield rec
                else:
                    self.skipped += 1
            self.per_file[str(path)] = n
        if self.skipped:
            log.warning("skipped %d records without a string %r (bad JSON, not an object, "
                        "empty)", self.skipped, self.field)

    def texts(self) -> Iterator[str]:
        for rec in self.records():
            yield rec[self.field]

    def _records(self, path: Path) -> Iterator[Any]:
        kind = _kind(path)
        if kind == "mediawiki":
            import fsspec

            from corpus.quality.wikidump import iter_articles

            with fsspec.open(str(path), "rb", compression="infer") as f:
                for article in iter_articles(f):
                    yield {self.field: article["text"], "title": article["title"]}
            return
        if kind == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            if self.field not in pf.schema_arrow.names:
                raise ValueError(f"{path} has no column {self.field!r} "
                                 f"(columns: {pf.schema_arrow.names})")
            for batch in pf.iter_batches(columns=[self.field], batch_size=1024):
                for value in batch.column(0).to_pylist():
                    yield {self.field: value}
            return
        with _open_text(path) as f:
            for line in f:
                if kind == "txt":
                    yield {self.field: line.rstrip("\n")}
                    continue
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    yield None
