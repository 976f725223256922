"""Sharded, atomic, deterministic Parquet output for the corpus, on every Beam runner.

Beam's ``WriteToParquet`` is not used: it is broken on the DaskRunner in Beam 2.77 and names its
shards by bundle, which differs between runners. Instead (cc_net's ``tmp`` + ``finalize``):

1. ``WriteShards`` encodes the rows of each kind as Arrow chunks per bucket where they are made
   (``corpus.shards.row_chunks``; the bucket of a row is ``bucket_of`` its id, and the bucket
   count is fixed by the driver from the input size, so no side input is needed), groups the
   chunks by kind and bucket, and each bucket is sorted by id, cut into parts and written to
   ``<output>/_temporary/<kind>/<name>`` then renamed to ``<output>/<kind>/<name>``. A retried
   bundle rewrites the same name with the same bytes.
2. ``Finalize`` runs once after all kinds are written: it deletes shards of earlier runs that this
   run did not write (so a rerun with other input leaves no stale or duplicate shards), writes an
   empty shard for a kind with no rows, writes ``stats.json``, ``config.json``, the dataset card
   ``README.md`` (``corpus/card.py``) and ``manifest.json`` atomically and removes
   ``_temporary``. ``manifest.json`` is written last: its presence marks a complete run.

All I/O goes through ``apache_beam.io.filesystems.FileSystems``, so ``OUTPUT`` may be a local
path or any filesystem Beam knows (``gs://``, ``s3://``, ``hdfs://``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.card import render_card
from corpus.shards import (
    SHARD_PREFIX,
    RowChunk,
    ShardConfig,
    empty_shard_bytes,
    merge_chunks,
    part_bounds,
    row_chunks,
    shard_name,
    table_to_parquet_bytes,
)
from corpus.stats import compute_stats
from pipelines.batches import Batches
from pipelines.files import join, write_atomically
from pipelines.spill import load_bytes, spill_bytes
from schemas.layout import (
    CARD_FILE,
    CONFIG_FILE,
    KINDS,
    MANIFEST_FILE,
    REPORT_FILE,
    SHARD_SUFFIX,
    STATS_FILE,
    TEMP_DIR,
    Manifest,
)
from schemas.statistics import CorpusStats

log = logging.getLogger(__name__)


def write_bucket(item: tuple[tuple[str, int], Iterable[RowChunk]], *, output: str,
                 n_buckets: int, cfg: ShardConfig, batch: int | None = None
                 ) -> Iterator[tuple[str, int]]:
    """Write one bucket of one kind (its ``RowChunk``s: their Arrow bytes or the path they were
    spilled to) as one or more shards; yields ``(relative name, rows)``."""
    (kind, bucket), chunks = item
    table, sizes = merge_chunks((load_bytes(data) if isinstance(data, str) else data, size)
                                for data, size in chunks)
    temp_root = join(output, TEMP_DIR, kind)
    for part, (start, stop) in enumerate(part_bounds(sizes, cfg.target_bytes)):
        name = shard_name(kind, bucket, n_buckets, part, batch)
        write_atomically(join(output, name),
                         table_to_parquet_bytes(table.slice(start, stop - start), cfg), temp_root)
        yield name, stop - start


def spilled_chunks(rows: list[dict[str, Any]], *, kind: str, n_buckets: int,
                   spill: str | None) -> Iterator[tuple[tuple[str, int], RowChunk]]:
    """``((kind, bucket), chunk)`` of ``corpus.shards.row_chunks``, each chunk's Arrow bytes
    spilled to a file of ``spill`` (``pipelines.spill``) and replaced by its path; without
    ``spill`` the bytes travel."""
    for bucket, (data, sizes) in row_chunks(rows, kind, n_buckets):
        if spill is not None:
            data = spill_bytes(spill, f"{kind}-{bucket:05d}", data)
        yield (kind, bucket), (data, sizes)


def pcollections(rows) -> tuple:
    """``rows`` as a tuple of PCollections: one, or the tuple given (the rejected rows of every
    step, written and counted without a ``Flatten`` of them)."""
    return tuple(rows) if isinstance(rows, (tuple, list)) else (rows,)


# Rows per chunk: a chunk is held whole by the step that makes it (image rows carry their image)
CHUNK_ROWS = {"image_text": 64}
CHUNK_ROWS_DEFAULT = 512


class WriteShards(beam.PTransform):
    """``{kind: rows}`` (dicts of the kind's schema; a PCollection, or a tuple of them) -> the
    shards of every kind; outputs ``(relative name, rows)`` pairs.

    Rows are encoded as Arrow chunks per bucket by the workers that make them
    (``corpus.shards.row_chunks``) and only the chunks are shuffled to the bucket's writer; with
    ``spill`` (a folder, what ``m6 corpus`` passes) only their paths (``pipelines.spill``). All
    kinds share one group, keyed by (kind, bucket), so with several workers the text and the
    rejected rows of a small input (a bucket each) are written at the same time, not one stage
    after the other with a worker idle."""

    def __init__(self, output: str, n_buckets: int, cfg: ShardConfig,
                 batch: int | None = None, spill: str | None = None, label: str = "Write"):
        super().__init__(label)
        self.output, self.n_buckets, self.cfg = output, n_buckets, cfg
        self.batch = batch
        self.spill = spill

    def expand(self, rows_by_kind):
        n = self.n_buckets
        chunks = []
        for kind, rows in rows_by_kind.items():
            parts = pcollections(rows)
            # several inputs (the rejected rows of every step) are chunked each where it is
            # made, and only the chunks are flattened: the runner copies a Flatten's inputs
            chunks += [part
                       | f"Rows_{kind}{i}" >> Batches(CHUNK_ROWS.get(kind, CHUNK_ROWS_DEFAULT))
                       | f"Chunks_{kind}{i}" >> beam.FlatMap(
                           spilled_chunks, kind=kind, n_buckets=n, spill=self.spill)
                       for i, part in enumerate(parts)]
        if len(chunks) > 1:
            chunks = [tuple(chunks) | "AllChunks" >> beam.Flatten()]
        return (
            chunks[0]
            | "GroupByBucket" >> beam.GroupByKey()
            | "WriteBucket" >> beam.FlatMap(write_bucket, output=self.output, n_buckets=n,
                                            cfg=self.cfg, batch=self.batch)
        )


def list_shards(output: str, kind: str) -> list[str]:
    """Relative names of the shards of ``kind`` currently under ``output``."""
    pattern = join(output, kind, f"{SHARD_PREFIX}*{SHARD_SUFFIX}")
    found = FileSystems.match([pattern])[0].metadata_list
    prefix = output.rstrip("/") + "/"
    return sorted(m.path[len(prefix):] if m.path.startswith(prefix) else m.path for m in found)


def finalize(written: list[tuple[str, int]], stats: dict[str, Any], *, output: str,
             cfg: ShardConfig, config_json: str | None = None) -> Manifest:
    """Remove stale shards, fill empty kinds, write stats.json, config.json, README.md and
    manifest.json (last)."""
    written_names = {name for name, _ in written}
    temp_root = join(output, TEMP_DIR, "meta")
    for kind in KINDS:
        stale = [n for n in list_shards(output, kind) if n not in written_names]
        if stale:
            log.info("removing %d stale %s shards of an earlier run", len(stale), kind)
            FileSystems.delete([join(output, n) for n in stale])
        if not any(n.startswith(kind + "/") for n in written_names):
            name = shard_name(kind, 0, 1, 0)
            write_atomically(join(output, name), empty_shard_bytes(kind, cfg), temp_root)
            written = [*written, (name, 0)]
    manifest = Manifest.of(written)
    # No rows at all (every input empty) gives no statistics: zero counts, so the empty corpus
    # is complete and stats.json has the shape every reader expects.
    stats = CorpusStats.from_dict(stats or compute_stats(()))
    write_atomically(join(output, STATS_FILE), stats.to_json().encode(), temp_root)
    if config_json is not None:
        write_atomically(join(output, CONFIG_FILE), config_json.encode(), temp_root)
    card = render_card(stats.to_dict(), json.loads(config_json) if config_json else None,
                       manifest.rows)
    write_atomically(join(output, CARD_FILE), card.encode(), temp_root)
    write_atomically(join(output, MANIFEST_FILE), manifest.to_json().encode(), temp_root)
    temp = join(output, TEMP_DIR)
    if FileSystems.exists(temp):
        try:
            FileSystems.delete([temp])
        except OSError as e:  # a leftover temp folder is harmless; say so and go on
            log.warning("could not remove %s: %s", temp, e)
    return manifest


def start_run(output: str) -> None:
    """Mark ``output`` incomplete before a run: the manifest and the HTML report of an earlier
    run are removed (``m6 corpus`` writes a new report at the end unless ``--no-report``).
    This runs before anything of the new run is written, so a killed rerun never looks complete
    to a reader (``schemas/listing.py``)."""
    for name in (MANIFEST_FILE, REPORT_FILE):
        path = join(output, name)
        if FileSystems.exists(path):
            FileSystems.delete([path])
