"""``--dedup-against``: the documents of earlier corpus outputs, read as documents of tier 0 for
``DedupText`` (``pipelines/dedup.py``), which never outputs them and drops a document of this run
that is in their group or component.

An output folder is read through its ``manifest.json`` (an incomplete folder is refused,
``schemas/listing.py``); a glob or a ``.parquet`` path names shards directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.dedup.config import DedupConfig
from corpus.dedup.packed import pack
from corpus.dedup.survivor import node_key
from corpus.document import Document
from pipelines.opaque import encode
from schemas.layout import MANIFEST_FILE
from schemas.listing import RERUN, corpus_folder


def existing_shards(paths: Sequence[str]) -> list[str]:
    """Text shards of earlier outputs: those an output folder's ``manifest.json`` lists (an
    incomplete folder is refused, ``schemas/listing.py``), or the files a glob or a ``.parquet``
    path names. Raises ``ValueError`` naming a path with no shard."""
    files: list[str] = []
    for path in paths:
        named = any(ch in path for ch in "*?[") or path.endswith(".parquet")
        folder = None if named else corpus_folder(path)
        if folder is not None:
            matched = folder.shards("text", hint=RERUN + ", or name its text/*.parquet files")
            pattern = f"{folder.url}/{MANIFEST_FILE}"
        else:
            pattern = path if named else FileSystems.join(path, "text", "*.parquet")
            matched = sorted(m.path for r in FileSystems.match([pattern])
                             for m in r.metadata_list)
        if not matched:
            raise ValueError(f"--dedup-against {path}: no text shards found (looked for "
                             f"{pattern}); give an earlier output folder or a glob of its "
                             "text/*.parquet files")
        files += matched
    return sorted(set(files))


def read_existing(path: str) -> Iterator[Document]:
    """The documents of one text shard (id, source, url, text)."""
    with FileSystems.open(path) as f:
        pf = pq.ParquetFile(f)
        for batch in pf.iter_batches(columns=["id", "source", "url", "text"], batch_size=1024):
            for row in batch.to_pylist():
                yield Document(id=row["id"], source=row["source"], text=row["text"] or "",
                               url=row["url"], input_file=path)


class ReadExisting(beam.PTransform):
    """Documents of earlier outputs, keyed as existing survivors, packed
    (``corpus.dedup.packed``) and encoded (``pipelines.opaque``), as ``DedupText`` keys its own."""

    def __init__(self, paths: Sequence[str], cfg: DedupConfig, label: str | None = None):
        super().__init__(label)
        self.files = existing_shards(paths)
        self.cfg = cfg

    def expand(self, pbegin):
        priority = self.cfg.source_priority
        return (pbegin | "Files" >> beam.Create(self.files)
                | "Spread" >> beam.Reshuffle()
                | "Read" >> beam.FlatMap(read_existing)
                | "Key" >> beam.Map(lambda d: (node_key(d.id, d.source, existing=True,
                                                        source_priority=priority),
                                                    encode(pack(d)))))


__all__ = ["ReadExisting", "existing_shards", "read_existing"]
