"""Lists of elements for vectorised steps (MinHash signing, image downloads), on every runner.

Beam's ``BatchElements`` keeps a partial batch between elements and emits the last one from
``finish_bundle``. The DaskRunner of Beam 2.77 gathers a bundle's outputs *before* it calls
``finish_bundle`` (``runners/dask/transform_evaluator.apply_dofn_to_bundle``), so there the last
batch of every partition is silently lost: documents would go unsigned and near-duplicates
survive. ``Batches`` therefore uses ``BatchElements`` on runners that deliver ``finish_bundle``
output (DirectRunner, PortableRunner, Dataflow, Flink, Spark), and on the DaskRunner groups
elements under ``keys`` stable keys (CRC-32 of ``key(element)``) and cuts each group into lists of
at most ``size``: one more shuffle, no lost elements.

A batch is only a unit of work: every step that consumes ``Batches`` must give each element the
same result whatever batch it is in (``_Sign`` signs each document on its own), so the output rows
do not depend on the runner.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam

# Runners whose DoFn outputs from finish_bundle never reach the next step.
LOSES_FINISH_BUNDLE_OUTPUT = frozenset({"DaskRunner"})


def delivers_finish_bundle(pipeline: beam.Pipeline) -> bool:
    """Whether ``pipeline``'s runner passes on what a DoFn emits in ``finish_bundle``."""
    return type(getattr(pipeline, "runner", None)).__name__ not in LOSES_FINISH_BUNDLE_OUTPUT


def stable_key(element: Any, key: Callable[[Any], Any], keys: int) -> tuple[int, Any]:
    """``(group, element)``: the group is the same in every process (no ``hash()`` salt)."""
    return zlib.crc32(repr(key(element)).encode("utf-8")) % keys, element


def chunks(group: tuple[int, Iterable[Any]], size: int) -> Iterator[list[Any]]:
    """A group's elements in lists of at most ``size``, streamed (the group is not copied)."""
    batch: list[Any] = []
    for element in group[1]:
        batch.append(element)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _whole(element: Any) -> Any:
    return element


class Batches(beam.PTransform):
    """``elements | Batches(size)`` -> lists of between ``min_size`` (default ``size``; the last
    batch of a bundle or group may be shorter) and ``size`` elements. ``by_key=None`` picks the
    way by runner; ``True``/``False`` forces the keyed groups or ``BatchElements``."""

    def __init__(self, size: int, *, min_size: int | None = None,
                 key: Callable[[Any], Any] = _whole, keys: int = 64, by_key: bool | None = None,
                 label: str | None = None):
        super().__init__(label)
        if size < 1 or keys < 1 or (min_size is not None and not 1 <= min_size <= size):
            raise ValueError(f"Batches needs 1 <= min_size <= size and keys >= 1, got "
                             f"size={size}, min_size={min_size}, keys={keys}")
        self.size = size
        self.min_size = size if min_size is None else min_size
        self.key = key
        self.keys = keys
        self.by_key = by_key

    def expand(self, pcoll):
        by_key = self.by_key
        if by_key is None:
            by_key = not delivers_finish_bundle(pcoll.pipeline)
        if not by_key:
            return pcoll | "Batch" >> beam.BatchElements(min_batch_size=self.min_size,
                                                         max_batch_size=self.size)
        return (pcoll
                | "KeyForBatch" >> beam.Map(stable_key, self.key, self.keys)
                | "GroupForBatch" >> beam.GroupByKey()
                | "Chunks" >> beam.FlatMap(chunks, self.size))
