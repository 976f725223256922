"""Spill files: what one worker makes and another reads, written once to a file beside the output,
so that a shuffle carries the file's name and not its bytes (issue 17.2).

Why: on Beam's FnApiRunner (the DirectRunner, with one worker or several) a ``Flatten`` before a
``GroupByKey`` is a stage of its own that copies every element through the runner
(``translations.sink_flattens``: "always materialize"), and with several workers every shuffle
passes through the runner's one process over gRPC, where each element is decoded, buffered and
encoded again. Spilled, a value is written once by the worker that made it and read once by the
worker that needs it. These steps spill:

* ``DedupText``'s ``Key`` (``pipelines/dedup_refs.py``): the documents, where they are made, so
  that ``ByNode`` groups references to them and never holds their bytes in the runner.
* ``DedupText`` (``pipelines/dedup.py``): a batch's documents went from ``Prepare`` through two
  such steps to ``Apply`` (the ``ToJoin`` copy and the ``Join`` group), and its normal texts
  through two more (``TextsAndPairs`` and ``JoinEnds``): on the 50,000-page crawl 375 of the
  770 MB the runner moved. The texts are read only by ``SendEnds``, which sends on the few that a
  candidate pair needs. (The batch's documents are now the references ``ByNode`` carried.)
* ``WriteShards`` (``pipelines/sink.py``): each chunk of rows, as Arrow IPC bytes
  (``corpus.shards.row_chunks``). A bucket's rows are one group, so with a few buckets one worker
  received all the text rows through the runner while the others waited.

Where: ``<output>/_spill/<run or batch>/`` (``spill_folder``), on the output's filesystem, which
every worker already writes its shards to (a local path on a cluster gets the same warning as the
output, ``pipelines.submit_paths``). A file is named by who made it, what it holds and a hash of
its bytes, and written atomically (``files.write_atomically``) unless it is there already: a
retried or duplicated bundle writes its own file or finds its own bytes, and the element it emits
names exactly those bytes. ``m6 corpus`` removes the folder before and after each pipeline
(``remove_spill``) and logs how much it held: one pipeline's (one batch's) documents, normal texts
and rows, about three times the size of their text.

Format: dedup's values as ``pipelines.opaque`` encodes them (Beam's ``FastPrimitivesCoder`` over
plain tuples, ``corpus.dedup.packed``); the rows' chunks as the Arrow bytes they are.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipelines.files import join, write_atomically
from pipelines.opaque import decode, encode

log = logging.getLogger(__name__)

SPILL_DIR = "_spill"


def spill_folder(output: str, batch: int | None = None) -> str:
    """The spill folder of the pipeline that writes ``output`` (of one batch of it)."""
    return join(output, SPILL_DIR, "run" if batch is None else f"batch-{batch:05d}")


def spill_bytes(folder: str, name: str, data: bytes) -> str:
    """Write ``data`` to ``<folder>/<name>-<hash of data>.bin`` unless it is there; its path."""
    digest = hashlib.blake2b(data, digest_size=8).hexdigest()
    path = join(folder, f"{name}-{digest}.bin")
    if not FileSystems.exists(path):  # else a retried bundle wrote these bytes: leave them be
        write_atomically(path, data, join(folder, "_tmp"))
    return path


def load_bytes(path: str) -> bytes:
    """The bytes ``spill_bytes`` wrote to ``path``."""
    with FileSystems.open(path) as f:
        return f.read()


def spill(folder: str, batch_id: str, kind: str, values: list[Any]) -> str:
    """Write ``values`` (plain tuples) to a file of ``folder``; returns its path."""
    return spill_bytes(folder, f"{batch_id}-{kind}", encode(values))


def load(path: str) -> list[Any]:
    """The values ``spill`` wrote to ``path``."""
    return decode(load_bytes(path))


def remove_spill(output: str) -> int:
    """Remove the spill folders under ``output`` (if any); returns the bytes they held."""
    root = join(output, SPILL_DIR)
    if not FileSystems.exists(root):
        return 0
    found = FileSystems.match([join(root, "*", "*.bin")])[0].metadata_list
    held = sum(m.size_in_bytes for m in found)
    FileSystems.delete([root])
    log.info("spill: %d files, %.1f MB, removed", len(found), held / 1e6)
    return held


__all__ = ["SPILL_DIR", "load", "load_bytes", "remove_spill", "spill", "spill_bytes", "spill_folder"]
