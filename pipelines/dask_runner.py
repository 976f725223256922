"""Beam's DaskRunner (2.77) with two fixes that keep a many-step pipeline fast and quiet on Dask.

The corpus pipeline itself is portable to the stock DaskRunner (no tagged outputs, no side inputs,
no ``finish_bundle`` output, no ``CombineGlobally`` default: ``pipelines/tagged.py``,
``pipelines/batches.py``); ``m6 corpus --runner DaskRunner`` uses this subclass only for speed:

1. **Bounded partitions.** The stock runner translates ``Flatten`` to ``dask.bag.concat``, which
   adds up its inputs' partitions, and ``GroupByKey`` to ``Bag.groupby``, whose task shuffle
   creates ``P * P`` split tasks for ``P`` partitions (``dask/bag/core.py: groupby_tasks``). Our
   pipeline flattens rejected rows of some twenty steps and runs ~40 shuffles (dedup's connected
   components), so on the sample ``P`` reached ~30 and one run scheduled ~40,000 tasks: 80-110 s
   of scheduler overhead for 15 s of work. Here every flattened bag is cut back to at most
   ``max_partitions`` (by default twice the cluster's worker threads, or ``--dask_npartitions``)
   with ``Bag.repartition``, which merges neighbouring partitions without a shuffle.
2. **The client is closed when the run ends.** The stock result keeps its ``distributed.Client``
   open; when ``m6 corpus`` then stops its local cluster the client retries for 30 s and prints
   connection tracebacks.

Neither changes which rows come out: partitions are only units of work, and every step of the
pipeline gives each element or group the same result whatever partition it is in.
"""

from __future__ import annotations

import logging

from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.dask import dask_runner
from apache_beam.runners.dask.overrides import _Flatten

log = logging.getLogger(__name__)


def cluster_threads() -> int:
    """Worker threads of the ``distributed`` client the runner just created (1 if none)."""
    try:
        from distributed import default_client

        return max(1, sum(default_client().nthreads().values()))
    except (ImportError, ValueError):
        return 1


class _BoundedFlatten(PipelineVisitor):
    """Wraps the stock bag visitor; repartitions the bag of every ``Flatten`` down to ``cap``."""

    def __init__(self, inner: PipelineVisitor, cap: int):
        self.inner = inner
        self.cap = cap
        self.bags = inner.bags  # the same ordered dict: run_pipeline computes its last bag

    def enter_composite_transform(self, node) -> None:
        self.inner.enter_composite_transform(node)

    def leave_composite_transform(self, node) -> None:
        self.inner.leave_composite_transform(node)

    def visit_value(self, value, producer_node) -> None:
        self.inner.visit_value(value, producer_node)

    def visit_transform(self, node) -> None:
        self.inner.visit_transform(node)
        if isinstance(node.transform, _Flatten):
            bag = self.bags[node]
            if bag.npartitions > self.cap:
                self.bags[node] = bag.repartition(npartitions=self.cap)


class _ClosingResult(dask_runner.DaskRunnerResult):
    def wait_until_finish(self, duration=None) -> str:
        try:
            return super().wait_until_finish(duration)
        finally:
            self.client.close()


class DaskRunner(dask_runner.DaskRunner):
    """``apache_beam.runners.dask.dask_runner.DaskRunner`` with bounded partitions and a client
    that is closed at the end of the run (see the module docstring)."""

    def __init__(self, max_partitions: int | None = None):
        super().__init__()
        self.max_partitions = max_partitions

    def to_dask_bag_visitor(self, bag_kwargs=None) -> PipelineVisitor:  # stock: staticmethod
        bag_kwargs = dict(bag_kwargs or {})
        cap = self.max_partitions or bag_kwargs.get("npartitions") or 2 * cluster_threads()
        log.info("DaskRunner: flattened bags are cut to at most %d partitions", cap)
        return _BoundedFlatten(dask_runner.DaskRunner.to_dask_bag_visitor(bag_kwargs), cap)

    def run_pipeline(self, pipeline, options):
        result = super().run_pipeline(pipeline, options)
        return _ClosingResult(result.client, result.futures)
