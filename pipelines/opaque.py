"""Values the runner carries as bytes: encoded once by the worker that makes them and decoded once
by the worker that reads them, never in between (issue 17.2).

Why: Beam's FnApiRunner (the DirectRunner, with one worker or several) groups a ``GroupByKey``'s
input in its own process, and it decodes every value it buffers and encodes it again to hand the
group on (``GroupingBuffer`` in its ``execution.py``): for a list of tuples, each field of each
tuple, in the one runner process that all workers wait on. A value that is already bytes costs it
a copy. On the 50,000-page crawl the documents on their way to ``ByNode`` and the records, band
chunks, candidate pairs and anchor texts of ``DedupText``'s steps were most of that work.

Format: Beam's ``FastPrimitivesCoder`` (compiled code, the encoding the shuffle would have used)
over plain values: tuples, lists, strings, bytes, numbers, ``None``. ``pipelines.spill`` writes
the same bytes to files.
"""

from __future__ import annotations

from typing import Any

from apache_beam.coders.coders import FastPrimitivesCoder

_CODER = FastPrimitivesCoder()


def encode(value: Any) -> bytes:
    """``value`` (plain values only) as bytes."""
    return _CODER.encode(value)


def decode(data: bytes) -> Any:
    """The value ``encode`` made ``data`` from."""
    return _CODER.decode(data)


__all__ = ["decode", "encode"]
