"""Corpus statistics inside the pipeline: every output row is projected to a small item
(``corpus.stats.stats_item``: no text, no image bytes) and folded into one stats dict.

A constant key with ``CombinePerKey`` (not ``CombineGlobally``, whose empty-input default needs a
side input) keeps this portable to the DaskRunner; an empty-accumulator element guarantees one
output even when every output is empty.
"""

from __future__ import annotations

import apache_beam as beam

from corpus.stats import CorpusStatsCombiner, stats_item
from pipelines.sink import pcollections


class CorpusStatsFn(CorpusStatsCombiner, beam.CombineFn):
    """``corpus.stats`` fold as a Beam CombineFn."""


class CorpusStatsAccumulatorFn(CorpusStatsFn):
    """The fold without its last step: the accumulator itself (JSON-ready counts), which the
    batches of one run (``pipelines/batch_run.py``) merge into one ``stats.json``."""

    def extract_output(self, accumulator):
        return accumulator


class CorpusStats(beam.PTransform):
    """``{kind: PCollection of rows, or a tuple of them}`` -> PCollection with one stats dict
    (with ``accumulator=True``: one ``corpus.stats`` accumulator)."""

    def __init__(self, accumulator: bool = False, label: str | None = None):
        super().__init__(label)
        self.accumulator = accumulator

    def expand(self, rows_by_kind):
        items = []
        for kind, rows in rows_by_kind.items():
            parts = pcollections(rows)
            items += [pcoll | f"Project_{kind}{'' if len(parts) == 1 else i}" >> beam.Map(
                          lambda row, k=kind: (0, stats_item(k, row)))
                      for i, pcoll in enumerate(parts)]
        return (
            tuple(items) | "AllItems" >> beam.Flatten()
            | "Fold" >> beam.CombinePerKey(CorpusStatsAccumulatorFn() if self.accumulator
                                           else CorpusStatsFn())
            | "Drop key" >> beam.Values()
        )
