"""Values the runner carries as bytes: encoded once by the worker that makes them and decoded once
by the worker that reads them, never in between (issue 17.2).

Why: Beam's FnApiRunner (the DirectRunner, with one worker or several) groups a ``GroupByKey``'s
input in its own process, and it decodes every value it buffers and encodes it again to hand the
group on (``GroupingBuffer`` in its ``execution.py``): for a list of tuples, each field of each
tuple, in the one runner process that all workers wait on. A value that is already bytes costs it
a copy. On the 50,000-page crawl the documents on their way to ``ByNode`` and the records, band
chunks, candidate pairs and anchor texts of ``DedupText``'s steps were most of that work.

Format: one byte, then Beam's ``FastPrimitivesCoder`` (compiled code, the encoding the shuffle
would have used) over plain values: tuples, lists, strings, bytes, numbers, ``None``. With
``compress`` (for values made mostly of repetitive strings: the vertex names in dedup's band
chunks and candidate pairs, half their bytes) the coder's bytes are zstd-compressed at level 1
(about 400 MB/s to compress, 1 GB/s to read back on one core), which costs the workers less than
the runner spends moving the bytes saved. ``pipelines.spill`` writes the same bytes to files.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from apache_beam.coders.coders import FastPrimitivesCoder

_CODER = FastPrimitivesCoder()
_PLAIN = b"\x00"
_ZSTD = b"\x01"


def encode(value: Any, compress: bool = False) -> bytes:
    """``value`` (plain values only) as bytes; zstd-compressed with ``compress``."""
    data = _CODER.encode(value)
    if not compress:
        return _PLAIN + data
    return _ZSTD + len(data).to_bytes(8, "little") + pa.compress(data, codec="zstd", asbytes=True)


def decode(data: bytes) -> Any:
    """The value ``encode`` made ``data`` from."""
    head = data[:1]
    if head == _PLAIN:
        return _CODER.decode(data[1:])
    if head == _ZSTD:
        size = int.from_bytes(data[1:9], "little")
        return _CODER.decode(pa.decompress(data[9:], decompressed_size=size, codec="zstd",
                                           asbytes=True))
    raise ValueError(f"not an encoded value (first byte {head!r})")


__all__ = ["decode", "encode"]
